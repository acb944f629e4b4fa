//! What a run asks of the server: the kinds of load, which request each worker sends next,
//! and where in the tree the run's znodes live.

use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Every request creates a new persistent znode.
    Create,
    /// `setData` on the run's keys.
    Set,
    /// `getData` on the run's keys.
    Get,
    /// `exists` on the run's keys.
    Exists,
    /// 90% `getData`, 10% `setData` on the run's keys.
    Mixed,
    /// Leader election handoffs (see `election`): not a stream of requests.
    Election,
}

/// One request a worker sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Create,
    Set,
    Get,
    Exists,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Create => "create",
            Workload::Set => "set",
            Workload::Get => "get",
            Workload::Exists => "exists",
            Workload::Mixed => "mixed",
            Workload::Election => "election",
        }
    }

    /// The `n`-th request of a worker (`n` from 0).
    pub fn request(self, n: u64) -> Request {
        match self {
            Workload::Create => Request::Create,
            Workload::Set => Request::Set,
            Workload::Get | Workload::Election => Request::Get,
            Workload::Exists => Request::Exists,
            Workload::Mixed if n % 10 == 9 => Request::Set,
            Workload::Mixed => Request::Get,
        }
    }

    /// True if the run reads or writes pre-created keys (everything but `create`).
    pub fn uses_keys(self) -> bool {
        self != Workload::Create
    }
}

impl FromStr for Workload {
    type Err = String;

    fn from_str(s: &str) -> Result<Workload, String> {
        [
            Workload::Create,
            Workload::Set,
            Workload::Get,
            Workload::Exists,
            Workload::Mixed,
            Workload::Election,
        ]
        .into_iter()
        .find(|w| w.name() == s)
        .ok_or_else(|| {
            format!("unknown workload {s:?} (create, set, get, exists, mixed or election)")
        })
    }
}

/// The run's znodes: `<root>/k<j>` are the keys, `<root>/s<i>` holds what session `i` creates.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: String,
    pub keys: usize,
}

impl Layout {
    pub fn key(&self, j: usize) -> String {
        format!("{}/k{j}", self.root)
    }

    pub fn session_dir(&self, session: usize) -> String {
        format!("{}/s{session}", self.root)
    }

    /// The key of a worker's `n`-th request: the workers of a run take the keys round-robin,
    /// so that requests in flight together touch different znodes.
    pub fn key_index(&self, worker: usize, workers: usize, n: u64) -> usize {
        ((worker as u64 + n * workers as u64) % self.keys as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for w in ["create", "set", "get", "exists", "mixed", "election"] {
            assert_eq!(w.parse::<Workload>().unwrap().name(), w);
        }
        assert!("Get".parse::<Workload>().is_err());
    }

    #[test]
    fn mixed_is_one_set_in_ten() {
        let sets = (0..1000)
            .filter(|&n| Workload::Mixed.request(n) == Request::Set)
            .count();
        assert_eq!(sets, 100);
        assert_eq!(Workload::Get.request(9), Request::Get);
    }

    #[test]
    fn workers_take_keys_round_robin() {
        let l = Layout {
            root: "/r".into(),
            keys: 10,
        };
        // Four workers, first requests: keys 0..4, then 4..8, then wrap around.
        let first: Vec<usize> = (0..4).map(|w| l.key_index(w, 4, 0)).collect();
        assert_eq!(first, [0, 1, 2, 3]);
        assert_eq!(l.key_index(0, 4, 1), 4);
        assert_eq!(l.key_index(3, 4, 2), 1);
        assert_eq!(l.key(3), "/r/k3");
        assert_eq!(l.session_dir(2), "/r/s2");
    }
}
