//! The `sasl` request (op 102), answered at once and outside the session's FIFO, as
//! ZooKeeper's `processSasl` answers it before any request processor: always with zxid 0,
//! `Ok` and the next token, or `AuthFailed` with a null token followed by the close of the
//! connection (unless `allowSaslFailedClients`, which answers `Ok` and a null token).

use std::sync::Arc;

use corral_jute::{Encode, ErrorCode, GetSaslRequest, SetSaslResponse};

use super::reply;
use super::Core;
use crate::auth::sasl::Outcome;
use crate::watch::ConnId;

impl Core {
    pub(super) fn sasl(&mut self, conn_id: ConnId, xid: i32, req: GetSaslRequest) {
        let server = self.sasl.clone();
        let Some(conn) = self.registry.conns.get_mut(&conn_id) else {
            return;
        };
        let exchange = conn.sasl.get_or_insert_with(Default::default);
        let outcome = match exchange.evaluate(server.as_deref(), &req.token) {
            Ok(outcome) => outcome,
            Err(why) => {
                // The reason never holds a secret (see `digest_md5::Failure`).
                tracing::warn!(
                    "client {} failed to SASL authenticate: {why}",
                    conn.outbox.peer
                );
                if server.as_ref().is_some_and(|s| s.allow_failed_clients()) {
                    tracing::warn!(
                        "maintaining client connection despite SASL authentication failure"
                    );
                    Outcome::Continue(None)
                } else {
                    Outcome::Refused
                }
            }
        };
        let answer = |err: ErrorCode, token: Option<Vec<u8>>| {
            reply::frame_with(xid, 0, err, |out| SetSaslResponse { token }.encode(out))
        };
        match outcome {
            Outcome::Continue(token) => self.send(conn_id, answer(ErrorCode::Ok, token), true),
            Outcome::Authenticated { token, ids } => {
                let session = conn.session.unwrap_or(0);
                let names: Vec<String> = ids
                    .iter()
                    .map(|i| format!("{}:{}", i.scheme, i.id))
                    .collect();
                tracing::info!(
                    "session {session:#x}: SASL authenticated as {}",
                    names.join(", ")
                );
                let auth = Arc::make_mut(&mut conn.auth);
                for id in ids {
                    if !auth.contains(&id) {
                        auth.push(id);
                    }
                }
                self.send(conn_id, answer(ErrorCode::Ok, Some(token)), true);
            }
            Outcome::Refused => {
                tracing::warn!("closing client connection due to SASL authentication failure");
                self.send(conn_id, answer(ErrorCode::AuthFailed, None), true);
                self.close_conn(conn_id);
            }
        }
    }
}
