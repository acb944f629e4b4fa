//! Coordination recipes on [`corral_client`], for corral or Apache ZooKeeper alike: leader
//! election, locks, a semaphore, barriers, a queue, a counter, and caches.
//!
//! Built to be safer than Curator's, whose `LeaderLatch` and locks have let two leaders or
//! two holders act at once:
//! - **Fences.** Leadership and locks are a [`Fence`]: a fencing token (the winning node's
//!   `czxid`, strictly increasing across successive holders) and a validity check that turns
//!   false the instant the session is disconnected — "suspended" counts as lost — or the
//!   node is deleted or released. [`Fence::lost`] resolves at that moment.
//! - **No ghosts.** Sequential nodes are created protected (`_c_<uuid>-…`), so a create whose
//!   reply was lost is found by its id instead of leaving a node that blocks everyone behind
//!   it; a cancelled wait deletes its node.
//! - **No herd.** A waiter watches one node (its predecessor, or the one node its rule waits
//!   for), and reads the children again when it goes rather than assume its turn.
//! - **Lost replies resolved.** A queue take and a counter update record enough in the same
//!   write (a receipt, a writer tag) to tell, after a lost reply, whether they were applied.
//!
//! The recipes, one a module:
//! - [`leader_latch`]: [`LeaderLatch`] — contend in the background, await leadership, ask
//!   `is_leader()`; re-enlists with a new session after expiry ([`Sessions`]).
//! - [`leader_selector`]: [`LeaderSelector`] — lead in turns; work is cancelled on loss.
//! - [`grouped_election`]: [`GroupedElection`] — very many contenders, bounded handoffs.
//! - [`mutex`]: [`Mutex`] and its [`LockGuard`]; [`rwlock`]: [`RwLock`];
//!   [`semaphore`]: [`Semaphore`] (`N` leases).
//! - [`barrier`]: [`Barrier`]; [`double_barrier`]: [`DoubleBarrier`].
//! - [`queue`]: [`Queue`] — every item delivered once.
//! - [`counter`]: [`Counter`] — compare-and-set, exact across lost replies.
//! - [`node_cache`]: [`NodeCache`]; [`tree_cache`]: [`TreeCache`] — kept current by persistent
//!   (recursive) watches, one-shot watches on servers without them; loads with `multiRead`.
//!
//! Shared machinery: [`sessions`] (where a recipe's session comes from), [`fence`], `turn`
//! (the sequential queue under elections and locks), `nodes` (protected creates, sequence
//! order), `cache` (what the caches share).
//!
//! ```no_run
//! use std::time::Duration;
//! use corral_client::Options;
//! use corral_recipes::{LeaderLatch, Sessions};
//!
//! # async fn demo() -> corral_client::Result<()> {
//! let sessions = Sessions::renewing("127.0.0.1:2181", Options::new(Duration::from_secs(5)));
//! let latch = LeaderLatch::start(&sessions, "/app/leader", b"me");
//! let leadership = latch.leadership().await?;
//! tokio::select! {
//!     _ = leadership.lost() => println!("deposed"),
//!     _ = tokio::time::sleep(Duration::from_secs(1)) => println!("led for a second"),
//! }
//! latch.close().await?;
//! # Ok(())
//! # }
//! ```

pub mod barrier;
mod cache;
pub mod counter;
pub mod double_barrier;
pub mod fence;
pub mod grouped_election;
pub mod leader_latch;
pub mod leader_selector;
pub mod mutex;
pub mod node_cache;
mod nodes;
pub mod queue;
pub mod rwlock;
pub mod semaphore;
pub mod sessions;
pub mod tree_cache;
mod turn;

pub use barrier::Barrier;
pub use cache::{CacheWatches, NodeData};
pub use counter::Counter;
pub use double_barrier::DoubleBarrier;
pub use fence::Fence;
pub use grouped_election::{group_for, GroupedElection};
pub use leader_latch::{LatchState, LeaderLatch, Leadership};
pub use leader_selector::{LeaderSelector, Turn};
pub use mutex::{LockGuard, Mutex};
pub use node_cache::NodeCache;
pub use queue::Queue;
pub use rwlock::RwLock;
pub use semaphore::Semaphore;
pub use sessions::Sessions;
pub use tree_cache::TreeCache;
