//! A bounds-checked reader of jute's binary archive (`BinaryInputArchive`: big-endian
//! integers; a buffer or string is an `int` length, -1 for null, then the bytes; a vector is an
//! `int` count, -1 for null, then the elements), over a file held in memory.
//!
//! Every error names the file and the byte offset of the field it is about; nothing panics and
//! nothing is allocated beyond the bytes actually left.

use std::fmt;
use std::path::{Path, PathBuf};

use corral_jute::{Acl, Id};

/// What is wrong with one ZooKeeper file, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    pub file: PathBuf,
    pub offset: u64,
    pub what: String,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: at byte {}: {}",
            self.file.display(),
            self.offset,
            self.what
        )
    }
}

impl std::error::Error for FormatError {}

pub type Result<T> = std::result::Result<T, FormatError>;

/// A cursor over `bytes`; offsets are relative to the file (`base` is where `bytes` starts).
pub struct Input<'a> {
    file: &'a Path,
    bytes: &'a [u8],
    pos: usize,
    base: u64,
}

impl<'a> Input<'a> {
    pub fn new(file: &'a Path, bytes: &'a [u8]) -> Input<'a> {
        Input::at(file, bytes, 0)
    }

    /// A reader over `bytes`, which start at byte `base` of `file` (a record inside a log).
    pub fn at(file: &'a Path, bytes: &'a [u8], base: u64) -> Input<'a> {
        Input {
            file,
            bytes,
            pos: 0,
            base,
        }
    }

    /// The file offset of the next byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Bytes consumed so far.
    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn left(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub fn error(&self, offset: u64, what: impl Into<String>) -> FormatError {
        FormatError {
            file: self.file.to_path_buf(),
            offset,
            what: what.into(),
        }
    }

    /// `FileHeader { magic int, version int, dbid long }`: `magic` and version 2 required.
    pub fn file_header(&mut self, magic: [u8; 4], kind: &str) -> Result<()> {
        let found = self.take(4, "magic")?;
        if found != magic {
            return Err(self.error(0, format!("not a ZooKeeper {kind}: magic {:02x?}", found)));
        }
        let version = self.i32("version")?;
        if version != 2 {
            return Err(self.error(4, format!("unsupported {kind} version {version}")));
        }
        self.i64("dbid")?;
        Ok(())
    }

    pub fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n > self.left() {
            return Err(self.error(
                self.offset(),
                format!("truncated: {what} needs {n} bytes, {} left", self.left()),
            ));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }

    pub fn bool(&mut self, what: &str) -> Result<bool> {
        Ok(self.u8(what)? != 0)
    }

    pub fn i32(&mut self, what: &str) -> Result<i32> {
        let b = self.take(4, what)?;
        Ok(i32::from_be_bytes(b.try_into().expect("4 bytes")))
    }

    pub fn i64(&mut self, what: &str) -> Result<i64> {
        let b = self.take(8, what)?;
        Ok(i64::from_be_bytes(b.try_into().expect("8 bytes")))
    }

    /// A jute buffer: `None` for length -1.
    pub fn buffer(&mut self, what: &str) -> Result<Option<Vec<u8>>> {
        let at = self.offset();
        let n = self.i32(what)?;
        match n {
            -1 => Ok(None),
            n if n < 0 => Err(self.error(at, format!("{what}: length {n}"))),
            n => {
                if n as usize > self.left() {
                    return Err(self.error(
                        at,
                        format!("truncated: {what} of {n} bytes, {} left", self.left()),
                    ));
                }
                Ok(Some(self.take(n as usize, what)?.to_vec()))
            }
        }
    }

    /// A jute ustring; null is refused (ZooKeeper never writes a null path or id).
    pub fn string(&mut self, what: &str) -> Result<String> {
        let at = self.offset();
        let bytes = self
            .buffer(what)?
            .ok_or_else(|| self.error(at, format!("{what} is null")))?;
        String::from_utf8(bytes).map_err(|_| self.error(at, format!("{what} is not UTF-8")))
    }

    /// A vector's count: `None` for null (-1); a count that cannot fit in the bytes left,
    /// at `min_bytes` per element, is refused before anything is allocated.
    pub fn count(&mut self, what: &str, min_bytes: usize) -> Result<Option<usize>> {
        let at = self.offset();
        let n = self.i32(what)?;
        match n {
            -1 => Ok(None),
            n if n < 0 => Err(self.error(at, format!("{what}: count {n}"))),
            n if (n as usize).saturating_mul(min_bytes) > self.left() => Err(self.error(
                at,
                format!(
                    "truncated: {what} of {n} entries, {} bytes left",
                    self.left()
                ),
            )),
            n => Ok(Some(n as usize)),
        }
    }

    /// `vector<ACL>` (each: perms int, Id { scheme, id }); null reads as empty.
    pub fn acl_list(&mut self, what: &str) -> Result<Vec<Acl>> {
        let n = self.count(what, 12)?.unwrap_or(0);
        let mut acl = Vec::with_capacity(n);
        for _ in 0..n {
            acl.push(self.acl()?);
        }
        Ok(acl)
    }

    /// One `ACL { perms int, Id { scheme ustring, id ustring } }`.
    pub fn acl(&mut self) -> Result<Acl> {
        let perms = self.i32("acl perms")?;
        let scheme = self.string("acl scheme")?;
        let id = self.string("acl id")?;
        Ok(Acl {
            perms,
            id: Id { scheme, id },
        })
    }
}

/// `java.util.zip.Adler32`, which ZooKeeper uses for snapshot seals and log records.
pub fn adler32(bytes: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the most that can be summed before `b` may overflow a u32.
    for chunk in bytes.chunks(5552) {
        for &x in chunk {
            a += x as u32;
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adler32_known_values() {
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        let big = vec![0xffu8; 100_000];
        // Reference: zlib's adler32 over 100000 bytes of 0xff.
        let (mut a, mut b) = (1u64, 0u64);
        for &x in &big {
            a = (a + x as u64) % 65_521;
            b = (b + a) % 65_521;
        }
        assert_eq!(adler32(&big), ((b << 16) | a) as u32);
    }

    #[test]
    fn short_and_negative_lengths_are_errors_with_offsets() {
        let f = Path::new("f");
        let mut i = Input::new(f, &[0, 0, 0, 9, b'a']);
        let e = i.buffer("data").unwrap_err();
        assert_eq!(e.offset, 0);
        assert!(e.what.contains("truncated"), "{e}");
        let mut i = Input::new(f, &[0xff, 0xff, 0xff, 0xfe]);
        assert!(i.buffer("data").unwrap_err().what.contains("length -2"));
        let mut i = Input::new(f, &[0x7f, 0xff, 0xff, 0xff]);
        assert!(i.count("acls", 12).is_err());
        let mut i = Input::at(f, &[0, 0], 100);
        assert_eq!(i.i32("x").unwrap_err().offset, 100);
    }
}
