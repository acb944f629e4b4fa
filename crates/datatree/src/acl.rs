//! Access control as ZooKeeper's server decides it: digest ids, the ACL check
//! (`ZooKeeperServer.checkACL`), and the normalisation of a requested ACL
//! (`PrepRequestProcessor.fixupACL`). The providers: `world` (anyone only), `digest` and
//! `ip` (what a default ZooKeeper registers), `sasl` (ZooKeeper's `SASLAuthenticationProvider`,
//! registered there by `authProvider.N`, always here) and `x509` (a TLS client certificate's
//! subject, which the server authenticates during the handshake); `super` is an
//! authenticated identity that bypasses checks, never an ACL scheme.
//!
//! Invariant kept: every ACL `fixup_acl` returns names a known scheme with a well-formed id, so
//! a stored ACL never needs re-validation.

use base64::Engine;
use corral_jute::{Acl, ErrorCode, Id};
use sha1::{Digest, Sha1};

/// `DigestAuthenticationProvider.generateDigest`: `user:base64(sha1("user:password"))`.
/// The user is everything before the first `:`; the hash covers the whole input.
pub fn digest_id(user_password: &str) -> String {
    let user = user_password.split(':').next().unwrap_or("");
    let hash = Sha1::digest(user_password.as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

/// Whether `auth` may do `perm` on a node with `acl`. An empty ACL allows everything and a
/// `super` identity bypasses the check, as in ZooKeeper.
pub fn check_acl(acl: &[Acl], perm: i32, auth: &[Id]) -> bool {
    if acl.is_empty() || auth.iter().any(|a| a.scheme == "super") {
        return true;
    }
    acl.iter().filter(|a| a.perms & perm != 0).any(|a| {
        let want = &a.id;
        match want.scheme.as_str() {
            "world" => want.id == "anyone",
            "digest" => auth.iter().any(|h| h.scheme == "digest" && h.id == want.id),
            "ip" => auth
                .iter()
                .any(|h| h.scheme == "ip" && ip_matches(&h.id, &want.id)),
            // SASLAuthenticationProvider.matches: a SASL user named `super` matches every
            // sasl id (`letAnySaslUserDoX` is not supported).
            "sasl" => auth
                .iter()
                .any(|h| h.scheme == "sasl" && (h.id == "super" || h.id == want.id)),
            // X509AuthenticationProvider.matches: the certificate's subject, exactly.
            "x509" => auth.iter().any(|h| h.scheme == "x509" && h.id == want.id),
            _ => false, // no provider registered for the scheme: it matches nobody
        }
    })
}

/// `fixupACL`: drops exact duplicates (first occurrence wins), expands `auth` entries into the
/// caller's authenticated ids, and refuses (`InvalidAcl`) an empty list, an unknown scheme, a
/// `world` id other than `anyone`, a malformed `digest` or `ip` id, or an `auth` entry when the
/// caller has no authenticated id.
pub fn fixup_acl(acl: &[Acl], auth: &[Id]) -> Result<Vec<Acl>, ErrorCode> {
    let mut unique: Vec<&Acl> = Vec::with_capacity(acl.len());
    for a in acl {
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    if unique.is_empty() {
        return Err(ErrorCode::InvalidAcl);
    }
    let mut out = Vec::with_capacity(unique.len());
    for a in unique {
        match a.id.scheme.as_str() {
            "world" if a.id.id == "anyone" => out.push(a.clone()),
            "auth" => {
                // Only ids whose provider says `isAuthenticated()` qualify: `digest`,
                // `sasl` and `x509`; `ip` does not, and `super` has no provider.
                let before = out.len();
                let authenticated =
                    |id: &&Id| matches!(id.scheme.as_str(), "digest" | "sasl" | "x509");
                for id in auth.iter().filter(authenticated) {
                    out.push(Acl {
                        perms: a.perms,
                        id: id.clone(),
                    });
                }
                if out.len() == before {
                    return Err(ErrorCode::InvalidAcl);
                }
            }
            "digest" if digest_id_is_valid(&a.id.id) => out.push(a.clone()),
            "ip" if ip_is_valid(&a.id.id) => out.push(a.clone()),
            "sasl" if kerberos_name_is_valid(&a.id.id) => out.push(a.clone()),
            "x509" if x509_id_is_valid(&a.id.id) => out.push(a.clone()),
            _ => return Err(ErrorCode::InvalidAcl),
        }
    }
    Ok(out)
}

/// `X509AuthenticationProvider.isValid` asks whether Java parses the id as a distinguished
/// name; corral checks its shape: `type=value` pairs separated by `,` or `+`.
fn x509_id_is_valid(id: &str) -> bool {
    !id.is_empty() && id.split([',', '+']).all(|part| part.contains('='))
}

/// `DigestAuthenticationProvider.isValid`: Java's `id.split(":")` yields exactly two parts.
/// Java drops trailing empty parts, so `user:hash:` passes and `user:` does not.
fn digest_id_is_valid(id: &str) -> bool {
    let mut parts: Vec<&str> = id.split(':').collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts.len() == 2
}

/// `SASLAuthenticationProvider.isValid`: `new KerberosName(id)` does not throw, i.e. a name
/// without `@`, or one matching `([^/@]*)(/([^/@]*))?@([^/@]*)` as a whole.
fn kerberos_name_is_valid(id: &str) -> bool {
    match id.split_once('@') {
        None => true,
        Some((principal, realm)) => {
            !realm.contains(['@', '/']) && principal.matches('/').count() <= 1
        }
    }
}

/// `IPAuthenticationProvider.isValid`: an address, optionally `/bits` within its width.
fn ip_is_valid(expr: &str) -> bool {
    let mut parts = expr.splitn(2, '/');
    let Some(addr) = parts.next().and_then(addr_bytes) else {
        return false;
    };
    match parts.next() {
        None => true,
        Some(bits) => prefix_bits(bits, addr.len()).is_some(),
    }
}

/// `IPAuthenticationProvider.matches`: the client address `id` lies in the network `expr`
/// (`addr` or `addr/bits`). IPv4 and IPv6 (ZOOKEEPER-4240) are both understood; an address of
/// one family never matches a network of the other.
pub fn ip_matches(id: &str, expr: &str) -> bool {
    let mut parts = expr.splitn(2, '/');
    let Some(mut net) = parts.next().and_then(addr_bytes) else {
        return false;
    };
    let bits = match parts.next() {
        None => net.len() * 8,
        Some(b) => match prefix_bits(b, net.len()) {
            Some(b) => b,
            None => return false,
        },
    };
    let Some(mut addr) = addr_bytes(id) else {
        return false;
    };
    mask(&mut net, bits);
    mask(&mut addr, bits);
    addr == net
}

fn prefix_bits(s: &str, addr_len: usize) -> Option<usize> {
    let bits = java_parse_int(s, 10)?;
    (0..=(addr_len * 8) as i32)
        .contains(&bits)
        .then_some(bits as usize)
}

/// Zeroes every bit after the first `bits`.
fn mask(b: &mut [u8], bits: usize) {
    let start = bits / 8;
    let mut keep = !((1u16 << (8 - bits % 8)) - 1) as u8;
    for byte in b.iter_mut().skip(start) {
        *byte &= keep;
        keep = 0;
    }
}

/// `addr2Bytes`: a `:` means IPv6, else a `.` means IPv4, else not an address.
fn addr_bytes(s: &str) -> Option<Vec<u8>> {
    if s.contains(':') {
        v6_bytes(s)
    } else if s.contains('.') {
        v4_bytes(s)
    } else {
        None
    }
}

fn v4_bytes(s: &str) -> Option<Vec<u8>> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    parts
        .iter()
        .map(|p| {
            java_parse_int(p, 10)
                .filter(|v| (0..=255).contains(v))
                .map(|v| v as u8)
        })
        .collect()
}

/// ZooKeeper's own IPv6 parser: eight hex groups, or fewer around one `::`. No embedded IPv4.
fn v6_bytes(s: &str) -> Option<Vec<u8>> {
    const SEGMENTS: usize = 8;
    let halves: Vec<&str> = s.split("::").collect();
    let split = |h: &str| -> Vec<String> {
        if h.is_empty() {
            Vec::new()
        } else {
            h.split(':').map(str::to_string).collect()
        }
    };
    let (head, tail) = match halves.as_slice() {
        [all] => {
            let segs: Vec<String> = all.split(':').map(str::to_string).collect();
            if segs.len() != SEGMENTS {
                return None;
            }
            (segs, Vec::new())
        }
        [a, b] => {
            let (head, tail) = (split(a), split(b));
            if head.len() + tail.len() >= SEGMENTS {
                return None;
            }
            (head, tail)
        }
        _ => return None,
    };
    let mut out = vec![0u8; 16];
    let mut put = |start: usize, segs: &[String]| -> Option<()> {
        for (k, seg) in segs.iter().enumerate() {
            if seg.is_empty() || seg.len() > 4 {
                return None;
            }
            let v = java_parse_int(seg, 16)?;
            out[start + 2 * k] = (v >> 8) as u8;
            out[start + 2 * k + 1] = v as u8;
        }
        Some(())
    };
    put(0, &head)?;
    put(16 - 2 * tail.len(), &tail)?;
    Some(out)
}

/// `Integer.parseInt`: an optional sign, then at least one digit of `radix`, within i32.
fn java_parse_int(s: &str, radix: u32) -> Option<i32> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    i32::from_str_radix(s, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_jute::perms;

    fn acl(perms: i32, scheme: &str, id: &str) -> Acl {
        Acl {
            perms,
            id: Id::new(scheme, id),
        }
    }

    #[test]
    fn digest_of_known_pairs() {
        // The ZooKeeper admin guide's superDigest example is `super:test`; the others were
        // computed with Python's hashlib + base64.
        assert_eq!(
            digest_id("super:test"),
            "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
        );
        assert_eq!(
            digest_id("super:superpw"),
            "super:g9oN2HttPfn8MMWJZ2r45Np/LIA="
        );
        assert_eq!(
            digest_id("user:password"),
            "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY="
        );
        assert_eq!(digest_id("nocolon"), "nocolon:Ra+cHr2ZoHvBjtNArFGNGlVie4g=");
    }

    #[test]
    fn x509_ids_match_exactly_and_count_as_authenticated() {
        let me = Id::new("x509", "CN=client,O=corral");
        let node = vec![acl(perms::READ, "x509", "CN=client,O=corral")];
        assert!(check_acl(&node, perms::READ, std::slice::from_ref(&me)));
        assert!(!check_acl(
            &node,
            perms::READ,
            &[Id::new("x509", "CN=other,O=corral")]
        ));
        assert!(!check_acl(
            &node,
            perms::READ,
            &[Id::new("digest", "CN=client,O=corral")]
        ));
        let fixed = fixup_acl(&[acl(perms::ALL, "auth", "")], std::slice::from_ref(&me)).unwrap();
        assert_eq!(fixed, vec![acl(perms::ALL, "x509", "CN=client,O=corral")]);
        assert!(fixup_acl(&node, &[]).is_ok());
        assert_eq!(
            fixup_acl(&[acl(perms::READ, "x509", "client")], &[]),
            Err(ErrorCode::InvalidAcl)
        );
    }

    #[test]
    fn check_acl_rules() {
        let alice = Id::new("digest", &digest_id("alice:pw"));
        let open = Acl::open();
        assert!(check_acl(&open, perms::WRITE, &[]));
        assert!(check_acl(&[], perms::ADMIN, &[]), "empty ACL allows all");
        let only_alice = vec![acl(perms::READ, "digest", &alice.id)];
        assert!(check_acl(
            &only_alice,
            perms::READ,
            std::slice::from_ref(&alice)
        ));
        assert!(!check_acl(
            &only_alice,
            perms::WRITE,
            std::slice::from_ref(&alice)
        ));
        assert!(!check_acl(
            &only_alice,
            perms::READ,
            &[Id::new("digest", "alice:x")]
        ));
        assert!(!check_acl(&only_alice, perms::READ, &[]));
        assert!(check_acl(
            &only_alice,
            perms::WRITE,
            &[Id::new("super", "")]
        ));
        let read_world = Acl::read_only();
        assert!(!check_acl(&read_world, perms::WRITE, &[]));
        let net = vec![acl(perms::ALL, "ip", "10.1.0.0/16")];
        assert!(check_acl(&net, perms::READ, &[Id::new("ip", "10.1.2.3")]));
        assert!(!check_acl(&net, perms::READ, &[Id::new("ip", "10.2.2.3")]));
        assert!(!check_acl(
            &net,
            perms::READ,
            &[Id::new("digest", "10.1.2.3")]
        ));
        let bob = vec![acl(perms::ALL, "sasl", "bob")];
        assert!(check_acl(&bob, perms::READ, &[Id::new("sasl", "bob")]));
        assert!(!check_acl(&bob, perms::READ, &[Id::new("sasl", "eve")]));
        assert!(check_acl(&bob, perms::READ, &[Id::new("sasl", "super")]));
        assert!(!check_acl(&bob, perms::READ, &[Id::new("digest", "bob")]));
        let cert = vec![acl(perms::ALL, "x509", "CN=bob")];
        assert!(check_acl(&cert, perms::READ, &[Id::new("x509", "CN=bob")]));
        assert!(!check_acl(&cert, perms::READ, &[Id::new("x509", "CN=eve")]));
        // A scheme no provider registers matches nobody, even the same id.
        let unknown = vec![acl(perms::ALL, "kerberos", "bob")];
        assert!(!check_acl(
            &unknown,
            perms::READ,
            &[Id::new("kerberos", "bob")]
        ));
    }

    #[test]
    fn ipv4_cidr() {
        assert!(ip_matches("127.0.0.1", "127.0.0.1"));
        assert!(!ip_matches("127.0.0.2", "127.0.0.1"));
        assert!(ip_matches("192.168.1.77", "192.168.1.0/24"));
        assert!(ip_matches("192.168.1.77", "192.168.1.64/26"));
        assert!(!ip_matches("192.168.1.7", "192.168.1.64/26"));
        assert!(ip_matches("8.8.8.8", "0.0.0.0/0"));
        assert!(
            ip_matches("10.0.0.1", "10.255.255.255/8"),
            "network bits beyond the prefix are ignored"
        );
        assert!(!ip_matches("10.0.0.1", "10.0.0.1/33"));
        assert!(!ip_matches("10.0.0.1", "10.0.0.256"));
        assert!(!ip_matches("10.0.0", "10.0.0.0/8"));
        assert!(!ip_matches("::1", "0.0.0.0/0"), "families never mix");
    }

    #[test]
    fn ipv6_cidr() {
        assert!(ip_matches("::1", "::1"));
        assert!(ip_matches("0:0:0:0:0:0:0:1", "::1/128"));
        assert!(ip_matches("2001:db8::42", "2001:db8::/32"));
        assert!(ip_matches("2001:db8:ffff::1", "2001:db8::/32"));
        assert!(!ip_matches("2001:db9::1", "2001:db8::/32"));
        assert!(ip_matches("fe80::1", "fe80::/10"));
        assert!(ip_matches("febf::1", "fe80::/10"));
        assert!(!ip_matches("fec0::1", "fe80::/10"));
        assert!(!ip_matches("1:2:3:4:5:6:7:8:9", "::/0"));
        assert!(!ip_matches("1::2::3", "::/0"));
        assert!(!ip_matches("12345::", "::/0"));
        assert!(!ip_matches("::1", "::1/129"));
        assert!(!ip_matches("10.0.0.1", "::/0"));
    }

    #[test]
    fn fixup_acl_cases() {
        let alice = Id::new("digest", &digest_id("alice:pw"));
        let ip = Id::new("ip", "10.0.0.1");
        let sup = Id::new("super", "");
        assert_eq!(fixup_acl(&[], &[]), Err(ErrorCode::InvalidAcl));
        // Duplicates go, first occurrence order stays.
        let dup = vec![
            acl(1, "world", "anyone"),
            acl(31, "ip", "10.0.0.0/8"),
            acl(1, "world", "anyone"),
        ];
        assert_eq!(fixup_acl(&dup, &[]).unwrap(), dup[..2].to_vec());
        // auth expands to digest and sasl ids only; ip and super are not "authenticated".
        let auth = vec![acl(31, "auth", "")];
        assert_eq!(
            fixup_acl(&auth, &[ip.clone(), sup.clone()]),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fixup_acl(&auth, &[ip, alice.clone(), sup]).unwrap(),
            vec![Acl {
                perms: 31,
                id: alice.clone()
            }]
        );
        let bob = Id::new("sasl", "bob");
        assert_eq!(
            fixup_acl(&auth, &[bob.clone(), alice.clone()]).unwrap(),
            vec![
                Acl { perms: 31, id: bob },
                Acl {
                    perms: 31,
                    id: alice.clone()
                }
            ]
        );
        for bad in [
            acl(31, "world", "everyone"),
            acl(31, "super", ""),
            acl(31, "sasl", "a@b@c"),
            acl(31, "sasl", "a/b/c@R"),
            acl(31, "sasl", "a/b@R/x"),
            acl(31, "digest", "alice"),
            acl(31, "digest", "alice:"),
            acl(31, "digest", "a:b:c"),
            acl(31, "ip", "10.0.0"),
            acl(31, "ip", "10.0.0.0/33"),
            acl(31, "ip", "localhost"),
            acl(31, "ip", "::/129"),
        ] {
            assert_eq!(
                fixup_acl(std::slice::from_ref(&bad), &[]),
                Err(ErrorCode::InvalidAcl),
                "{bad:?}"
            );
        }
        for good in [
            acl(31, "digest", "alice:hash"),
            acl(31, "digest", "alice:hash:"),
            acl(31, "digest", ":hash"),
            acl(31, "ip", "10.0.0.0/8"),
            acl(31, "ip", "fe80::/10"),
            acl(31, "ip", "1.2.3.4"),
            acl(31, "sasl", "bob"),
            acl(31, "sasl", "zookeeper/host.example.com@EXAMPLE.COM"),
            acl(31, "sasl", "a/b/c"),
        ] {
            assert_eq!(
                fixup_acl(std::slice::from_ref(&good), &[]),
                Ok(vec![good.clone()])
            );
        }
    }
}
