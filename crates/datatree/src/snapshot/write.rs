//! The encoder: one pass over the tree into any `Write`, through a fixed buffer, with the
//! CRC32C folded in as each buffer is flushed. Nothing proportional to the tree's data is held
//! besides the sorted list of node references.

use std::collections::VecDeque;
use std::io::{self, Write};

use crate::ephemeral::NodeKind;
use crate::node::Node;
use crate::tree::DataTree;

use super::{FormatVersion, SnapshotMeta, MAGIC};

/// Bytes gathered before one `write_all` to the inner writer.
const WRITE_BUF_BYTES: usize = 256 << 10;

/// How many nodes ahead of the one being written the encoder asks for memory. In a tree that
/// writes have changed, nodes, paths and data lie scattered over the heap, and waiting for
/// each cache miss in turn was most of a snapshot's time (`perf` under `set 64x16` over 1.7M
/// znodes: 18% of the server's samples in the encoder's `memcpy`, loading paths and data).
const LOOKAHEAD: usize = 16;

/// A hint that the `len` bytes at `at` (up to their first three cache lines) will be read
/// soon. An address and a length rather than a slice: a node's padding bytes are not
/// initialized, and a `&[u8]` over them would not be sound even though nothing reads it.
fn prefetch(at: *const u8, len: usize) {
    #[cfg(target_arch = "x86_64")]
    for line in (0..len.min(3 * 64)).step_by(64) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: SSE is part of every x86_64 target, and a prefetch neither faults nor
        // changes memory, whatever the address (`wrapping_add` computes it without claims).
        unsafe { _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(line).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (at, len);
}

/// [`prefetch`] for a slice.
fn prefetch_bytes(bytes: &[u8]) {
    prefetch(bytes.as_ptr(), bytes.len());
}

/// Writes `tree` as a snapshot at `meta` and returns the number of bytes written. The output
/// is a pure function of the tree's state and `meta`. Panics if `meta.last_zxid` is before the
/// tree's last applied zxid (the snapshot would claim less than it holds).
pub fn write_snapshot<W: Write>(tree: &DataTree, meta: &SnapshotMeta, w: W) -> io::Result<u64> {
    assert!(
        meta.last_zxid >= tree.last_zxid(),
        "snapshot at zxid {} of a tree at {}",
        meta.last_zxid,
        tree.last_zxid()
    );
    let mut out = Output {
        inner: w,
        buf: Vec::with_capacity(WRITE_BUF_BYTES),
        crc: 0,
        written: 0,
    };
    // `nodes()` walks in byte order of path: a prefix sorts first, so every parent precedes
    // its children, and no sorted copy of a million references is needed.
    let node_count = tree.nodes.len();
    let sessions = tree.session_ids(); // ascending

    out.put(&MAGIC)?;
    out.put(&(FormatVersion::CURRENT as u32).to_le_bytes())?;
    out.put(&meta.last_zxid.to_le_bytes())?;
    out.put(&(node_count as u64).to_le_bytes())?;
    out.put(&(sessions.len() as u64).to_le_bytes())?;
    out.bytes(&meta.raft_meta)?;
    let mut prev: Option<&str> = None;
    // Nodes wait in `ahead` for LOOKAHEAD steps before they are written, their memory
    // requested as they enter (path, node) and halfway (data, whose address is in the node).
    let mut ahead: VecDeque<(&str, &Node)> = VecDeque::with_capacity(LOOKAHEAD + 1);
    for (path, node) in tree.nodes() {
        debug_assert!(prev < Some(path), "nodes out of order at {path}");
        prev = Some(path);
        prefetch_bytes(path.as_bytes());
        prefetch((node as *const Node).cast(), std::mem::size_of::<Node>());
        ahead.push_back((path, node));
        if let Some((_, halfway)) = ahead.len().checked_sub(LOOKAHEAD / 2 + 1).map(|i| ahead[i]) {
            prefetch_bytes(halfway.data().unwrap_or_default());
        }
        if ahead.len() > LOOKAHEAD {
            let (path, node) = ahead.pop_front().expect("the window is full");
            write_node(&mut out, path, node)?;
        }
    }
    for (path, node) in ahead {
        write_node(&mut out, path, node)?;
    }
    for id in sessions {
        let s = tree.session(id).expect("listed sessions exist");
        out.put(&id.to_le_bytes())?;
        out.put(&s.timeout_ms.to_le_bytes())?;
        out.bytes(&s.passwd)?;
    }
    out.put(&tree.digest().to_le_bytes())?;
    out.flush_buf()?;
    let crc = out.crc;
    out.inner.write_all(&crc.to_le_bytes())?;
    out.inner.flush()?;
    Ok(out.written + 4)
}

fn write_node<W: Write>(out: &mut Output<W>, path: &str, node: &Node) -> io::Result<()> {
    out.bytes(path.as_bytes())?;
    match node.data() {
        None => out.put(&(-1i32).to_le_bytes())?,
        Some(d) => {
            let len = i32::try_from(d.len()).map_err(|_| too_long("data", path))?;
            out.put(&len.to_le_bytes())?;
            out.put(d)?;
        }
    }
    out.put(&(node.acl().len() as u32).to_le_bytes())?;
    for a in node.acl() {
        out.put(&a.perms.to_le_bytes())?;
        out.bytes(a.id.scheme.as_bytes())?;
        out.bytes(a.id.id.as_bytes())?;
    }
    let s = node.persisted();
    let mut fixed = [0u8; 61];
    let mut at = 0;
    for w in [s.czxid, s.mzxid, s.ctime, s.mtime] {
        fixed[at..at + 8].copy_from_slice(&w.to_le_bytes());
        at += 8;
    }
    for w in [s.version, s.cversion, s.aversion] {
        fixed[at..at + 4].copy_from_slice(&w.to_le_bytes());
        at += 4;
    }
    for w in [s.ephemeral_owner, s.pzxid] {
        fixed[at..at + 8].copy_from_slice(&w.to_le_bytes());
        at += 8;
    }
    fixed[at] = kind_byte(node.kind());
    out.put(&fixed)
}

pub(super) fn kind_byte(kind: NodeKind) -> u8 {
    match kind {
        NodeKind::Persistent => 0,
        NodeKind::Ephemeral => 1,
        NodeKind::Container => 2,
        NodeKind::Ttl => 3,
    }
}

fn too_long(what: &str, path: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what} of {path} too long for a snapshot"),
    )
}

/// A buffered writer that checksums what it passes on.
struct Output<W> {
    inner: W,
    buf: Vec<u8>,
    crc: u32,
    written: u64,
}

impl<W: Write> Output<W> {
    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        if self.buf.len() + b.len() > WRITE_BUF_BYTES {
            self.flush_buf()?;
        }
        if b.len() > WRITE_BUF_BYTES {
            self.crc = crc32c::crc32c_append(self.crc, b);
            self.inner.write_all(b)?;
            self.written += b.len() as u64;
        } else {
            self.buf.extend_from_slice(b);
        }
        Ok(())
    }

    /// A `u32` length, then the bytes.
    fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        let len = u32::try_from(b.len()).map_err(|_| too_long("field", "a node"))?;
        self.put(&len.to_le_bytes())?;
        self.put(b)
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        self.crc = crc32c::crc32c_append(self.crc, &self.buf);
        self.inner.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}
