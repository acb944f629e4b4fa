//! Connections to the other members, made on first use and kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use corral_peer::{PeerClient, Security};

/// The cluster name in every peer hello.
pub const CLUSTER: &str = "corral";

#[derive(Clone)]
pub struct Peers {
    me: u64,
    security: Security,
    clients: Arc<Mutex<HashMap<(u64, String), PeerClient>>>,
}

impl Peers {
    pub fn new(me: u64, security: Security) -> Peers {
        Peers {
            me,
            security,
            clients: Arc::default(),
        }
    }

    /// The client for member `id` at `addr` (a member that moved gets a new connection).
    pub fn client(&self, id: u64, addr: &str) -> PeerClient {
        let mut clients = self.clients.lock().expect("not poisoned");
        clients
            .entry((id, addr.to_string()))
            .or_insert_with(|| PeerClient::new(CLUSTER, self.me, addr, self.security.clone()))
            .clone()
    }
}
