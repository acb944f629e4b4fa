//! The chroot suffix of a connect string, applied to every path going out and stripped from
//! every path coming back (create results, watch events, ephemerals, multi results), as
//! ZooKeeper's `ClientCnxn` does.

use crate::error::Error;

/// A path prefix; empty when there is no chroot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Chroot(String);

impl Chroot {
    pub fn none() -> Chroot {
        Chroot(String::new())
    }

    /// `/` means no chroot; otherwise an absolute path without a trailing slash.
    pub fn new(prefix: &str) -> Result<Chroot, Error> {
        if prefix == "/" {
            return Ok(Chroot::none());
        }
        if !prefix.starts_with('/') || prefix.ends_with('/') || prefix.contains("//") {
            return Err(Error::BadConnectString(format!("bad chroot {prefix:?}")));
        }
        Ok(Chroot(prefix.to_string()))
    }

    pub fn prefix(&self) -> &str {
        &self.0
    }

    /// The server's path for a client path.
    pub fn apply(&self, path: &str) -> String {
        if self.0.is_empty() {
            path.to_string()
        } else if path == "/" {
            self.0.clone()
        } else {
            format!("{}{}", self.0, path)
        }
    }

    /// The client's path for a server path; a path outside the chroot is returned unchanged.
    pub fn strip(&self, path: &str) -> String {
        if self.0.is_empty() {
            return path.to_string();
        }
        match path.strip_prefix(self.0.as_str()) {
            Some("") => "/".to_string(),
            Some(rest) if rest.starts_with('/') => rest.to_string(),
            _ => path.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_and_strip() {
        let c = Chroot::new("/app").unwrap();
        assert_eq!(c.apply("/"), "/app");
        assert_eq!(c.apply("/a"), "/app/a");
        assert_eq!(c.strip("/app"), "/");
        assert_eq!(c.strip("/app/a"), "/a");
        assert_eq!(c.strip("/apple"), "/apple");
        assert_eq!(Chroot::none().apply("/a"), "/a");
    }
}
