//! Node helpers every recipe shares: sequence suffixes, parents, and the protected create.
//!
//! A protected create (Curator's "protected" mode) puts a fresh id in the node's name,
//! `_c_<uuid>-<name><sequence>`. When the reply to the create is lost (the connection
//! dropped), the request may or may not have been applied; the caller then lists the
//! parent and finds its node by the id instead of creating a second one and leaving the
//! first behind as a ghost that would block everyone queued after it.

use corral_client::{Acl, Client, CreateMode, Error, Op, OpResult, Result};

use crate::sessions::{is_transient, retrying, wait_connected};

/// Curator's protected prefix: `_c_` + a UUID + `-`.
pub(crate) const PROTECTED_PREFIX: &str = "_c_";
/// ZooKeeper appends ten digits to a sequential node's name.
const SEQUENCE_DIGITS: usize = 10;

/// A random (version 4) UUID in its usual text form.
pub(crate) fn uuid() -> String {
    let b: [u8; 16] = rand::random();
    let h = |r: std::ops::Range<usize>| b[r].iter().map(|x| format!("{x:02x}")).collect::<String>();
    // Version 4, variant 10.
    let v = format!("4{}", &h(6..8)[1..]);
    let var = format!("{:x}{}", 8 | (b[8] & 3), &h(8..10)[1..]);
    format!("{}-{}-{v}-{var}-{}", h(0..4), h(4..6), h(10..16))
}

/// `_c_<uuid>-<name>`: the name a protected create asks for (the server adds the sequence).
pub(crate) fn protected_name(name: &str) -> String {
    format!("{PROTECTED_PREFIX}{}-{name}", uuid())
}

/// The sequence number at the end of a sequential node's name.
pub(crate) fn sequence(name: &str) -> Option<i64> {
    let tail = name.get(name.len().checked_sub(SEQUENCE_DIGITS)?..)?;
    tail.parse().ok()
}

/// The children that carry a sequence number, lowest sequence first.
pub(crate) fn sort_sequential(children: Vec<String>) -> Vec<String> {
    let mut v: Vec<(i64, String)> = children
        .into_iter()
        .filter_map(|c| Some((sequence(&c)?, c)))
        .collect();
    v.sort();
    v.into_iter().map(|(_, c)| c).collect()
}

pub(crate) fn join(parent: &str, child: &str) -> String {
    if parent == "/" {
        format!("/{child}")
    } else {
        format!("{parent}/{child}")
    }
}

/// The parent of `path` (`/` for a top-level node).
pub(crate) fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last component of `path`.
pub(crate) fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Creates `path` and its missing ancestors as persistent nodes; an existing node is fine.
pub(crate) async fn ensure_path(client: &Client, path: &str) -> Result<()> {
    let mut at = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        at.push('/');
        at.push_str(part);
        create_if_absent(client, &at, b"", CreateMode::Persistent).await?;
    }
    Ok(())
}

/// Creates `path` unless it exists: safe to repeat after a lost reply (for nodes whose
/// existence is all that matters, or whose name only this process uses).
pub(crate) async fn create_if_absent(
    client: &Client,
    path: &str,
    data: &[u8],
    mode: CreateMode,
) -> Result<()> {
    retrying(client, || async {
        match client.create(path, data, &Acl::open(), mode).await {
            Ok(_) | Err(Error::NodeExists) => Ok(()),
            Err(e) => Err(e),
        }
    })
    .await
}

/// Deletes `path` if it exists.
pub(crate) async fn delete_if_present(client: &Client, path: &str) -> Result<()> {
    retrying(client, || async {
        match client.delete(path, None).await {
            Err(Error::NoNode) => Ok(()),
            r => r,
        }
    })
    .await
}

/// Creates `parent/<prefix>` with `mode` (a sequential mode), `prefix` being a
/// [`protected_name`], creating `parent` if missing; returns the new node's path. With `guard`, the create is a `multi` after that op,
/// so it happens only if the guard holds (a failed guard is `MultiFailed` at index 0).
///
/// After a lost reply it waits for the connection and lists `parent`: a child with its
/// prefix is its node. If several are (a create applied late), it keeps the lowest and
/// deletes the rest.
pub(crate) async fn create_protected(
    client: &Client,
    parent: &str,
    prefix: &str,
    data: &[u8],
    mode: CreateMode,
    guard: Option<Op>,
) -> Result<String> {
    let path = join(parent, prefix);
    loop {
        let attempt = match &guard {
            None => client
                .create(&path, data, &Acl::open(), mode)
                .await
                .map(|(p, _)| p),
            Some(g) => {
                let ops = vec![g.clone(), Op::create(&path, data, &Acl::open(), mode)];
                client.multi(ops).await.map(|r| match &r[1] {
                    OpResult::Create { path, .. } => path.clone(),
                    other => unreachable!("a create answers {other:?}"),
                })
            }
        };
        match attempt {
            Ok(p) => return Ok(p),
            Err(e) if no_parent(&e, guard.is_some()) => ensure_path(client, parent).await?,
            Err(e) if is_transient(&e) => {
                wait_connected(client).await?;
                if let Some(p) = find_protected(client, parent, prefix).await? {
                    return Ok(p);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// `NoNode` from the create itself (not from a guard): the parent is missing.
fn no_parent(e: &Error, guarded: bool) -> bool {
    match e {
        Error::NoNode => !guarded,
        Error::MultiFailed {
            index: 1, error, ..
        } => matches!(**error, Error::NoNode),
        _ => false,
    }
}

/// The child of `parent` whose name starts with `prefix`, if any; extra ones are deleted.
pub(crate) async fn find_protected(
    client: &Client,
    parent: &str,
    prefix: &str,
) -> Result<Option<String>> {
    let children = loop {
        match client.get_children(parent).await {
            Ok(c) => break c,
            Err(Error::NoNode) => return Ok(None),
            Err(e) if is_transient(&e) => wait_connected(client).await?,
            Err(e) => return Err(e),
        }
    };
    let mut mine = sort_sequential(
        children
            .into_iter()
            .filter(|c| c.starts_with(prefix))
            .collect(),
    );
    if mine.is_empty() {
        return Ok(None);
    }
    let keep = mine.remove(0);
    for ghost in mine {
        tracing::debug!(node = %join(parent, &ghost), "deleting a duplicate protected node");
        match client.delete(&join(parent, &ghost), None).await {
            Ok(()) | Err(Error::NoNode) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(join(parent, &keep)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let u = uuid();
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!("89ab".contains(&parts[3][..1]));
        assert_ne!(u, uuid());
    }

    #[test]
    fn sorts_by_sequence_not_prefix() {
        let v = vec![
            "_c_ffff-latch-0000000003".to_string(),
            "_c_0000-latch-0000000010".to_string(),
            "ready".to_string(),
            "latch-0000000001".to_string(),
        ];
        assert_eq!(
            sort_sequential(v),
            [
                "latch-0000000001",
                "_c_ffff-latch-0000000003",
                "_c_0000-latch-0000000010"
            ]
        );
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(base_name("/a/b-0000000001"), "b-0000000001");
        assert_eq!(parent("/a"), "/");
        assert_eq!(parent("/a/b/c"), "/a/b");
    }
}
