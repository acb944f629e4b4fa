//! What zkCli prints, byte for byte where scripts read it: the Stat as `name = value` lines,
//! ACL entries, dates as Java's `Date.toString`, the messages of its `CliWrapperException`,
//! path checks as `PathUtils.validatePath`, and watch events.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use corral_client::{perms, Acl, Error, EventType, SessionState, Stat};

use super::args::CliError;
use crate::admin::java_date_utc as java_date;

/// `StatPrinter`: eleven lines, zxids in hex, times as `Date.toString`.
pub fn stat(s: &Stat) -> String {
    format!(
        "cZxid = 0x{:x}\nctime = {}\nmZxid = 0x{:x}\nmtime = {}\npZxid = 0x{:x}\n\
         cversion = {}\ndataVersion = {}\naclVersion = {}\nephemeralOwner = 0x{:x}\n\
         dataLength = {}\nnumChildren = {}\n",
        s.czxid,
        java_date(s.ctime),
        s.mzxid,
        java_date(s.mtime),
        s.pzxid,
        s.cversion,
        s.version,
        s.aversion,
        s.ephemeral_owner,
        s.data_length,
        s.num_children
    )
}

/// `getAcl`'s lines for one entry: the Id as jute's `toString` writes it, then the perms.
pub fn acl(a: &Acl) -> String {
    format!(
        "{},{}\n: {}\n",
        csv(&a.id.scheme),
        csv(&a.id.id),
        perm_string(a.perms)
    )
}

/// jute's `Utils.toCSVString`.
fn csv(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\0' => out.push_str("%00"),
            '\n' => out.push_str("%0A"),
            '\r' => out.push_str("%0D"),
            ',' => out.push_str("%2C"),
            '}' => out.push_str("%7D"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
}

/// `ZKUtil.getPermString`: c, d, r, w, a.
pub fn perm_string(p: i32) -> String {
    [
        (perms::CREATE, 'c'),
        (perms::DELETE, 'd'),
        (perms::READ, 'r'),
        (perms::WRITE, 'w'),
        (perms::ADMIN, 'a'),
    ]
    .iter()
    .filter(|(bit, _)| p & bit != 0)
    .map(|(_, c)| *c)
    .collect()
}

/// `AclParser.parse`: `scheme:id:perms[,...]`; malformed entries are reported and skipped.
pub fn parse_acl(s: &str) -> Vec<Acl> {
    let mut out = Vec::new();
    for a in s.split(',') {
        let (Some(first), Some(last)) = (a.find(':'), a.rfind(':')) else {
            errln!("{a} does not have the form scheme:id:perm");
            continue;
        };
        if first == last {
            errln!("{a} does not have the form scheme:id:perm");
            continue;
        }
        let mut bits = 0;
        for c in a[last + 1..].chars() {
            match c {
                'r' => bits |= perms::READ,
                'w' => bits |= perms::WRITE,
                'c' => bits |= perms::CREATE,
                'd' => bits |= perms::DELETE,
                'a' => bits |= perms::ADMIN,
                other => errln!("Unknown perm type: {other}"),
            }
        }
        out.push(Acl {
            perms: bits,
            id: corral_client::Id {
                scheme: a[..first].to_string(),
                id: a[first + 1..last].to_string(),
            },
        });
    }
    out
}

/// Java's `List.toString`.
pub fn java_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

/// The message of zkCli's `CliWrapperException` for a failed call on `path`.
pub fn keeper_error(e: &Error, path: Option<&str>) -> CliError {
    let p = path.unwrap_or("null");
    let msg = match e {
        Error::NoNode => format!("Node does not exist: {p}"),
        Error::NoChildrenForEphemerals => format!("Ephemerals cannot have children: {p}"),
        Error::NodeExists => format!("Node already exists: {p}"),
        Error::NotEmpty => format!("Node not empty: {p}"),
        Error::NotReadOnly => format!("Not a read-only call: {p}"),
        Error::InvalidAcl => format!("Acl is not valid : {p}"),
        Error::NoAuth => format!("Insufficient permission : {p}"),
        Error::BadArguments => format!("Arguments are not valid : {p}"),
        Error::BadVersion => format!("version No is not valid : {p}"),
        Error::ReconfigInProgress => {
            "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)"
                .to_string()
        }
        Error::NewConfigNoQuorum => "No quorum of new config is connected and up-to-date with \
             the leader of last commmitted config - try invoking reconfiguration after new \
             servers are connected and synced"
            .to_string(),
        Error::QuotaExceeded => format!("Quota has exceeded : {p}"),
        Error::MultiFailed { error, .. } => return keeper_error(error, path),
        other => keeper_exception_message(other, path),
    };
    CliError::new(msg)
}

/// `KeeperException.getMessage()`: `KeeperErrorCode = <code message>[ for <path>]`.
pub fn keeper_exception_message(e: &Error, path: Option<&str>) -> String {
    let code = match e {
        Error::SystemError => "SystemError".to_string(),
        Error::RuntimeInconsistency => "RuntimeInconsistency".to_string(),
        Error::DataInconsistency => "DataInconsistency".to_string(),
        Error::ConnectionLoss | Error::Timeout | Error::Io(_) | Error::Protocol(_) => {
            "ConnectionLoss".to_string()
        }
        Error::MarshallingError => "MarshallingError".to_string(),
        Error::NewConfigNoQuorum => "NewConfigNoQuorum".to_string(),
        Error::ReconfigInProgress => "ReconfigInProgress".to_string(),
        Error::Unimplemented => "Unimplemented".to_string(),
        Error::OperationTimeout => "OperationTimeout".to_string(),
        Error::BadArguments => "BadArguments".to_string(),
        Error::ApiError => "APIError".to_string(),
        Error::NoNode => "NoNode".to_string(),
        Error::NoAuth => "NoAuth".to_string(),
        Error::BadVersion => "BadVersion".to_string(),
        Error::NoChildrenForEphemerals => "NoChildrenForEphemerals".to_string(),
        Error::NodeExists => "NodeExists".to_string(),
        Error::InvalidAcl => "InvalidACL".to_string(),
        Error::AuthFailed => "AuthFailed".to_string(),
        Error::NotEmpty => "Directory not empty".to_string(),
        Error::SessionExpired | Error::Closed => "Session expired".to_string(),
        Error::InvalidCallback => "Invalid callback".to_string(),
        Error::SessionMoved => "Session moved".to_string(),
        Error::NotReadOnly => "Not a read-only call".to_string(),
        Error::EphemeralOnLocalSession => "Ephemeral node on local session".to_string(),
        Error::NoWatcher => "No such watcher".to_string(),
        Error::ReconfigDisabled => "Reconfig is disabled".to_string(),
        Error::SessionClosedRequireSaslAuth => {
            "Session closed because client failed to authenticate".to_string()
        }
        Error::QuotaExceeded => "Quota has exceeded".to_string(),
        Error::Throttled => "Op throttled due to high load".to_string(),
        Error::Unknown(c) => format!("Unknown error {c}"),
        Error::MultiFailed { error, .. } => return keeper_exception_message(error, path),
        other => other.to_string(),
    };
    match path {
        Some(p) if !p.is_empty() => format!("KeeperErrorCode = {code} for {p}"),
        _ => format!("KeeperErrorCode = {code}"),
    }
}

/// `PathUtils.validatePath` (a sequential create may end in `/`); the error is zkCli's
/// `MalformedPathException`.
pub fn validate_path(path: &str, sequential: bool) -> Result<(), CliError> {
    let checked = if sequential {
        format!("{path}1")
    } else {
        path.to_string()
    };
    path_problem(&checked).map_or(Ok(()), |m| Err(CliError::new(m)))
}

fn path_problem(path: &str) -> Option<String> {
    if path.is_empty() {
        return Some("Path length must be > 0".into());
    }
    if !path.starts_with('/') {
        return Some("Path must start with / character".into());
    }
    if path.len() == 1 {
        return None;
    }
    if path.ends_with('/') {
        return Some("Path must not end with / character".into());
    }
    let chars: Vec<char> = path.chars().collect();
    let mut reason = None;
    for i in 1..chars.len() {
        let (c, last) = (chars[i], chars[i - 1]);
        let ends_name = i + 1 == chars.len() || chars[i + 1] == '/';
        if c == '\0' {
            reason = Some(format!("null character not allowed @{i}"));
        } else if c == '/' && last == '/' {
            reason = Some(format!("empty node name specified @{i}"));
        } else if c == '.' && last == '.' {
            if i >= 2 && chars[i - 2] == '/' && ends_name {
                reason = Some(format!("relative paths not allowed @{i}"));
            }
        } else if c == '.' {
            if last == '/' && ends_name {
                reason = Some(format!("relative paths not allowed @{i}"));
            }
        } else if matches!(c, '\u{1}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{e000}'..='\u{f8ff}' | '\u{fff0}'..='\u{ffff}')
        {
            reason = Some(format!("invalid character @{i}"));
        }
        if reason.is_some() {
            break;
        }
    }
    reason.map(|r| format!("Invalid path string \"{path}\" caused by {r}"))
}

/// `Watcher.Event.KeeperState` as events print it.
pub fn keeper_state(s: SessionState) -> &'static str {
    match s {
        SessionState::Connected => "SyncConnected",
        SessionState::Disconnected => "Disconnected",
        SessionState::Expired => "Expired",
        SessionState::AuthFailed => "AuthFailed",
        SessionState::Closed => "Closed",
    }
}

/// `ZooKeeper.States` as the prompt shows it.
pub fn prompt_state(s: Option<SessionState>) -> &'static str {
    match s {
        Some(SessionState::Connected) => "CONNECTED",
        Some(SessionState::Disconnected) => "CONNECTING",
        Some(SessionState::AuthFailed) => "AUTH_FAILED",
        Some(SessionState::Expired | SessionState::Closed) | None => "CLOSED",
    }
}

pub fn event_type(t: EventType) -> &'static str {
    match t {
        EventType::None => "None",
        EventType::NodeCreated => "NodeCreated",
        EventType::NodeDeleted => "NodeDeleted",
        EventType::NodeDataChanged => "NodeDataChanged",
        EventType::NodeChildrenChanged => "NodeChildrenChanged",
        EventType::DataWatchRemoved => "DataWatchRemoved",
        EventType::ChildWatchRemoved => "ChildWatchRemoved",
        EventType::PersistentWatchRemoved => "PersistentWatchRemoved",
    }
}

/// One line on stderr, written at once.
pub fn err_line(s: &str) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(format!("{s}\n").as_bytes());
}

/// A sink for what arrives between commands (watch events): stdout, or the line editor's
/// printer while an interactive prompt is up, so the prompt is redrawn below the event.
type External = Box<dyn FnMut(String) + Send>;

#[derive(Clone, Default)]
pub struct Printer {
    inner: Arc<PrinterInner>,
}

#[derive(Default)]
struct PrinterInner {
    external: Mutex<Option<External>>,
    /// `printwatches off` silences events.
    quiet: AtomicBool,
}

impl Printer {
    pub fn set_external(&self, f: External) {
        *self.inner.external.lock().unwrap() = Some(f);
    }

    pub fn set_print_watches(&self, on: bool) {
        self.inner.quiet.store(!on, Ordering::SeqCst);
    }

    pub fn print_watches(&self) -> bool {
        !self.inner.quiet.load(Ordering::SeqCst)
    }

    /// `WATCHER::` and the event, as zkCli's watcher prints it (each after an empty line).
    pub fn event(&self, state: &str, kind: &str, path: Option<&str>) {
        if !self.print_watches() {
            return;
        }
        let text = format!(
            "\nWATCHER::\n\nWatchedEvent state:{state} type:{kind} path:{}",
            path.unwrap_or("null")
        );
        let mut external = self.inner.external.lock().unwrap();
        match external.as_mut() {
            Some(f) => f(text),
            None => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_lines_and_perms() {
        let a = Acl {
            perms: perms::ALL,
            id: corral_client::Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        };
        assert_eq!(acl(&a), "'world,'anyone\n: cdrwa\n");
        assert_eq!(perm_string(perms::READ | perms::ADMIN), "ra");
        let parsed = parse_acl("digest:u:h=:rw,ip:10.0.0.1:a");
        assert_eq!(parsed[0].id.id, "u:h=");
        assert_eq!(parsed[0].perms, perms::READ | perms::WRITE);
        assert_eq!(parsed[1].id.scheme, "ip");
    }

    #[test]
    fn paths_checked_as_zookeeper_does() {
        assert!(validate_path("/", false).is_ok());
        assert!(validate_path("/a/b", false).is_ok());
        assert!(validate_path("/a/", true).is_ok());
        assert_eq!(
            validate_path("a", false).unwrap_err().message,
            "Path must start with / character"
        );
        assert_eq!(
            validate_path("/a//b", false).unwrap_err().message,
            "Invalid path string \"/a//b\" caused by empty node name specified @3"
        );
        assert_eq!(
            validate_path("/a/..", false).unwrap_err().message,
            "Invalid path string \"/a/..\" caused by relative paths not allowed @4"
        );
    }
}
