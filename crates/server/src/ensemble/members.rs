//! zoo.cfg's ensemble lines: `server.N=host:peerPort:electionPort[:participant|observer]
//! [;[clientHost:]clientPort]`, and the `myid` file in dataDir that says which line is us.
//!
//! corral's Raft needs one address per member: the peer port. The election port is read
//! and kept (for `conf` and `/zookeeper/config`) but nothing listens on it.

use std::collections::BTreeMap;
use std::path::Path;

/// One `server.N` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: u64,
    pub host: String,
    pub peer_port: u16,
    pub election_port: u16,
    pub observer: bool,
    /// `;[host:]port`: where its clients connect, if given.
    pub client: Option<(String, u16)>,
}

impl Member {
    pub fn peer_addr(&self) -> String {
        join_host_port(&self.host, self.peer_port)
    }

    pub fn client_addr(&self) -> String {
        match &self.client {
            Some((host, port)) => join_host_port(host, *port),
            None => String::new(),
        }
    }

    /// The line as `/zookeeper/config` and the `config` command show it.
    pub fn config_line(&self) -> String {
        let role = if self.observer {
            "observer"
        } else {
            "participant"
        };
        let mut line = format!(
            "server.{}={}:{}:{}:{role}",
            self.id,
            bracket(&self.host),
            self.peer_port,
            self.election_port
        );
        if let Some((host, port)) = &self.client {
            line.push_str(&format!(";{}:{port}", bracket(host)));
        }
        line
    }

    /// Parses the value of `server.<id>=`.
    pub fn parse(id: u64, value: &str) -> Result<Member, String> {
        let (server, client) = match value.split_once(';') {
            Some((s, c)) => (s.trim(), Some(c.trim())),
            None => (value.trim(), None),
        };
        let (host, rest) = split_host(server)?;
        let mut parts = rest.split(':');
        let port = |p: Option<&str>, what: &str| -> Result<u16, String> {
            let p = p.ok_or_else(|| format!("'{value}' has no {what}"))?;
            p.parse()
                .map_err(|_| format!("'{p}' is not a valid {what} in '{value}'"))
        };
        let peer_port = port(parts.next(), "peer port")?;
        let election_port = port(parts.next(), "election port")?;
        let observer = match parts.next() {
            None | Some("participant") => false,
            Some("observer") => true,
            Some(other) => return Err(format!("unknown role '{other}' (participant or observer)")),
        };
        if parts.next().is_some() {
            return Err(format!("'{value}' has too many ':' parts"));
        }
        let client = match client {
            None | Some("") => None,
            Some(c) => Some(match c.rsplit_once(':') {
                Some((h, p)) if !h.ends_with(':') => {
                    (unbracket(h).to_string(), port(Some(p), "client port")?)
                }
                _ => ("0.0.0.0".to_string(), port(Some(c), "client port")?),
            }),
        };
        Ok(Member {
            id,
            host: host.to_string(),
            peer_port,
            election_port,
            observer,
            client,
        })
    }
}

/// The ensemble this server belongs to.
#[derive(Debug, Clone)]
pub struct Ensemble {
    pub my_id: u64,
    pub members: BTreeMap<u64, Member>,
}

impl Ensemble {
    pub fn me(&self) -> &Member {
        &self.members[&self.my_id]
    }

    pub fn voters(&self) -> impl Iterator<Item = &Member> {
        self.members.values().filter(|m| !m.observer)
    }
}

/// Reads `<dataDir>/myid`: the number of this server's `server.N` line.
pub fn read_myid(data_dir: &Path) -> Result<u64, String> {
    let path = data_dir.join("myid");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {} (this server's id): {e}", path.display()))?;
    text.trim().parse().map_err(|_| {
        format!(
            "{} holds '{}', not a server id",
            path.display(),
            text.trim()
        )
    })
}

fn split_host(s: &str) -> Result<(&str, &str), String> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, rest) = rest
            .split_once(']')
            .ok_or_else(|| format!("'{s}': unclosed '['"))?;
        let rest = rest
            .strip_prefix(':')
            .ok_or_else(|| format!("'{s}': expected ':' after the address"))?;
        return Ok((host, rest));
    }
    s.split_once(':')
        .ok_or_else(|| format!("'{s}' is not host:peerPort:electionPort"))
}

fn unbracket(h: &str) -> &str {
    h.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(h)
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn join_host_port(host: &str, port: u16) -> String {
    format!("{}:{port}", bracket(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_zookeeper_server_lines() {
        let m = Member::parse(2, "127.0.0.1:2888:3888;2181").unwrap();
        assert_eq!(m.peer_addr(), "127.0.0.1:2888");
        assert_eq!(m.election_port, 3888);
        assert!(!m.observer);
        assert_eq!(m.client, Some(("0.0.0.0".into(), 2181)));
        let o = Member::parse(4, "zk4.example:2888:3888:observer;10.0.0.4:2181").unwrap();
        assert!(o.observer);
        assert_eq!(o.client_addr(), "10.0.0.4:2181");
        assert_eq!(
            o.config_line(),
            "server.4=zk4.example:2888:3888:observer;10.0.0.4:2181"
        );
        let v6 = Member::parse(1, "[::1]:2888:3888:participant").unwrap();
        assert_eq!(v6.peer_addr(), "[::1]:2888");
        assert_eq!(v6.client, None);
        for bad in [
            "host",
            "h:1",
            "h:x:2",
            "h:1:2:leader",
            "h:1:2:observer:9",
            "h:1:2;x",
        ] {
            assert!(Member::parse(1, bad).is_err(), "{bad}");
        }
    }
}
