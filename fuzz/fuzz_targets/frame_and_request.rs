//! Arbitrary bytes on the client port, taken apart as a connection does: frames by
//! `frame::check`, the first frame's payload as a `ConnectRequest`, every later one as a
//! `RequestHeader` and the request its op code names. No input may panic or allocate beyond
//! what its own length justifies (run.sh caps allocations with `-malloc_limit_mb`).
#![no_main]

use corral_jute::frame::{self, DEFAULT_MAX_BUFFER_BYTES, FRAME_EXTRA_BYTES, LENGTH_PREFIX_BYTES};
use corral_jute::{ConnectRequest, Decode, Reader, Request, RequestHeader};
use libfuzzer_sys::fuzz_target;

/// The server's default frame limit (`jute.maxbuffer` plus `jute.maxbuffer.extrasize`).
const MAX_FRAME_BYTES: usize = DEFAULT_MAX_BUFFER_BYTES + FRAME_EXTRA_BYTES;

fuzz_target!(|data: &[u8]| {
    // Clients that skip the length prefix still hit the handshake decoder directly.
    let _ = ConnectRequest::from_bytes(data);

    let mut buf = data;
    let mut first = true;
    while let Ok(Some(len)) = frame::check(buf, MAX_FRAME_BYTES) {
        assert!(len <= MAX_FRAME_BYTES, "frame over the limit accepted");
        let payload = &buf[LENGTH_PREFIX_BYTES..LENGTH_PREFIX_BYTES + len];
        buf = &buf[LENGTH_PREFIX_BYTES + len..];
        if first {
            first = false;
            let _ = ConnectRequest::from_bytes(payload);
            continue;
        }
        let mut r = Reader::new(payload);
        if let Ok(header) = RequestHeader::decode(&mut r) {
            let _ = Request::decode(header.op, &mut r);
            assert!(r.position() <= payload.len());
        }
    }
});
