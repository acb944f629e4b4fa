//! Frames on the client port: a 4-byte big-endian length, then that many payload bytes.
//!
//! `check` separates "not yet" (`Ok(None)`) from "never" (`Err`), and refuses an oversized or
//! negative length before anything is allocated for it.

use thiserror::Error;

/// ZooKeeper's default `jute.maxbuffer`: 0xfffff bytes.
pub const DEFAULT_MAX_BUFFER_BYTES: usize = 0xfffff;
/// Room a request frame may take beyond `jute.maxbuffer` for its header and path, as ZooKeeper's
/// `jute.maxbuffer.extrasize` (1024 by default).
pub const FRAME_EXTRA_BYTES: usize = 1024;
pub const LENGTH_PREFIX_BYTES: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("negative frame length {0}")]
    Negative(i32),
    #[error("frame length {len} exceeds the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
}

/// Returns the payload length of the frame at the start of `buf` once all of it has arrived.
pub fn check(buf: &[u8], max_payload_bytes: usize) -> Result<Option<usize>, FrameError> {
    let Some(prefix) = buf.get(..LENGTH_PREFIX_BYTES) else {
        return Ok(None);
    };
    let len = i32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
    if len < 0 {
        return Err(FrameError::Negative(len));
    }
    let len = len as usize;
    if len > max_payload_bytes {
        return Err(FrameError::TooLarge {
            len,
            max: max_payload_bytes,
        });
    }
    if buf.len() < LENGTH_PREFIX_BYTES + len {
        return Ok(None);
    }
    Ok(Some(len))
}

/// Starts a frame in `out`: reserves the length prefix, to be filled by `finish`.
pub fn begin(out: &mut Vec<u8>) -> usize {
    let at = out.len();
    out.extend_from_slice(&[0; LENGTH_PREFIX_BYTES]);
    at
}

/// Writes the payload length into the prefix reserved by `begin`.
pub fn finish(out: &mut [u8], at: usize) {
    let len = (out.len() - at - LENGTH_PREFIX_BYTES) as i32;
    out[at..at + LENGTH_PREFIX_BYTES].copy_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_prefix_is_incomplete() {
        assert_eq!(check(&[0, 0], 100), Ok(None));
    }

    #[test]
    fn partial_payload_is_incomplete() {
        assert_eq!(check(&[0, 0, 0, 3, 1, 2], 100), Ok(None));
    }

    #[test]
    fn whole_frame_gives_its_length() {
        assert_eq!(check(&[0, 0, 0, 2, 1, 2, 9], 100), Ok(Some(2)));
    }

    #[test]
    fn oversized_length_is_refused_before_payload_arrives() {
        assert_eq!(
            check(&[0, 0, 1, 0], 255),
            Err(FrameError::TooLarge { len: 256, max: 255 })
        );
    }

    #[test]
    fn negative_length_is_refused() {
        assert_eq!(
            check(&[0xff, 0xff, 0xff, 0xff], 255),
            Err(FrameError::Negative(-1))
        );
    }

    #[test]
    fn begin_finish_writes_the_prefix() {
        let mut out = vec![];
        let at = begin(&mut out);
        out.extend_from_slice(b"abc");
        finish(&mut out, at);
        assert_eq!(out, [0, 0, 0, 3, b'a', b'b', b'c']);
    }
}
