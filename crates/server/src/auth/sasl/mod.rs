//! SASL as ZooKeeper clients speak it: `sasl` requests (op 102) carry tokens of a DIGEST-MD5
//! exchange whose users come from a JAAS file's `Server` section (`user_<name>="<password>"`
//! options of `DigestLoginModule`). Success gives the connection the id `sasl:<name>`, and
//! `super` as well for `zookeeper.superUser`. Kerberos (GSSAPI) is not implemented: see
//! `docs/sasl.md`.
//!
//! - [`settings`]: where the JAAS file and the other keys come from (zoo.cfg, JVM flags).
//! - [`jaas`]: the JAAS file format.
//! - [`digest_md5`]: the mechanism (RFC 2831).
//!
//! Passwords are held here only; nothing prints them (`Debug` shows user names).

pub mod digest_md5;
pub mod jaas;
pub mod settings;

use std::collections::BTreeMap;

use base64::Engine;
use corral_jute::Id;

use self::digest_md5::{DigestMd5Server, Step};
use self::settings::{SaslSettings, DEFAULT_SECTION};

/// The login module whose `user_*` options list DIGEST-MD5 users.
pub const DIGEST_LOGIN_MODULE: &str = "org.apache.zookeeper.server.auth.DigestLoginModule";
/// Random bytes in a challenge's nonce (RFC 2831 asks for at least 64 bits).
const NONCE_BYTES: usize = 24;

/// The server's SASL users and rules, loaded once at start.
pub struct SaslServer {
    users: BTreeMap<String, String>,
    super_user: Option<String>,
    allow_failed_clients: bool,
}

impl std::fmt::Debug for SaslServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslServer")
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("super_user", &self.super_user)
            .field("allow_failed_clients", &self.allow_failed_clients)
            .finish()
    }
}

/// What answering one `sasl` request comes to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Answer `Ok` with this token (`None`: ZooKeeper's null, when no SASL is configured or a
    /// failure is forgiven by `allowSaslFailedClients`).
    Continue(Option<Vec<u8>>),
    /// Answer `Ok` with the token; the connection gains `ids`.
    Authenticated { token: Vec<u8>, ids: Vec<Id> },
    /// Answer `AuthFailed` and close the connection.
    Refused,
}

impl SaslServer {
    /// The server's SASL, if `settings` name a JAAS file. As ZooKeeper, a named file without
    /// the section stops the start; so does a section corral cannot serve (Kerberos).
    pub fn load(settings: &SaslSettings) -> Result<Option<SaslServer>, String> {
        let Some(path) = &settings.jaas_file else {
            return Ok(None);
        };
        let shown = path.display();
        let meta = std::fs::metadata(path).map_err(|e| format!("JAAS file {shown}: {e}"))?;
        if meta.len() > jaas::MAX_JAAS_FILE_BYTES as u64 {
            return Err(format!(
                "JAAS file {shown}: larger than {} bytes",
                jaas::MAX_JAAS_FILE_BYTES
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| format!("JAAS file {shown}: {e}"))?;
        let section = settings.section.as_deref().unwrap_or(DEFAULT_SECTION);
        let server = SaslServer::from_jaas(&text, section)
            .map_err(|why| format!("JAAS file {shown}: {why}"))?;
        Ok(Some(SaslServer {
            super_user: settings.super_user.clone(),
            allow_failed_clients: settings.allow_failed_clients.unwrap_or(false),
            ..server
        }))
    }

    /// The users of `section` in a JAAS file's text.
    pub fn from_jaas(text: &str, section: &str) -> Result<SaslServer, String> {
        let jaas = jaas::parse(text)?;
        let Some(modules) = jaas.get(section) else {
            return Err(format!("no JAAS configuration section named '{section}'"));
        };
        let mut users = BTreeMap::new();
        for m in modules {
            if m.class != DIGEST_LOGIN_MODULE {
                return Err(format!(
                    "section '{section}': login module {} is not supported; corral serves \
                     DIGEST-MD5 only ({DIGEST_LOGIN_MODULE})",
                    m.class
                ));
            }
            // SaslServerCallbackHandler: every `user_<name>` option is a user.
            for (key, value) in &m.options {
                if let Some(name) = key.strip_prefix("user_") {
                    users.insert(name.to_string(), value.clone());
                }
            }
        }
        Ok(SaslServer {
            users,
            super_user: None,
            allow_failed_clients: false,
        })
    }

    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    pub fn allow_failed_clients(&self) -> bool {
        self.allow_failed_clients
    }
}

/// One connection's SASL exchange.
#[derive(Debug, Default)]
pub struct Exchange {
    mechanism: DigestMd5Server,
}

impl Exchange {
    /// Answers the client's next `token`. `server` is `None` when no JAAS file is
    /// configured; a failure is returned as its reason, for the log.
    pub fn evaluate(
        &mut self,
        server: Option<&SaslServer>,
        token: &[u8],
    ) -> Result<Outcome, digest_md5::Failure> {
        // ZooKeeper without a login has no SaslServer: the NullPointerException it catches
        // ends in an `Ok` answer with a null token.
        let Some(server) = server else {
            return Ok(Outcome::Continue(None));
        };
        let step = self
            .mechanism
            .evaluate(token, new_nonce, |user| server.users.get(user).cloned())?;
        Ok(match step {
            Step::Challenge(c) => Outcome::Continue(Some(c)),
            Step::Complete { token, user } => {
                // The authorization id is the authenticated user (SaslServerCallbackHandler
                // derives it from the authentication id; for a plain name that is the name).
                let mut ids = vec![Id::new("sasl", &user)];
                if server.super_user.as_deref() == Some(user.as_str()) {
                    ids.push(Id::new("super", ""));
                }
                Outcome::Authenticated { token, ids }
            }
        })
    }
}

fn new_nonce() -> String {
    let bytes: [u8; NONCE_BYTES] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAAS: &str = r#"Server {
        org.apache.zookeeper.server.auth.DigestLoginModule required
        user_super="adminsecret"
        user_bob="bobsecret";
    };"#;

    #[test]
    fn users_come_from_the_named_section() {
        let s = SaslServer::from_jaas(JAAS, "Server").unwrap();
        assert_eq!(s.user_count(), 2);
        assert!(!format!("{s:?}").contains("secret"));
        let err = SaslServer::from_jaas(JAAS, "QuorumServer").unwrap_err();
        assert!(err.contains("no JAAS configuration section named 'QuorumServer'"));
        let krb = "Server { com.sun.security.auth.module.Krb5LoginModule required \
                   useKeyTab=true; };";
        assert!(SaslServer::from_jaas(krb, "Server")
            .unwrap_err()
            .contains("Krb5LoginModule is not supported"));
    }

    #[test]
    fn without_a_jaas_file_the_answer_is_a_null_token() {
        let mut x = Exchange::default();
        assert_eq!(x.evaluate(None, b"").unwrap(), Outcome::Continue(None));
    }

    #[test]
    fn the_first_answer_is_a_challenge() {
        let s = SaslServer::from_jaas(JAAS, "Server").unwrap();
        let mut x = Exchange::default();
        let Outcome::Continue(Some(c)) = x.evaluate(Some(&s), b"").unwrap() else {
            panic!("no challenge");
        };
        assert!(c.starts_with(b"realm=\"zk-sasl-md5\",nonce=\""));
    }
}
