//! ZooKeeper's snapshot files (`FileSnap`): `snapshot.<zxid, hex>`, uncompressed.
//!
//! ```text
//! header    FileHeader { magic int "ZKSN", version int 2, dbid long }
//! sessions  count int | (id long, timeout int)*                       (SerializeUtils)
//! acls      count int | (ref long, vector<ACL>)*                      (ReferenceCountedACLCache)
//! nodes     (path ustring, DataNode { data buffer, acl ref long, StatPersisted })*
//!           then the path "/" as terminator; the root's path is ""    (DataTree.serialize)
//! seal      Adler32 of every byte before it, as a long | ustring "/"
//! 3.6+      ZxidDigest { zxid long, version int, digest long } | seal again
//! 3.9+      lastProcessedZxid long | seal again
//! ```
//!
//! An ACL ref of -1 is `world:anyone` ALL (`OPEN_UNSAFE_ACL_ID`). The file's zxid (its name)
//! is where replay starts: a snapshot is fuzzy, it may already hold later txns' effects.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use corral_datatree::node::StatPersisted;
use corral_jute::Acl;

use super::input::{adler32, Input, Result};
use super::tree::{ZkNode, ZkTree};

/// `FileSnap.SNAP_MAGIC`: "ZKSN".
pub const SNAP_MAGIC: [u8; 4] = *b"ZKSN";

/// The smallest encoded node: path "" (4), null data (4), acl ref (8), stat (60).
const MIN_NODE_BYTES: usize = 4 + 4 + 8 + 60;

/// Reads the snapshot `file` (its `bytes`) into a tree at `zxid` (from the file name).
pub fn read_snapshot(file: &Path, bytes: &[u8], zxid: i64) -> Result<ZkTree> {
    let mut inp = Input::new(file, bytes);
    inp.file_header(SNAP_MAGIC, "snapshot")?;

    let mut tree = ZkTree {
        last_zxid: zxid,
        ..ZkTree::default()
    };
    let n = inp.count("session count", 12)?.unwrap_or(0);
    for _ in 0..n {
        let id = inp.i64("session id")?;
        let timeout = inp.i32("session timeout")?;
        tree.sessions.insert(id, timeout);
    }

    let n = inp.count("acl cache size", 12)?.unwrap_or(0);
    let mut acls: HashMap<i64, Vec<Acl>> = HashMap::with_capacity(n);
    for _ in 0..n {
        let at = inp.offset();
        let r = inp.i64("acl ref")?;
        let list_at = inp.offset();
        let len = inp
            .count("acl list", 12)?
            .ok_or_else(|| inp.error(list_at, format!("acl list {r} is null")))?;
        let mut list = Vec::with_capacity(len);
        for _ in 0..len {
            list.push(inp.acl()?);
        }
        if acls.insert(r, list).is_some() {
            return Err(inp.error(at, format!("acl ref {r} appears twice")));
        }
    }

    let mut first = true;
    loop {
        let at = inp.offset();
        let path = inp.string("path")?;
        if path == "/" {
            break;
        }
        if inp.left() < MIN_NODE_BYTES - 4 {
            return Err(inp.error(inp.offset(), "truncated: node runs past the end"));
        }
        let data = inp.buffer("data")?;
        let ref_at = inp.offset();
        let r = inp.i64("acl ref")?;
        let acl = if r == -1 {
            Acl::open()
        } else {
            acls.get(&r).cloned().ok_or_else(|| {
                inp.error(ref_at, format!("{path:?}: acl ref {r} not in the cache"))
            })?
        };
        let stat = StatPersisted {
            czxid: inp.i64("czxid")?,
            mzxid: inp.i64("mzxid")?,
            ctime: inp.i64("ctime")?,
            mtime: inp.i64("mtime")?,
            version: inp.i32("version")?,
            cversion: inp.i32("cversion")?,
            aversion: inp.i32("aversion")?,
            ephemeral_owner: inp.i64("ephemeralOwner")?,
            pzxid: inp.i64("pzxid")?,
        };
        if first != path.is_empty() {
            let what = if first {
                format!("first node is {path:?}, not the root")
            } else {
                "a second root".to_string()
            };
            return Err(inp.error(at, what));
        }
        first = false;
        let node = ZkNode {
            data,
            acl,
            stat,
            children: BTreeSet::new(),
        };
        tree.insert_from_snapshot(path, node)
            .map_err(|what| inp.error(at, what))?;
    }
    if first {
        return Err(inp.error(inp.offset(), "no nodes: the root is missing"));
    }
    seal(&mut inp, bytes)?;
    // 3.6+: the digest of the tree at some zxid, sealed again; 3.9+: the last processed zxid,
    // sealed again. Either may be absent (older versions, digest disabled); neither is used.
    const DIGEST_BYTES: usize = 8 + 4 + 8;
    const SEAL_BYTES: usize = 8 + 4 + 1;
    if inp.left() >= DIGEST_BYTES + SEAL_BYTES {
        inp.i64("digest zxid")?;
        inp.i32("digest version")?;
        inp.i64("digest")?;
        seal(&mut inp, bytes)?;
    }
    if inp.left() > 0 {
        inp.i64("last processed zxid")?;
        seal(&mut inp, bytes)?;
    }
    if inp.left() > 0 {
        return Err(inp.error(
            inp.offset(),
            format!("{} unexpected bytes at the end", inp.left()),
        ));
    }
    Ok(tree)
}

/// `SnapStream.checkSealIntegrity`: the Adler32 of every byte so far, then the string "/".
fn seal(inp: &mut Input<'_>, bytes: &[u8]) -> Result<()> {
    let computed = adler32(&bytes[..inp.pos()]) as i64;
    let at = inp.offset();
    let stored = inp.i64("checksum")?;
    if stored != computed {
        return Err(inp.error(at, format!("checksum {stored:#x}, computed {computed:#x}")));
    }
    let at = inp.offset();
    if inp.string("seal")? != "/" {
        return Err(inp.error(at, "the checksum is not followed by \"/\""));
    }
    Ok(())
}
