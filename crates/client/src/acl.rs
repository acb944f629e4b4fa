//! Digest identities: what a server stores for `digest` credentials `user:password`.

use base64::Engine;
use corral_jute::{Acl, Id};
use sha1::{Digest, Sha1};

/// `digest:user:base64(sha1(user:password))`, as `DigestAuthenticationProvider` computes it.
pub fn digest_id(user: &str, password: &str) -> Id {
    let hash = Sha1::digest(format!("{user}:{password}").as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(hash);
    Id::new("digest", &format!("{user}:{b64}"))
}

/// An ACL granting `perms` to the digest identity of `user:password`.
pub fn digest_acl(user: &str, password: &str, perms: i32) -> Vec<Acl> {
    vec![Acl {
        perms,
        id: digest_id(user, password),
    }]
}

#[cfg(test)]
mod tests {
    #[test]
    fn digest_matches_zookeeper() {
        // `DigestAuthenticationProvider.generateDigest("super:test")`.
        assert_eq!(
            super::digest_id("super", "test").id,
            "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
        );
    }
}
