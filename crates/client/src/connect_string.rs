//! `host:port,host:port/chroot`: the servers to try and the optional chroot.
//!
//! Hosts are shuffled once at parse time, as ZooKeeper's `StaticHostProvider` does, so that
//! many clients with the same string spread over the ensemble.

use rand::seq::SliceRandom;

use crate::chroot::Chroot;
use crate::error::Error;

/// ZooKeeper's default client port, used when a host has no `:port`.
pub const DEFAULT_PORT: u16 = 2181;

/// A parsed connect string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectString {
    /// `host:port` entries, in the order they will be tried.
    pub hosts: Vec<String>,
    pub chroot: Chroot,
}

impl ConnectString {
    /// Parses and shuffles. An empty host list or a malformed chroot is an error.
    pub fn parse(s: &str) -> Result<ConnectString, Error> {
        let mut cs = ConnectString::parse_in_order(s)?;
        cs.hosts.shuffle(&mut rand::thread_rng());
        Ok(cs)
    }

    /// Parses without shuffling.
    pub fn parse_in_order(s: &str) -> Result<ConnectString, Error> {
        let (hosts_part, chroot) = match s.find('/') {
            Some(i) => (&s[..i], Chroot::new(&s[i..])?),
            None => (s, Chroot::none()),
        };
        let mut hosts = Vec::new();
        for h in hosts_part
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
        {
            hosts.push(with_port(h)?);
        }
        if hosts.is_empty() {
            return Err(Error::BadConnectString(format!("no hosts in {s:?}")));
        }
        Ok(ConnectString { hosts, chroot })
    }
}

fn with_port(h: &str) -> Result<String, Error> {
    // `[::1]:2181`, `[::1]`, `host:2181`, `host`.
    let has_port = match h.rfind(']') {
        Some(close) => h[close..].contains(':'),
        None => h.matches(':').count() == 1,
    };
    if !has_port {
        return Ok(format!("{h}:{DEFAULT_PORT}"));
    }
    let port = &h[h.rfind(':').unwrap() + 1..];
    port.parse::<u16>()
        .map_err(|_| Error::BadConnectString(format!("bad port in {h:?}")))?;
    Ok(h.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_ports_and_chroot() {
        let cs = ConnectString::parse_in_order("a:1, b ,[::1]:3/app/x").unwrap();
        assert_eq!(cs.hosts, ["a:1", "b:2181", "[::1]:3"]);
        assert_eq!(cs.chroot.prefix(), "/app/x");
    }

    #[test]
    fn no_chroot_and_root_chroot() {
        assert_eq!(ConnectString::parse("h:1").unwrap().chroot, Chroot::none());
        assert_eq!(ConnectString::parse("h:1/").unwrap().chroot, Chroot::none());
    }

    #[test]
    fn errors() {
        assert!(ConnectString::parse("").is_err());
        assert!(ConnectString::parse("h:x").is_err());
        assert!(ConnectString::parse("h:1/a/").is_err());
    }
}
