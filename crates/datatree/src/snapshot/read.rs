//! The decoder. `SnapshotReader` reads the header, then yields nodes and sessions one at a
//! time, then checks the trailer; `read_snapshot` rebuilds a `DataTree` from it.
//!
//! Rules kept: every length and count is checked against the bytes left (the caller says how
//! long the input is) and against a named limit before anything is allocated for it; every
//! error names the offset of the field it is about; the checksum is verified before a tree is
//! returned, and the rebuilt tree's digest must equal the stored one.

use std::io::{self, Read};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use corral_jute::{Acl, Id};

use crate::ephemeral::{self, NodeKind, CONTAINER_OWNER};
use crate::node::{Node, StatPersisted};
use crate::restore::Restorer;
use crate::sessions::Session;
use crate::tree::DataTree;

use super::{
    FormatVersion, SnapshotError, SnapshotMeta, MAGIC, MAX_FIELD_BYTES, MAX_RAFT_META_BYTES,
};

/// Bytes read from the inner reader at a time.
const READ_BUF_BYTES: usize = 256 << 10;
/// The smallest encoded node: empty path, null data, no ACL, stat and kind.
const MIN_NODE_BYTES: u64 = 4 + 4 + 4 + 60 + 1;
/// The smallest encoded session: id, timeout, empty password.
const MIN_SESSION_BYTES: u64 = 8 + 4 + 4;
/// The smallest encoded ACL entry: perms and two empty strings.
const MIN_ACL_BYTES: u64 = 4 + 4 + 4;
/// Digest and checksum.
const TRAILER_BYTES: u64 = 8 + 4;

type Result<T> = std::result::Result<T, SnapshotError>;

/// What the header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotHeader {
    pub version: FormatVersion,
    pub meta: SnapshotMeta,
    pub node_count: u64,
    pub session_count: u64,
}

/// Streams the records of one snapshot. Call `next_node` until `None`, then `next_session`
/// until `None`, then `finish`, which verifies the checksum: records are not trustworthy
/// until it has returned `Ok`.
pub struct SnapshotReader<R> {
    input: Input<R>,
    header: SnapshotHeader,
    nodes_left: u64,
    sessions_left: u64,
    /// The previous node's path (order check), kept to avoid one allocation per node.
    prev_path: Option<String>,
    prev_session: Option<i64>,
    /// The previous node's ACL list: consecutive nodes nearly always carry the same one, and
    /// sharing it holds each distinct list once.
    prev_acl: Option<Arc<[Acl]>>,
}

impl<R: Read> SnapshotReader<R> {
    /// Reads the header of a snapshot that is `len` bytes long.
    pub fn open(r: R, len: u64) -> Result<SnapshotReader<R>> {
        let mut input = Input {
            inner: r,
            buf: vec![0; READ_BUF_BYTES].into_boxed_slice(),
            start: 0,
            end: 0,
            hashed: 0,
            crc: 0,
            offset: 0,
            len,
        };
        let magic: [u8; 8] = input.array("magic")?;
        if magic != MAGIC {
            return Err(SnapshotError::BadMagic { found: magic });
        }
        let at = input.offset;
        let v = input.u32("format version")?;
        let version = FormatVersion::from_u32(v).ok_or(SnapshotError::UnsupportedVersion {
            version: v,
            offset: at,
        })?;
        // Later versions branch here on `version`.
        let last_zxid = input.i64("last zxid")?;
        let at = input.offset;
        let node_count = input.u64("node count")?;
        input.count_fits(at, "node count", node_count, MIN_NODE_BYTES)?;
        if node_count == 0 {
            return Err(input.corrupt(at, "no nodes: the root is missing".into()));
        }
        let at = input.offset;
        let session_count = input.u64("session count")?;
        input.count_fits(at, "session count", session_count, MIN_SESSION_BYTES)?;
        let raft_meta = input.blob("raft meta", MAX_RAFT_META_BYTES)?;
        Ok(SnapshotReader {
            input,
            header: SnapshotHeader {
                version,
                meta: SnapshotMeta {
                    last_zxid,
                    raft_meta,
                },
                node_count,
                session_count,
            },
            nodes_left: node_count,
            sessions_left: session_count,
            prev_path: None,
            prev_session: None,
            prev_acl: None,
        })
    }

    pub fn header(&self) -> &SnapshotHeader {
        &self.header
    }

    /// The byte offset of the next record.
    pub fn offset(&self) -> u64 {
        self.input.offset
    }

    /// The next node with its path, or `None` after the last. The node has no children yet.
    pub fn next_node(&mut self) -> Result<Option<(String, Node)>> {
        if self.nodes_left == 0 {
            return Ok(None);
        }
        self.nodes_left -= 1;
        let inp = &mut self.input;
        let at = inp.offset;
        let path = inp.string("path")?;
        match &mut self.prev_path {
            None if path != "/" => {
                return Err(inp.corrupt(at, format!("first node is {path:?}, not the root")))
            }
            None => self.prev_path = Some(path.clone()),
            Some(prev) => {
                if path.as_str() <= prev.as_str() {
                    return Err(
                        inp.corrupt(at, format!("node {path:?} out of order after {prev:?}"))
                    );
                }
                prev.clear();
                prev.push_str(&path);
            }
        }
        let data_at = inp.offset;
        let data = match inp.i32("data length")? {
            -1 => None,
            n if n < 0 => return Err(inp.corrupt(data_at, format!("data length {n}"))),
            n => Some(inp.vec(data_at, "data", n as u64, MAX_FIELD_BYTES)?),
        };
        let acl_at = inp.offset;
        let acl_count = inp.u32("acl count")? as u64;
        inp.count_fits(acl_at, "acl count", acl_count, MIN_ACL_BYTES)?;
        let mut acl = Vec::with_capacity(acl_count as usize);
        for _ in 0..acl_count {
            let perms = inp.i32("acl perms")?;
            let scheme = inp.string("acl scheme")?;
            let id = inp.string("acl id")?;
            acl.push(Acl {
                perms,
                id: Id { scheme, id },
            });
        }
        let stat_at = inp.offset;
        let fixed: [u8; 61] = inp.array("stat and kind")?;
        let i64_at = |i: usize| i64::from_le_bytes(fixed[i..i + 8].try_into().expect("8 bytes"));
        let i32_at = |i: usize| i32::from_le_bytes(fixed[i..i + 4].try_into().expect("4 bytes"));
        let stat = StatPersisted {
            czxid: i64_at(0),
            mzxid: i64_at(8),
            ctime: i64_at(16),
            mtime: i64_at(24),
            version: i32_at(32),
            cversion: i32_at(36),
            aversion: i32_at(40),
            ephemeral_owner: i64_at(44),
            pzxid: i64_at(52),
        };
        let kind_at = stat_at + 60;
        let kind = match fixed[60] {
            0 => NodeKind::Persistent,
            1 => NodeKind::Ephemeral,
            2 => NodeKind::Container,
            3 => NodeKind::Ttl,
            k => return Err(inp.corrupt(kind_at, format!("node kind {k}"))),
        };
        let owner = stat.ephemeral_owner;
        let owner_fits = match kind {
            NodeKind::Persistent => owner == 0,
            NodeKind::Ephemeral => owner != 0 && owner != CONTAINER_OWNER,
            NodeKind::Container => owner == CONTAINER_OWNER,
            NodeKind::Ttl => ephemeral::ttl_owner(ephemeral::ttl_of(owner)) == Some(owner),
        };
        if !owner_fits {
            return Err(inp.corrupt(
                stat_at + 44,
                format!("{path}: ephemeral owner {owner:#x} does not fit kind {kind:?}"),
            ));
        }
        let acl = match &self.prev_acl {
            Some(prev) if **prev == *acl => prev.clone(),
            _ => self.prev_acl.insert(acl.into()).clone(),
        };
        Ok(Some((path, Node::with_shared_acl(data, acl, stat, kind))))
    }

    /// The next session, or `None` after the last. Panics if nodes remain unread.
    pub fn next_session(&mut self) -> Result<Option<(i64, Session)>> {
        assert_eq!(self.nodes_left, 0, "read every node before the sessions");
        if self.sessions_left == 0 {
            return Ok(None);
        }
        self.sessions_left -= 1;
        let inp = &mut self.input;
        let at = inp.offset;
        let id = inp.i64("session id")?;
        if self.prev_session.is_some_and(|p| id <= p) {
            return Err(inp.corrupt(at, format!("session {id:#x} out of order")));
        }
        self.prev_session = Some(id);
        let timeout_ms = inp.i32("session timeout")?;
        let passwd = inp.blob("session password", MAX_FIELD_BYTES)?;
        Ok(Some((id, Session { timeout_ms, passwd })))
    }

    /// Reads the trailer, verifies the checksum and that the input ends there; returns the
    /// stored digest. Panics if records remain unread.
    pub fn finish(mut self) -> Result<u64> {
        assert_eq!(
            self.nodes_left + self.sessions_left,
            0,
            "read every record first"
        );
        let inp = &mut self.input;
        let digest = inp.u64("digest")?;
        inp.fold_crc();
        let computed = inp.crc;
        let at = inp.offset;
        let stored = inp.u32("checksum")?;
        if stored != computed {
            return Err(SnapshotError::Checksum {
                offset: at,
                stored,
                computed,
            });
        }
        if inp.offset != inp.len {
            let left = inp.len - inp.offset;
            return Err(inp.corrupt(inp.offset, format!("{left} bytes after the checksum")));
        }
        // The declared length may be short of the real input: nothing may follow.
        if inp.start < inp.end {
            return Err(inp.corrupt(inp.offset, "bytes after the checksum".into()));
        }
        (inp.start, inp.end, inp.hashed) = (0, 0, 0);
        if inp.read_more().map_err(|e| inp.io(e))? > 0 {
            return Err(inp.corrupt(inp.offset, "bytes after the checksum".into()));
        }
        Ok(digest)
    }
}

/// Reads a snapshot of `len` bytes and rebuilds the tree: children sets, ephemerals by owner,
/// container and TTL indexes, totals and digest. The tree's `last_zxid` is the snapshot's;
/// `extended_types_enabled` is left at its default for the caller to set from config.
///
/// Two threads share the work of the nodes: this one decodes them (with the checksum), a
/// scoped one links them into the tree being rebuilt, a batch at a time. On two cores a
/// million-znode restart is mostly this, and each half allocates (and so faults in) its own
/// share of the tree's memory.
pub fn read_snapshot<R: Read>(r: R, len: u64) -> Result<(SnapshotMeta, DataTree)> {
    let mut rd = SnapshotReader::open(r, len)?;
    let last_zxid = rd.header().meta.last_zxid;
    let node_count = rd.header().node_count;
    let (_, root) = rd.next_node()?.expect("node_count >= 1 was checked");
    let extended = DataTree::new().extended_types_enabled();
    let mut restorer = Restorer::new(root, last_zxid, extended);
    // The count was checked against the file's length, so this reserves no more than the
    // bytes on disk could hold.
    restorer.reserve(node_count as usize - 1);
    let (batches, received) = std::sync::mpsc::sync_channel::<Batch>(BATCHES_IN_FLIGHT);
    let (linked, decoded) = std::thread::scope(|s| {
        let linker = s.spawn(move || -> Result<Restorer> {
            for batch in received {
                for (at, path, node) in batch {
                    restorer
                        .push(path, node)
                        .map_err(|what| SnapshotError::Corrupt { offset: at, what })?;
                }
            }
            Ok(restorer)
        });
        let decoded = decode_nodes(&mut rd, batches);
        let linked = linker
            .join()
            .expect("linking restored nodes does not panic");
        (linked, decoded)
    });
    // A node the linker refused comes before any the decoder failed on: report it first.
    let restorer = linked?;
    decoded?;
    let mut tree = restorer.finish();
    let sessions_at = rd.offset();
    while let Some((id, s)) = rd.next_session()? {
        tree.restore_session(id, s);
    }
    let trailer_at = rd.offset();
    let meta = rd.header().meta.clone();
    let stored = rd.finish()?;
    if let Some(owner) = tree
        .ephemeral_owners()
        .into_iter()
        .find(|o| tree.session(*o).is_none())
    {
        return Err(SnapshotError::Corrupt {
            offset: sessions_at,
            what: format!("ephemerals of session {owner:#x}, which is not in the snapshot"),
        });
    }
    if tree.digest() != stored {
        return Err(SnapshotError::Digest {
            offset: trailer_at,
            stored,
            computed: tree.digest(),
        });
    }
    // The digest above was recomputed node by node as the tree was rebuilt. The full O(n)
    // index check costs about half a rebuild again, so only debug builds (and tests) run it.
    if cfg!(debug_assertions) {
        tree.check_invariants();
    }
    Ok((meta, tree))
}

/// Nodes handed from the decoding thread to the linking one, with the offset of each.
type Batch = Vec<(u64, String, Node)>;
const BATCH_NODES: usize = 1024;
const BATCHES_IN_FLIGHT: usize = 8;

/// Decodes the remaining nodes into `batches` until the last, a failure, or the linker
/// stopping (having refused a node: then its error is the one to report).
fn decode_nodes<R: Read>(rd: &mut SnapshotReader<R>, batches: SyncSender<Batch>) -> Result<()> {
    let mut batch = Vec::with_capacity(BATCH_NODES);
    loop {
        let at = rd.offset();
        let (path, node) = match rd.next_node() {
            Ok(Some(next)) => next,
            Ok(None) => break,
            Err(e) => {
                // The nodes before the damage still go: one of them may be refused first.
                let _ = batches.send(batch);
                return Err(e);
            }
        };
        batch.push((at, path, node));
        if batch.len() == BATCH_NODES {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_NODES));
            if batches.send(full).is_err() {
                return Ok(());
            }
        }
    }
    let _ = batches.send(batch);
    Ok(())
}

/// The input: a buffer over `inner`, the offset of its next unread byte, the declared length,
/// and the CRC32C of the bytes consumed so far (folded in lazily, before the buffer moves).
struct Input<R> {
    inner: R,
    buf: Box<[u8]>,
    /// Unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    /// `buf[..hashed]` is already in `crc`; `hashed <= start`.
    hashed: usize,
    crc: u32,
    /// The file offset of `buf[start]`.
    offset: u64,
    len: u64,
}

impl<R: Read> Input<R> {
    fn left(&self) -> u64 {
        self.len.saturating_sub(self.offset)
    }

    fn corrupt(&self, offset: u64, what: String) -> SnapshotError {
        SnapshotError::Corrupt { offset, what }
    }

    fn io(&self, source: io::Error) -> SnapshotError {
        SnapshotError::Io {
            offset: self.offset,
            source,
        }
    }

    /// Checks that `count` records of at least `min_bytes` each fit in what is left (the
    /// trailer aside), so nothing is allocated for a count a corrupt file made up.
    fn count_fits(&self, at: u64, what: &str, count: u64, min_bytes: u64) -> Result<()> {
        let room = self.left().saturating_sub(TRAILER_BYTES) / min_bytes;
        if count > room {
            return Err(self.corrupt(
                at,
                format!("{what} {count} cannot fit in {} bytes left", self.left()),
            ));
        }
        Ok(())
    }

    fn fold_crc(&mut self) {
        self.crc = crc32c::crc32c_append(self.crc, &self.buf[self.hashed..self.start]);
        self.hashed = self.start;
    }

    fn read_more(&mut self) -> io::Result<usize> {
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Makes `n <= READ_BUF_BYTES` unread bytes available in the buffer.
    fn fill(&mut self, what: &'static str, n: usize) -> Result<()> {
        if (n as u64) > self.left() {
            return Err(SnapshotError::Truncated {
                offset: self.offset,
                what,
                needed: n as u64,
                left: self.left(),
            });
        }
        if self.end - self.start >= n {
            return Ok(());
        }
        self.fold_crc();
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        self.hashed = 0;
        while self.end < n {
            let got = self.read_more().map_err(|e| self.io(e))?;
            if got == 0 {
                // The input ended before its declared length.
                return Err(SnapshotError::Truncated {
                    offset: self.offset,
                    what,
                    needed: n as u64,
                    left: self.end as u64,
                });
            }
        }
        Ok(())
    }

    fn take(&mut self, what: &'static str, n: usize) -> Result<&[u8]> {
        self.fill(what, n)?;
        let s = self.start;
        self.start += n;
        self.offset += n as u64;
        Ok(&self.buf[s..s + n])
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        Ok(self.take(what, N)?.try_into().expect("took N bytes"))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn i32(&mut self, what: &'static str) -> Result<i32> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn i64(&mut self, what: &'static str) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    /// `n` bytes of a field that starts (with its length) at `at`.
    fn vec(&mut self, at: u64, what: &'static str, n: u64, limit: u64) -> Result<Vec<u8>> {
        if n > limit || n > self.left().saturating_sub(TRAILER_BYTES) {
            return Err(self.corrupt(
                at,
                format!(
                    "{what} length {n} exceeds the {} bytes left (limit {limit})",
                    self.left()
                ),
            ));
        }
        let mut v = Vec::with_capacity(n as usize);
        let mut rest = n as usize;
        while rest > 0 {
            let chunk = rest.min(READ_BUF_BYTES);
            v.extend_from_slice(self.take(what, chunk)?);
            rest -= chunk;
        }
        Ok(v)
    }

    /// A `u32` length, then that many bytes.
    fn blob(&mut self, what: &'static str, limit: u64) -> Result<Vec<u8>> {
        let at = self.offset;
        let n = self.u32(what)? as u64;
        self.vec(at, what, n, limit)
    }

    fn string(&mut self, what: &'static str) -> Result<String> {
        let at = self.offset;
        let bytes = self.blob(what, MAX_FIELD_BYTES)?;
        String::from_utf8(bytes).map_err(|_| self.corrupt(at, format!("{what} is not UTF-8")))
    }
}
