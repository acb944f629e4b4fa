//! Server configuration in ZooKeeper's `zoo.cfg` syntax (Java properties: `key=value`, `#`
//! comments). Keys ZooKeeper also reads as system properties (`zookeeper.` prefix) are
//! accepted with or without it. Unknown keys are logged and ignored; a malformed value stops
//! start-up with an error naming the key and the line.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::auth::sasl::settings::SaslSettings;
use crate::ensemble::members::{read_myid, Ensemble, Member};
use crate::tls::settings::RawKey;
use crate::tls::TlsSettings;

use corral_jute::frame::DEFAULT_MAX_BUFFER_BYTES;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{file}:{line}: {key}: {why}")]
    Value {
        file: String,
        line: usize,
        key: String,
        why: String,
    },
    #[error("cannot read {file}: {err}")]
    Read { file: String, err: std::io::Error },
}

/// Which four-letter words answer (`4lw.commands.whitelist`, `*` for all); ZooKeeper
/// enables only `srvr` by default, and `srvr` whatever the list says (zkServer.sh uses it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FourLetterWhitelist {
    All,
    Only(BTreeSet<String>),
}

impl FourLetterWhitelist {
    pub fn allows(&self, cmd: &str) -> bool {
        match self {
            FourLetterWhitelist::All => true,
            FourLetterWhitelist::Only(set) => cmd == "srvr" || set.contains(cmd),
        }
    }
}

/// What the admin port's web dashboard may do (`admin.dashboard`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dashboard {
    /// Reads, and writes as a client with the digest the user enters (the default).
    ReadWrite,
    /// Reads only: `POST /api/write` is refused.
    ReadOnly,
    /// Not served: the admin port answers ZooKeeper's commands only.
    Off,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub tick_time_ms: u32,
    pub data_dir: PathBuf,
    pub data_log_dir: PathBuf,
    pub client_port: u16,
    pub client_port_address: IpAddr,
    /// Connections one client IP may hold; 0 means no limit.
    pub max_client_cnxns: u32,
    /// Connections in total (`zookeeper.maxCnxns`); 0 means no limit.
    pub max_cnxns: u32,
    /// Requests in flight on the whole server before it stops reading from connections
    /// (`zookeeper.globalOutstandingLimit`); 0 means no limit.
    pub global_outstanding_limit: usize,
    pub min_session_timeout_ms: u32,
    pub max_session_timeout_ms: u32,
    pub four_letter_whitelist: FourLetterWhitelist,
    pub jute_max_buffer_bytes: usize,
    pub extended_types_enabled: bool,
    /// `zookeeper.enforceQuota`: hard quota limits refuse writes with `QuotaExceeded`.
    pub enforce_quota: bool,
    pub container_check_interval_ms: u64,
    /// `user:base64(sha1(user:password))`: whoever authenticates as it is `super`.
    pub super_digest: Option<String>,
    /// Log entries between snapshots (`snapCount`, ZooKeeper's default 100,000).
    pub snap_count: u64,
    /// Snapshot files kept (`autopurge.snapRetainCount`, at least 3).
    pub snap_retain_count: usize,
    /// `forceSync`: fsync the log before acknowledging a write.
    pub force_sync: bool,
    /// corral's `minFreeDiskBytes`: below this much free space on the log's or the snapshots'
    /// disk, client writes are refused (see `disk`).
    pub min_free_disk_bytes: u64,
    /// `server.N` lines: an ensemble's members (none for a standalone server).
    pub servers: BTreeMap<u64, Member>,
    /// `standaloneEnabled` (default true): a single `server.N` line runs standalone.
    pub standalone_enabled: bool,
    /// `reconfigEnabled` (default false): whether the `reconfig` operation is allowed.
    pub reconfig_enabled: bool,
    /// The raw key/value pairs in file order, for the `conf` four-letter word.
    pub source: Vec<(String, String)>,
    /// ZooKeeper's AdminServer (`admin.enableServer`, `admin.serverAddress`,
    /// `admin.serverPort`): JSON commands over HTTP, see `admin`.
    pub admin_enabled: bool,
    pub admin_address: IpAddr,
    pub admin_port: u16,
    /// `admin.dashboard` (corral's own): the web dashboard on the admin port.
    pub dashboard: Dashboard,
    /// Prometheus `/metrics`, served only when `metricsProvider.className` names ZooKeeper's
    /// Prometheus provider, as ZooKeeper does.
    pub metrics_enabled: bool,
    pub metrics_address: IpAddr,
    pub metrics_port: u16,
    /// SASL's keys (`superUser`, `sasl.serverconfig`, corral's `jaasLoginConfig`, …); the
    /// binary fills the rest from `SERVER_JVMFLAGS`/`JVMFLAGS` (see `auth::sasl::settings`).
    pub sasl: SaslSettings,
    /// `secureClientPort`: the TLS client port, beside the plain one or alone.
    pub secure_client_port: Option<u16>,
    /// `secureClientPortAddress` (default: `clientPortAddress`).
    pub secure_client_port_address: IpAddr,
    /// Whether the plain client port is served: always, unless only `secureClientPort` is
    /// given (ZooKeeper then opens the secure port alone).
    pub plain_client_port: bool,
    /// The `ssl.*` keys: the secure client port's TLS.
    pub client_tls: TlsSettings,
    /// `sslQuorum` and the `ssl.quorum.*` keys: mutual TLS between members (`tls::quorum`).
    pub ssl_quorum: bool,
    pub quorum_tls: TlsSettings,
    /// `sslQuorumReloadCertFiles`: re-read the quorum key store when the file changes.
    pub ssl_quorum_reload_cert_files: bool,
    /// `X509AuthenticationProvider.superUser`: the certificate subject that is `super`.
    pub x509_super_user: Option<String>,
}

/// The class ZooKeeper loads for Prometheus metrics; corral serves them itself.
pub const PROMETHEUS_PROVIDER: &str =
    "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider";

impl Default for Config {
    fn default() -> Self {
        Config {
            tick_time_ms: 2000,
            data_dir: PathBuf::from("corral-data"),
            data_log_dir: PathBuf::from("corral-data"),
            client_port: 2181,
            client_port_address: IpAddr::from([0, 0, 0, 0]),
            max_client_cnxns: 60,
            max_cnxns: 0,
            global_outstanding_limit: 1000,
            min_session_timeout_ms: 0,
            max_session_timeout_ms: 0,
            four_letter_whitelist: FourLetterWhitelist::Only(["srvr".to_string()].into()),
            jute_max_buffer_bytes: DEFAULT_MAX_BUFFER_BYTES,
            extended_types_enabled: false,
            enforce_quota: false,
            container_check_interval_ms: 60_000,
            super_digest: None,
            snap_count: 100_000,
            snap_retain_count: 3,
            force_sync: true,
            min_free_disk_bytes: 64 << 20,
            servers: BTreeMap::new(),
            standalone_enabled: true,
            reconfig_enabled: false,
            source: vec![],
            admin_enabled: true,
            admin_address: IpAddr::from([0, 0, 0, 0]),
            admin_port: 8080,
            dashboard: Dashboard::ReadWrite,
            metrics_enabled: false,
            metrics_address: IpAddr::from([0, 0, 0, 0]),
            metrics_port: 7000,
            sasl: SaslSettings::default(),
            secure_client_port: None,
            secure_client_port_address: IpAddr::from([0, 0, 0, 0]),
            plain_client_port: true,
            client_tls: TlsSettings::default(),
            ssl_quorum: false,
            quorum_tls: TlsSettings::default(),
            ssl_quorum_reload_cert_files: false,
            x509_super_user: None,
        }
    }
}

impl Config {
    /// Session timeout bounds default to 2 and 20 ticks, as in ZooKeeper.
    pub fn session_timeout_bounds_ms(&self) -> (u32, u32) {
        let min = if self.min_session_timeout_ms == 0 {
            2 * self.tick_time_ms
        } else {
            self.min_session_timeout_ms
        };
        let max = if self.max_session_timeout_ms == 0 {
            20 * self.tick_time_ms
        } else {
            self.max_session_timeout_ms
        };
        (min, max.max(min))
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError::Read {
            file: path.display().to_string(),
            err,
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        let mut data_log_dir = None;
        let mut client_port_given = false;
        let mut secure_address = None;
        // (name without zookeeper., value, line): read once every line is in.
        let mut ssl_keys: Vec<(String, String, usize)> = vec![];
        for (idx, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let Some((key, value)) = line.split_once(['=', ':']) else {
                tracing::warn!("{file}:{}: ignoring line without '=': {line}", idx + 1);
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            let bad = |why: String| ConfigError::Value {
                file: file.to_string(),
                line: idx + 1,
                key: key.to_string(),
                why,
            };
            cfg.source.push((key.to_string(), value.to_string()));
            let name = key.strip_prefix("zookeeper.").unwrap_or(key);
            match name {
                "tickTime" => cfg.tick_time_ms = number(value).map_err(bad)?,
                "dataDir" => cfg.data_dir = PathBuf::from(value),
                "dataLogDir" => data_log_dir = Some(PathBuf::from(value)),
                "clientPort" => {
                    cfg.client_port = number(value).map_err(bad)?;
                    client_port_given = true
                }
                "secureClientPort" => cfg.secure_client_port = Some(number(value).map_err(bad)?),
                "secureClientPortAddress" => {
                    secure_address = Some(
                        value
                            .parse()
                            .map_err(|_| bad(format!("'{value}' is not an IP address")))?,
                    )
                }
                "sslQuorum" => {
                    cfg.ssl_quorum = boolean(value).map_err(bad)?;
                }
                "sslQuorumReloadCertFiles" => {
                    cfg.ssl_quorum_reload_cert_files = boolean(value).map_err(bad)?
                }
                "X509AuthenticationProvider.superUser" => {
                    cfg.x509_super_user = Some(value.to_string())
                }
                // ZooKeeper needs its Netty classes for TLS; corral serves TLS itself, and
                // knows the x509 provider without being told.
                "serverCnxnFactory" | "client.secure" | "clientCnxnSocket" => {}
                _ if name.starts_with("authProvider.") => {
                    if !value.ends_with("X509AuthenticationProvider") {
                        tracing::info!("{file}:{}: ignoring auth provider {value}", idx + 1)
                    }
                }
                _ if name.starts_with("ssl.") => {
                    ssl_keys.push((name.to_string(), value.to_string(), idx + 1))
                }
                "clientPortAddress" => {
                    cfg.client_port_address = value
                        .parse()
                        .map_err(|_| bad(format!("'{value}' is not an IP address")))?
                }
                "maxClientCnxns" => cfg.max_client_cnxns = number(value).map_err(bad)?,
                "maxCnxns" => cfg.max_cnxns = number(value).map_err(bad)?,
                "globalOutstandingLimit" => {
                    cfg.global_outstanding_limit = number(value).map_err(bad)?
                }
                "minSessionTimeout" => cfg.min_session_timeout_ms = number(value).map_err(bad)?,
                "maxSessionTimeout" => cfg.max_session_timeout_ms = number(value).map_err(bad)?,
                "4lw.commands.whitelist" => cfg.four_letter_whitelist = whitelist(value),
                "jute.maxbuffer" => cfg.jute_max_buffer_bytes = number(value).map_err(bad)?,
                "extendedTypesEnabled" => {
                    cfg.extended_types_enabled = boolean(value).map_err(bad)?
                }
                "enforceQuota" => cfg.enforce_quota = boolean(value).map_err(bad)?,
                "znode.container.checkIntervalMs" | "containerCheckIntervalMs" => {
                    cfg.container_check_interval_ms = number(value).map_err(bad)?
                }
                "DigestAuthenticationProvider.superDigest" | "superDigest" => {
                    if !value.contains(':') {
                        return Err(bad("expected user:base64-sha1-digest".into()));
                    }
                    cfg.super_digest = Some(value.to_string())
                }
                "snapCount" => {
                    cfg.snap_count = number(value).map_err(bad)?;
                    if cfg.snap_count < 2 {
                        return Err(bad("must be at least 2".into()));
                    }
                }
                "autopurge.snapRetainCount" => {
                    cfg.snap_retain_count = number(value).map_err(bad)?
                }
                // corral purges after every snapshot; the interval has nothing to time.
                "autopurge.purgeInterval" => {
                    let _: u32 = number(value).map_err(bad)?;
                }
                "admin.enableServer" => cfg.admin_enabled = boolean(value).map_err(bad)?,
                "admin.serverAddress" => {
                    cfg.admin_address = value
                        .parse()
                        .map_err(|_| bad(format!("'{value}' is not an IP address")))?
                }
                "admin.serverPort" => cfg.admin_port = number(value).map_err(bad)?,
                "admin.dashboard" => {
                    cfg.dashboard = match value {
                        "readwrite" => Dashboard::ReadWrite,
                        "readonly" => Dashboard::ReadOnly,
                        "off" => Dashboard::Off,
                        _ => return Err(bad("expected readwrite, readonly or off".into())),
                    }
                }
                // The admin server's idle timeout and command URL have no counterpart here.
                "admin.idleTimeout" | "admin.commandURL" => {}
                "metricsProvider.className" => {
                    if value != PROMETHEUS_PROVIDER {
                        return Err(bad(format!("corral provides only {PROMETHEUS_PROVIDER}")));
                    }
                    cfg.metrics_enabled = true
                }
                "metricsProvider.httpHost" => {
                    cfg.metrics_address = value
                        .parse()
                        .map_err(|_| bad(format!("'{value}' is not an IP address")))?
                }
                "metricsProvider.httpPort" => cfg.metrics_port = number(value).map_err(bad)?,
                "metricsProvider.exportJvmInfo" => {}
                "forceSync" => cfg.force_sync = boolean(value).map_err(bad)?,
                "minFreeDiskBytes" => cfg.min_free_disk_bytes = number(value).map_err(bad)?,
                "standaloneEnabled" => cfg.standalone_enabled = boolean(value).map_err(bad)?,
                "reconfigEnabled" => cfg.reconfig_enabled = boolean(value).map_err(bad)?,
                // Whether this member observes is its own `server.N` line's role.
                "peerType" if value == "observer" || value == "participant" => {}
                // ZooKeeper's quorum timing; corral's Raft has its own (see `corral_raft`).
                "initLimit"
                | "syncLimit"
                | "electionAlg"
                | "quorumListenOnAllIPs"
                | "cnxTimeout"
                | "electionPortBindRetry" => {}
                _ if name.starts_with("server.") => {
                    let id = name["server.".len()..]
                        .parse::<u64>()
                        .map_err(|_| bad("the server id must be a number".into()))?;
                    let member = Member::parse(id, value).map_err(bad)?;
                    if cfg.servers.insert(id, member).is_some() {
                        return Err(bad(format!("server.{id} is given twice")));
                    }
                }
                _ if cfg.sasl.set_from_cfg(name, value).map_err(bad)? => {}
                _ => tracing::info!("{file}:{}: ignoring unknown key {key}", idx + 1),
            }
        }
        if cfg.tick_time_ms == 0 {
            return Err(ConfigError::Value {
                file: file.into(),
                line: 0,
                key: "tickTime".into(),
                why: "must be positive".into(),
            });
        }
        cfg.data_log_dir = data_log_dir.unwrap_or_else(|| cfg.data_dir.clone());
        cfg.plain_client_port = client_port_given || cfg.secure_client_port.is_none();
        cfg.secure_client_port_address = secure_address.unwrap_or(cfg.client_port_address);
        cfg.client_tls = tls_settings(&ssl_keys, "ssl.", file)?;
        cfg.quorum_tls = tls_settings(&ssl_keys, "ssl.quorum.", file)?;
        Ok(cfg)
    }

    /// The ensemble this server is a member of, reading `<dataDir>/myid`; `None` when it
    /// runs standalone (no `server.N` lines, or one with `standaloneEnabled`, as ZooKeeper).
    pub fn ensemble(&self) -> Result<Option<Ensemble>, String> {
        if self.servers.is_empty() || (self.servers.len() == 1 && self.standalone_enabled) {
            return Ok(None);
        }
        let my_id = read_myid(&self.data_dir)?;
        if !self.servers.contains_key(&my_id) {
            return Err(format!(
                "myid is {my_id} but there is no server.{my_id} line in the configuration"
            ));
        }
        if self.servers.values().all(|m| m.observer) {
            return Err("every server.N line is an observer: an ensemble needs voters".into());
        }
        Ok(Some(Ensemble {
            my_id,
            members: self.servers.clone(),
        }))
    }
}

/// The TLS settings of the `ssl.*` keys under `prefix` (`ssl.quorum.` keys are not `ssl.`'s).
fn tls_settings(
    keys: &[(String, String, usize)],
    prefix: &str,
    file: &str,
) -> Result<TlsSettings, ConfigError> {
    let mine: Vec<_> = keys
        .iter()
        .filter_map(|(k, v, line)| {
            let name = k.strip_prefix(prefix)?;
            let quorum_key = prefix == "ssl." && name.starts_with("quorum.");
            (!quorum_key).then_some((name, v.as_str(), *line))
        })
        .collect();
    TlsSettings::parse(mine.iter().map(|(name, value, _)| RawKey { name, value })).map_err(
        |(name, why)| {
            // A store's type error names `keyStore.type`, which may come from its location.
            let line = mine
                .iter()
                .find(|(n, _, _)| *n == name)
                .or_else(|| {
                    mine.iter()
                        .find(|(n, _, _)| name.starts_with(n.split('.').next().unwrap_or("")))
                })
                .map_or(0, |(_, _, l)| *l);
            ConfigError::Value {
                file: file.into(),
                line,
                key: format!("{prefix}{name}"),
                why,
            }
        },
    )
}

fn number<T: std::str::FromStr>(value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("'{value}' is not a valid number"))
}

pub(crate) fn boolean(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" => Ok(true),
        "false" | "no" => Ok(false),
        _ => Err(format!("'{value}' is not true or false")),
    }
}

fn whitelist(value: &str) -> FourLetterWhitelist {
    let words: BTreeSet<String> = value
        .split(',')
        .map(|w| w.trim().to_string())
        .filter(|w| !w.is_empty())
        .collect();
    if words.contains("*") {
        FourLetterWhitelist::All
    } else {
        FourLetterWhitelist::Only(words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whitelist_always_allows_srvr_as_zookeeper() {
        assert!(Config::default().four_letter_whitelist.allows("srvr"));
        assert!(!Config::default().four_letter_whitelist.allows("ruok"));
        let list = whitelist("ruok, mntr");
        assert!(list.allows("ruok") && list.allows("mntr") && list.allows("srvr"));
        assert!(!list.allows("cons"));
        assert!(whitelist("stat,*").allows("dump"));
    }

    #[test]
    fn parses_the_usual_keys() {
        let cfg = Config::parse(
            "# comment\ntickTime=1000\ndataDir=/tmp/x\nclientPort=2999\n\
             4lw.commands.whitelist=ruok, srvr\nzookeeper.extendedTypesEnabled=true\n\
             jute.maxbuffer=2048\nfoo=bar\n",
            "zoo.cfg",
        )
        .unwrap();
        assert_eq!(cfg.tick_time_ms, 1000);
        assert_eq!(cfg.client_port, 2999);
        assert_eq!(cfg.data_log_dir, PathBuf::from("/tmp/x"));
        assert!(cfg.four_letter_whitelist.allows("ruok"));
        assert!(!cfg.four_letter_whitelist.allows("mntr"));
        assert!(cfg.extended_types_enabled);
        assert_eq!(cfg.jute_max_buffer_bytes, 2048);
        assert_eq!(cfg.session_timeout_bounds_ms(), (2000, 20000));
        assert_eq!(cfg.snap_count, 100_000);
        assert!(cfg.force_sync);
    }

    #[test]
    fn parses_the_durability_keys() {
        let cfg = Config::parse(
            "dataDir=/d\ndataLogDir=/l\nsnapCount=500\nautopurge.snapRetainCount=5\n\
             autopurge.purgeInterval=1\nforceSync=no\nminFreeDiskBytes=1024\n",
            "zoo.cfg",
        )
        .unwrap();
        assert_eq!(cfg.data_log_dir, PathBuf::from("/l"));
        assert_eq!(cfg.snap_count, 500);
        assert_eq!(cfg.snap_retain_count, 5);
        assert!(!cfg.force_sync);
        assert_eq!(cfg.min_free_disk_bytes, 1024);
    }

    #[test]
    fn malformed_value_names_key_and_line() {
        let err = Config::parse("tickTime=2000\nclientPort=abc\n", "zoo.cfg").unwrap_err();
        assert_eq!(
            err.to_string(),
            "zoo.cfg:2: clientPort: 'abc' is not a valid number"
        );
    }

    #[test]
    fn parses_the_admin_and_metrics_keys() {
        let cfg = Config::default();
        assert!(cfg.admin_enabled && cfg.admin_port == 8080 && !cfg.metrics_enabled);
        let cfg = Config::parse(
            "admin.enableServer=false\nadmin.serverPort=9000\n\
             admin.serverAddress=127.0.0.1\nmetricsProvider.httpPort=7001\n\
             metricsProvider.className=org.apache.zookeeper.metrics.prometheus.\
             PrometheusMetricsProvider\n",
            "zoo.cfg",
        )
        .unwrap();
        assert!(!cfg.admin_enabled);
        assert_eq!(cfg.admin_port, 9000);
        assert_eq!(cfg.admin_address, IpAddr::from([127, 0, 0, 1]));
        assert!(cfg.metrics_enabled);
        assert_eq!(cfg.metrics_port, 7001);
        assert!(Config::parse("metricsProvider.className=Foo\n", "zoo.cfg").is_err());
        assert_eq!(Config::default().dashboard, Dashboard::ReadWrite);
        let cfg = Config::parse("admin.dashboard=readonly\n", "zoo.cfg").unwrap();
        assert_eq!(cfg.dashboard, Dashboard::ReadOnly);
        assert!(Config::parse("admin.dashboard=yes\n", "zoo.cfg").is_err());
    }

    #[test]
    fn parses_the_tls_keys() {
        let cfg = Config::parse("clientPort=2999\n", "zoo.cfg").unwrap();
        assert!(cfg.plain_client_port && cfg.secure_client_port.is_none());
        let cfg = Config::parse(
            "secureClientPort=3000\nzookeeper.ssl.keyStore.location=/k/s.pem\n\
             ssl.clientAuth=want\nssl.quorum.keyStore.location=/k/q.pem\nsslQuorum=false\n\
             zookeeper.X509AuthenticationProvider.superUser=CN=admin\n",
            "zoo.cfg",
        )
        .unwrap();
        assert!(!cfg.plain_client_port);
        assert_eq!(cfg.secure_client_port, Some(3000));
        assert_eq!(cfg.client_tls.client_auth, crate::tls::ClientAuth::Want);
        assert_eq!(cfg.quorum_tls.client_auth, crate::tls::ClientAuth::Need);
        let q = cfg.quorum_tls.key_store.unwrap();
        assert_eq!(q.location, PathBuf::from("/k/q.pem"));
        assert_eq!(
            cfg.client_tls.key_store.unwrap().location,
            PathBuf::from("/k/s.pem")
        );
        assert!(!cfg.ssl_quorum);
        assert!(
            Config::parse("sslQuorum=true\n", "zoo.cfg")
                .unwrap()
                .ssl_quorum
        );
        assert_eq!(cfg.x509_super_user.as_deref(), Some("CN=admin"));
        let err = Config::parse("a=b\nssl.protocol=SSLv3\n", "zoo.cfg").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("zoo.cfg:2: ssl.protocol: rustls does not offer"),
            "{err}"
        );
    }

    #[test]
    fn default_whitelist_is_srvr_only() {
        let cfg = Config::default();
        assert!(cfg.four_letter_whitelist.allows("srvr"));
        assert!(!cfg.four_letter_whitelist.allows("ruok"));
    }
}
