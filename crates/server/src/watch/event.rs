//! The frame a watcher receives: a `ReplyHeader` with xid -1 and a `WatcherEvent`.

use corral_jute::frame;
use corral_jute::opcode::xid;
use corral_jute::records::proto::keeper_state;
use corral_jute::{Encode, ReplyHeader, WatcherEvent};

/// Encodes one notification. The header's zxid is -1, as ZooKeeper 3.8 sends it.
pub fn encode_event(path: &str, event: i32, out: &mut Vec<u8>) {
    let at = frame::begin(out);
    ReplyHeader {
        xid: xid::NOTIFICATION,
        zxid: -1,
        err: 0,
    }
    .encode(out);
    WatcherEvent {
        kind: event,
        state: keeper_state::SYNC_CONNECTED,
        path: path.to_string(),
    }
    .encode(out);
    frame::finish(out, at);
}
