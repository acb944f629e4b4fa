//! The peer envelope and its framing: `length u32 big-endian | postcard(Frame)`.
//!
//! A connection starts with the dialling member's [`Hello`]; the listener checks the cluster
//! name and protocol version and closes the connection on a mismatch, with a log line, so a
//! member of another ensemble (or another build) never mixes in.

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bumped whenever `Frame` or a body layout changes incompatibly.
pub const PROTOCOL_VERSION: u16 = 1;

/// The largest frame accepted: a forwarded batch is at most 4 MiB, an AppendEntries at most
/// a few such entries, a snapshot chunk a few MiB.
pub const MAX_FRAME_BYTES: usize = 256 << 20;

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// Raft RPCs, bodies encoded by the raft crate.
    AppendEntries,
    Vote,
    InstallSnapshot,
    /// A batch of server entries for the leader to log (a follower's clients' writes).
    Forward,
    /// Ids of sessions that a member heard from, for the leader's expiry tracker.
    Touch,
    /// Whether the member's group is initialized (a starting member asks, to tell a first
    /// start of the ensemble from joining a running one). Answer: `[1]` or `[0]`.
    Initialized,
    /// A membership change (`reconfig`), for the leader to carry out.
    Reconfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub cluster: String,
    pub from: u64,
    pub version: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frame {
    Hello(Hello),
    Request {
        id: u64,
        kind: Kind,
        body: Vec<u8>,
    },
    Response {
        id: u64,
        result: Result<Vec<u8>, String>,
    },
}

pub fn encode(frame: &Frame) -> Vec<u8> {
    let mut out = vec![0u8; 4];
    let body = postcard::to_extend(frame, Vec::new()).expect("postcard encodes into a Vec");
    out.extend_from_slice(&body);
    let len = (out.len() - 4) as u32;
    out[..4].copy_from_slice(&len.to_be_bytes());
    out
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub async fn read<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Option<Frame>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME_BYTES {
        return Err(invalid(format!(
            "peer frame of {len} bytes is over the limit"
        )));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    postcard::from_bytes(&body)
        .map(Some)
        .map_err(|e| invalid(format!("unreadable peer frame: {e}")))
}

pub async fn write<W: AsyncWrite + Unpin>(w: &mut W, frame: &Frame) -> std::io::Result<()> {
    w.write_all(&encode(frame)).await
}

/// Writes encoded frames from `queue` until it closes, gathering what is queued into few
/// socket writes. An error means the socket failed.
pub async fn write_queued<W: AsyncWrite + Unpin>(
    w: &mut W,
    queue: &mut tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
) -> std::io::Result<()> {
    const GATHER_BYTES: usize = 1 << 20;
    while let Some(mut buf) = queue.recv().await {
        while buf.len() < GATHER_BYTES {
            match queue.try_recv() {
                Ok(more) => buf.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        w.write_all(&buf).await?;
    }
    Ok(())
}

fn invalid(why: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_oversized_ones_are_refused() {
        let frame = Frame::Request {
            id: 7,
            kind: Kind::Forward,
            body: vec![1, 2, 3],
        };
        let bytes = encode(&frame);
        let back = read(&mut &bytes[..]).await.unwrap();
        assert_eq!(back, Some(frame));
        assert_eq!(read(&mut &[][..]).await.unwrap(), None);
        let huge = ((MAX_FRAME_BYTES + 1) as u32).to_be_bytes();
        assert!(read(&mut &huge[..]).await.is_err());
        let garbage = [0, 0, 0, 2, 0xff, 0xff];
        assert!(read(&mut &garbage[..]).await.is_err());
    }
}
