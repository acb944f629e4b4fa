//! Znode path syntax: ZooKeeper's `PathUtils.validatePath` rules, and the parent/basename split
//! that `DataTree` uses. Invariant kept: a path accepted by [`validate_path`] is absolute, has no
//! empty, `.` or `..` component, no trailing `/` (except the root) and no character ZooKeeper
//! refuses; every such path other than `/` has a parent by [`parent_of`].

use corral_jute::ErrorCode;

/// Checks `path` as `PathUtils.validatePath` does; any violation is `BadArguments`, the code
/// ZooKeeper's request processors turn its `IllegalArgumentException` into.
pub fn validate_path(path: &str) -> Result<(), ErrorCode> {
    if is_valid(path) {
        Ok(())
    } else {
        Err(ErrorCode::BadArguments)
    }
}

fn is_valid(path: &str) -> bool {
    if !path.starts_with('/') {
        return false; // also covers the empty path
    }
    if path.len() == 1 {
        return true;
    }
    if path.ends_with('/') {
        return false;
    }
    // Java walks UTF-16 units; a character outside the BMP is a surrogate pair there, and
    // surrogates are in the refused range, so refusing every non-BMP char is the same verdict.
    // One pass without allocating: every request and every restored znode comes through here.
    let (mut before_prev, mut prev) = ('\0', '/');
    let mut chars = path[1..].chars().peekable();
    while let Some(c) = chars.next() {
        let next_is_end = matches!(chars.peek(), None | Some('/'));
        let bad = match c {
            '\0' => true,
            '/' => prev == '/',
            '.' if prev == '.' => before_prev == '/' && next_is_end,
            '.' => prev == '/' && next_is_end,
            _ => is_refused_char(c),
        };
        if bad {
            return false;
        }
        (before_prev, prev) = (prev, c);
    }
    true
}

/// The character ranges `PathUtils` refuses: C0/C1 controls, surrogates and the private use
/// area, and the specials block.
fn is_refused_char(c: char) -> bool {
    let u = c as u32;
    (0x01..=0x1f).contains(&u)
        || (0x7f..=0x9f).contains(&u)
        || (0xd800..=0xf8ff).contains(&u)
        || (0xfff0..=0xffff).contains(&u)
        || u > 0xffff
}

/// The parent of a valid non-root path: `/a/b` -> `/a`, `/a` -> `/`. `None` for `/` or a string
/// without `/`.
pub fn parent_of(path: &str) -> Option<&str> {
    let (parent, _) = split_raw(path)?;
    if path == "/" {
        return None;
    }
    Some(if parent.is_empty() { "/" } else { parent })
}

/// The last component: `/a/b` -> `b`, `/` -> ``.
pub fn basename(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// ZooKeeper's `path.substring(0, lastSlash)` / `substring(lastSlash + 1)` split, kept raw: the
/// parent of `/a` is `""`, which ZooKeeper's node map aliases to the root.
pub(crate) fn split_raw(path: &str) -> Option<(&str, &str)> {
    let i = path.rfind('/')?;
    Some((&path[..i], &path[i + 1..]))
}

/// The path a trigger names for a raw parent: ZooKeeper fires the root's child watches on `/`.
pub(crate) fn display_parent(raw_parent: &str) -> &str {
    if raw_parent.is_empty() {
        "/"
    } else {
        raw_parent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(p: &str) -> bool {
        validate_path(p).is_ok()
    }

    #[test]
    fn accepts_ordinary_paths() {
        for p in [
            "/",
            "/a",
            "/a/b",
            "/a.b",
            "/...",
            "/a/..b",
            "/a/b../c",
            "/a/.../b",
            "/.a",
            "/a/b.",
            "/zookeeper",
            "/é",
            "/a b",
        ] {
            assert!(ok(p), "{p:?}");
        }
    }

    #[test]
    fn refuses_what_path_utils_refuses() {
        for p in [
            "",
            "a",
            "a/b",
            "/a/",
            "//",
            "/a//b",
            "/.",
            "/..",
            "/a/.",
            "/a/..",
            "/./a",
            "/../a",
            "/a/./b",
            "/a/../b",
            "/a\0b",
            "/a\u{1}",
            "/a\u{1f}",
            "/a\u{7f}",
            "/a\u{9f}",
            "/a\u{e000}",
            "/a\u{f8ff}",
            "/a\u{fff0}",
            "/a\u{ffff}",
            "/a\u{1F600}",
        ] {
            assert_eq!(validate_path(p), Err(ErrorCode::BadArguments), "{p:?}");
        }
    }

    #[test]
    fn boundaries_of_refused_ranges_are_allowed() {
        for p in [
            "/a\u{20}",
            "/a\u{7e}",
            "/a\u{a0}",
            "/a\u{d7ff}",
            "/a\u{f900}",
            "/a\u{ffef}",
        ] {
            assert!(ok(p), "{p:?}");
        }
    }

    #[test]
    fn parent_and_basename() {
        assert_eq!(parent_of("/a/b"), Some("/a"));
        assert_eq!(parent_of("/a"), Some("/"));
        assert_eq!(parent_of("/"), None);
        assert_eq!(parent_of("a"), None);
        assert_eq!(basename("/a/b"), "b");
        assert_eq!(basename("/a"), "a");
        assert_eq!(basename("/"), "");
        assert_eq!(split_raw("/a"), Some(("", "a")));
        assert_eq!(display_parent(""), "/");
    }
}
