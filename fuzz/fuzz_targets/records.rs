//! Every record decoder over the same arbitrary bytes. Whatever decodes must re-encode to bytes
//! that decode to the same value, and those bytes must be a fixed point (encoding is canonical
//! after one round: nulls, negative lengths and lossy UTF-8 settle on their first decode).
#![no_main]

use std::fmt::Debug;

use corral_jute::request::{MultiRequest, MultiResponse};
use corral_jute::*;
use libfuzzer_sys::fuzz_target;

fn round_trip<T: Encode + Decode + PartialEq + Debug>(data: &[u8]) {
    let Ok(value) = T::from_bytes(data) else {
        return;
    };
    let bytes = value.to_bytes();
    let again = T::from_bytes(&bytes)
        .unwrap_or_else(|e| panic!("re-encoded {value:?} does not decode: {e}"));
    assert_eq!(value, again, "round trip changed the value");
    assert_eq!(bytes, again.to_bytes(), "encoding is not a fixed point");
}

fuzz_target!(|data: &[u8]| {
    round_trip::<ConnectRequest>(data);
    round_trip::<ConnectResponse>(data);
    round_trip::<RequestHeader>(data);
    round_trip::<ReplyHeader>(data);
    round_trip::<MultiHeader>(data);
    round_trip::<AuthPacket>(data);
    round_trip::<SetWatches>(data);
    round_trip::<SetWatches2>(data);
    round_trip::<CreateRequest>(data);
    round_trip::<CreateTtlRequest>(data);
    round_trip::<CreateResponse>(data);
    round_trip::<Create2Response>(data);
    round_trip::<DeleteRequest>(data);
    round_trip::<PathWatchRequest>(data);
    round_trip::<PathRequest>(data);
    round_trip::<SetDataRequest>(data);
    round_trip::<StatResponse>(data);
    round_trip::<GetDataResponse>(data);
    round_trip::<GetChildrenResponse>(data);
    round_trip::<GetChildren2Response>(data);
    round_trip::<GetAllChildrenNumberResponse>(data);
    round_trip::<CheckVersionRequest>(data);
    round_trip::<SyncResponse>(data);
    round_trip::<GetAclResponse>(data);
    round_trip::<SetAclRequest>(data);
    round_trip::<AddWatchRequest>(data);
    round_trip::<CheckWatchesRequest>(data);
    round_trip::<WatcherEvent>(data);
    round_trip::<ErrorResponse>(data);
    round_trip::<ReconfigRequest>(data);
    round_trip::<ClientInfo>(data);
    round_trip::<WhoAmIResponse>(data);
    round_trip::<Stat>(data);
    round_trip::<Acl>(data);
    round_trip::<Vec<Acl>>(data);
    round_trip::<MultiRequest>(data);
    round_trip::<MultiResponse>(data);
});
