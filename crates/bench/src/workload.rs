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
    /// `getChildren` of one znode with [`CHILDREN`] children.
    Children,
    /// Create an ephemeral sequential znode, then delete it: one operation of two requests.
    EphemeralSeq,
    /// One `multi` of `--batch` creates (default [`MULTI_BATCH`]) per request.
    Multi,
    /// Watch fan-out (see `fanout`): every session watches one znode, one write changes it,
    /// and the time until the last session is notified is measured.
    Watch,
    /// Session churn (see `churn`): each worker opens a session and closes it, again and again.
    Churn,
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
    Children,
    EphemeralSeq,
}

/// Children of the znode the `children` workload reads.
pub const CHILDREN: usize = 100;
/// Creates per transaction of the `multi` workload unless `--batch` says otherwise.
pub const MULTI_BATCH: usize = 10;

const ALL: [Workload; 11] = [
    Workload::Create,
    Workload::Set,
    Workload::Get,
    Workload::Exists,
    Workload::Mixed,
    Workload::Children,
    Workload::EphemeralSeq,
    Workload::Multi,
    Workload::Watch,
    Workload::Churn,
    Workload::Election,
];

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Create => "create",
            Workload::Set => "set",
            Workload::Get => "get",
            Workload::Exists => "exists",
            Workload::Mixed => "mixed",
            Workload::Children => "children",
            Workload::EphemeralSeq => "ephemeral-seq",
            Workload::Multi => "multi",
            Workload::Watch => "watch",
            Workload::Churn => "churn",
            Workload::Election => "election",
        }
    }

    /// The `n`-th request of a worker (`n` from 0).
    pub fn request(self, n: u64) -> Request {
        match self {
            Workload::Create | Workload::Multi => Request::Create,
            Workload::Set => Request::Set,
            Workload::Get | Workload::Election | Workload::Watch | Workload::Churn => Request::Get,
            Workload::Children => Request::Children,
            Workload::EphemeralSeq => Request::EphemeralSeq,
            Workload::Exists => Request::Exists,
            Workload::Mixed if n % 10 == 9 => Request::Set,
            Workload::Mixed => Request::Get,
        }
    }

    /// True if the run reads or writes pre-created keys.
    pub fn uses_keys(self) -> bool {
        matches!(
            self,
            Workload::Set | Workload::Get | Workload::Exists | Workload::Mixed
        )
    }

    /// True if the workload creates znodes in per-session directories.
    pub fn creates(self) -> bool {
        matches!(
            self,
            Workload::Create | Workload::Multi | Workload::EphemeralSeq
        )
    }
}

impl FromStr for Workload {
    type Err = String;

    fn from_str(s: &str) -> Result<Workload, String> {
        ALL.into_iter().find(|w| w.name() == s).ok_or_else(|| {
            let names: Vec<&str> = ALL.iter().map(|w| w.name()).collect();
            format!("unknown workload {s:?} ({})", names.join(", "))
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

    /// The znode whose [`CHILDREN`] children the `children` workload lists.
    pub fn parent(&self) -> String {
        format!("{}/p", self.root)
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
        for w in ALL.map(Workload::name) {
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
