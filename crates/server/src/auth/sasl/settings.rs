//! Where the SASL settings come from. ZooKeeper reads them as JVM system properties, which
//! an operator sets in `SERVER_JVMFLAGS`/`JVMFLAGS` (zkServer.sh passes both to java) or,
//! for the `zookeeper.`-prefixed ones, as zoo.cfg keys (QuorumPeerConfig turns unknown keys
//! into `zookeeper.<key>` properties). corral reads both places; zoo.cfg wins, as a property
//! set from zoo.cfg overrides the JVM flag in ZooKeeper. zoo.cfg may also name the JAAS file
//! itself (`jaasLoginConfig`, corral's own key), which ZooKeeper cannot.

use std::path::PathBuf;

/// The SASL-related keys, as given (unset ones are `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaslSettings {
    /// `java.security.auth.login.config`: the JAAS file.
    pub jaas_file: Option<PathBuf>,
    /// `zookeeper.sasl.serverconfig`: the JAAS section of the server's users.
    pub section: Option<String>,
    /// `zookeeper.superUser`: the SASL user who is also `super`.
    pub super_user: Option<String>,
    /// `zookeeper.allowSaslFailedClients`: keep a connection whose SASL login failed.
    pub allow_failed_clients: Option<bool>,
}

/// The JAAS section ZooKeeper's server reads unless told otherwise.
pub const DEFAULT_SECTION: &str = "Server";
/// The only `authProvider.N` class corral knows: its `sasl` scheme is always registered.
pub const SASL_PROVIDER: &str = "org.apache.zookeeper.server.auth.SASLAuthenticationProvider";

impl SaslSettings {
    /// Takes zoo.cfg key `name` (without its `zookeeper.` prefix): `Ok(false)` when the key
    /// is not a SASL one, `Err` for a bad value.
    pub fn set_from_cfg(&mut self, name: &str, value: &str) -> Result<bool, String> {
        match name {
            "jaasLoginConfig" | "java.security.auth.login.config" => {
                self.jaas_file = Some(PathBuf::from(value))
            }
            "sasl.serverconfig" => self.section = Some(value.to_string()),
            "superUser" => self.super_user = Some(value.to_string()),
            "allowSaslFailedClients" => self.allow_failed_clients = Some(java_boolean(value)),
            // ZooKeeper's SASLAuthenticationProvider: the sasl scheme is always known here.
            _ if name.starts_with("authProvider.") => {
                if value != SASL_PROVIDER {
                    tracing::warn!(
                        "{name}: authentication provider {value} is not available in corral \
                         (only {SASL_PROVIDER}, which is always on)"
                    );
                }
            }
            // Kerberos principal rules: corral has no GSSAPI, so nothing to map.
            "kerberos.removeHostFromPrincipal" | "kerberos.removeRealmFromPrincipal" => {}
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Fills what zoo.cfg left unset from `-D` flags, as zkServer.sh passes them to java:
    /// `$SERVER_JVMFLAGS $JVMFLAGS`, the last of a repeated flag winning.
    pub fn fill_from_jvm_flags(&mut self, flags: &str) {
        let mut from_flags = SaslSettings::default();
        for word in flags.split_whitespace() {
            let Some((key, value)) = word.strip_prefix("-D").and_then(|w| w.split_once('=')) else {
                continue;
            };
            let value = value.trim_matches(['"', '\'']);
            match key {
                "java.security.auth.login.config" => {
                    from_flags.jaas_file = Some(PathBuf::from(value))
                }
                "zookeeper.sasl.serverconfig" => from_flags.section = Some(value.to_string()),
                "zookeeper.superUser" => from_flags.super_user = Some(value.to_string()),
                "zookeeper.allowSaslFailedClients" => {
                    from_flags.allow_failed_clients = Some(java_boolean(value))
                }
                _ => {}
            }
        }
        self.jaas_file = self.jaas_file.take().or(from_flags.jaas_file);
        self.section = self.section.take().or(from_flags.section);
        self.super_user = self.super_user.take().or(from_flags.super_user);
        self.allow_failed_clients = self
            .allow_failed_clients
            .or(from_flags.allow_failed_clients);
    }

    /// The JVM flags zkServer.sh would pass, from this process's environment.
    pub fn jvm_flags_from_env() -> String {
        let get = |k: &str| std::env::var(k).unwrap_or_default();
        format!("{} {}", get("SERVER_JVMFLAGS"), get("JVMFLAGS"))
    }
}

/// `Boolean.parseBoolean`: "true" in any case, everything else false.
fn java_boolean(v: &str) -> bool {
    v.eq_ignore_ascii_case("true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoo_cfg_wins_over_jvm_flags_and_the_last_flag_wins() {
        let mut s = SaslSettings::default();
        assert!(s.set_from_cfg("superUser", "admin").unwrap());
        assert!(!s.set_from_cfg("tickTime", "2000").unwrap());
        s.fill_from_jvm_flags(
            "-Xmx1g -Djava.security.auth.login.config=/etc/a.conf \
             -Dzookeeper.superUser=other -Djava.security.auth.login.config=\"/etc/b.conf\" \
             -Dzookeeper.allowSaslFailedClients=TRUE",
        );
        assert_eq!(s.jaas_file, Some(PathBuf::from("/etc/b.conf")));
        assert_eq!(s.super_user.as_deref(), Some("admin"));
        assert_eq!(s.section, None);
        assert_eq!(s.allow_failed_clients, Some(true));
    }

    #[test]
    fn corral_key_names_the_jaas_file() {
        let mut s = SaslSettings::default();
        s.set_from_cfg("jaasLoginConfig", "/etc/zk/jaas.conf")
            .unwrap();
        s.fill_from_jvm_flags("-Djava.security.auth.login.config=/elsewhere");
        assert_eq!(s.jaas_file, Some(PathBuf::from("/etc/zk/jaas.conf")));
        assert!(s.set_from_cfg("authProvider.1", SASL_PROVIDER).unwrap());
    }
}
