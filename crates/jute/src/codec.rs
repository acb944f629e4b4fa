//! Jute's binary encoding: big-endian integers, length-prefixed strings, buffers and vectors.
//!
//! Decoding reads from a complete frame, so running out of bytes inside a record is
//! `Invalid` (the peer sent a truncated record); `Incomplete` is reserved for the frame layer,
//! where more bytes may still arrive. Every length is checked against the bytes actually left
//! before anything is allocated for it.

use thiserror::Error;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Not enough bytes yet: read more and try again.
    #[error("incomplete input")]
    Incomplete,
    /// The bytes can never form a valid record.
    #[error("invalid input: {0}")]
    Invalid(String),
}

impl DecodeError {
    pub fn invalid(what: impl Into<String>) -> Self {
        DecodeError::Invalid(what.into())
    }
}

/// A cursor over the payload of one frame.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::invalid(format!(
                "truncated {what}: need {n} bytes, {} left",
                self.remaining()
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn read_i32(&mut self) -> Result<i32, DecodeError> {
        let b = self.take(4, "int")?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn read_i64(&mut self) -> Result<i64, DecodeError> {
        let b = self.take(8, "long")?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    /// One raw byte (not a jute type; for formats of our own built on this reader).
    pub fn read_u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1, "byte")?[0])
    }

    pub fn read_bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.take(1, "boolean")?[0] != 0)
    }

    /// A string or buffer length prefix; -1 means null. Any other negative is invalid, as
    /// ZooKeeper's `BinaryInputArchive.checkLength` rejects it ("Unreasonable length").
    fn read_len(&mut self, what: &str) -> Result<Option<usize>, DecodeError> {
        let len = self.read_i32()?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 {
            return Err(DecodeError::invalid(format!(
                "negative {what} length {len}"
            )));
        }
        let len = len as usize;
        if len > self.remaining() {
            return Err(DecodeError::invalid(format!(
                "{what} length {len} exceeds the {} bytes left",
                self.remaining()
            )));
        }
        Ok(Some(len))
    }

    /// A nullable buffer (`buffer` in jute): `None` for length -1.
    pub fn read_opt_buffer(&mut self) -> Result<Option<Vec<u8>>, DecodeError> {
        match self.read_len("buffer")? {
            None => Ok(None),
            Some(n) => Ok(Some(self.take(n, "buffer")?.to_vec())),
        }
    }

    pub fn read_buffer(&mut self) -> Result<Vec<u8>, DecodeError> {
        Ok(self.read_opt_buffer()?.unwrap_or_default())
    }

    /// A `ustring`. Invalid UTF-8 is replaced, as Java's decoder does; null reads as "".
    pub fn read_string(&mut self) -> Result<String, DecodeError> {
        match self.read_len("string")? {
            None => Ok(String::new()),
            Some(n) => Ok(String::from_utf8_lossy(self.take(n, "string")?).into_owned()),
        }
    }

    /// A vector's element count; null (and any negative, as ZooKeeper's `BinaryIndex` counts
    /// down from it) reads as empty. Each element is at least
    /// `min_elem_bytes` long, which bounds the count by the bytes left before allocation.
    pub fn read_vec_len(&mut self, min_elem_bytes: usize) -> Result<usize, DecodeError> {
        let len = self.read_i32()?;
        if len < 0 {
            return Ok(0);
        }
        let len = len as usize;
        if len.saturating_mul(min_elem_bytes) > self.remaining() {
            return Err(DecodeError::invalid(format!(
                "vector of {len} elements cannot fit in {} bytes",
                self.remaining()
            )));
        }
        Ok(len)
    }
}

/// Appends the jute encoding of a value.
pub trait Encode {
    fn encode(&self, out: &mut Vec<u8>);

    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }
}

/// Reads a value from its jute encoding.
pub trait Decode: Sized {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes from a whole payload, ignoring trailing bytes as ZooKeeper does.
    fn from_bytes(b: &[u8]) -> Result<Self, DecodeError> {
        Self::decode(&mut Reader::new(b))
    }
}

pub fn write_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub fn write_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_i32(out, b.len() as i32);
    out.extend_from_slice(b);
}

/// A `vector<ustring>` from borrowed strings (how `Vec<String>` encodes, without owning them).
pub fn write_strings<'a>(out: &mut Vec<u8>, strings: impl ExactSizeIterator<Item = &'a str>) {
    write_i32(out, strings.len() as i32);
    for s in strings {
        write_bytes(out, s.as_bytes());
    }
}

impl Encode for i32 {
    fn encode(&self, out: &mut Vec<u8>) {
        write_i32(out, *self)
    }
}
impl Decode for i32 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_i32()
    }
}
impl Encode for i64 {
    fn encode(&self, out: &mut Vec<u8>) {
        write_i64(out, *self)
    }
}
impl Decode for i64 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_i64()
    }
}
impl Encode for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(*self as u8)
    }
}
impl Decode for bool {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_bool()
    }
}
impl Encode for String {
    fn encode(&self, out: &mut Vec<u8>) {
        write_bytes(out, self.as_bytes())
    }
}
impl Decode for String {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_string()
    }
}
impl Encode for Vec<u8> {
    fn encode(&self, out: &mut Vec<u8>) {
        write_bytes(out, self)
    }
}
impl Decode for Vec<u8> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_buffer()
    }
}
/// A nullable buffer: znode data that was created as null stays null (zkCli prints "null").
impl Encode for Option<Vec<u8>> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            None => write_i32(out, -1),
            Some(b) => write_bytes(out, b),
        }
    }
}
impl Decode for Option<Vec<u8>> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_opt_buffer()
    }
}
impl Encode for Vec<String> {
    fn encode(&self, out: &mut Vec<u8>) {
        write_strings(out, self.iter().map(String::as_str))
    }
}
impl Decode for Vec<String> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.read_vec_len(4)?;
        (0..n).map(|_| r.read_string()).collect()
    }
}

/// Declares a jute record: a struct whose fields are encoded in order.
#[macro_export]
macro_rules! record {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name { $($(#[$fm])* pub $field: $ty),* }
        impl $crate::Encode for $name {
            #[allow(unused_variables)]
            fn encode(&self, out: &mut Vec<u8>) { $($crate::Encode::encode(&self.$field, out);)* }
        }
        impl $crate::Decode for $name {
            #[allow(unused_variables)]
            fn decode(r: &mut $crate::Reader<'_>) -> Result<Self, $crate::DecodeError> {
                Ok(Self { $($field: $crate::Decode::decode(r)?),* })
            }
        }
    };
}

/// An empty record: requests with no body (ping, closeSession, whoAmI).
impl Encode for () {
    fn encode(&self, _: &mut Vec<u8>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_len(len: i32) -> Vec<u8> {
        let mut b = len.to_be_bytes().to_vec();
        b.extend_from_slice(b"abc");
        b
    }

    #[test]
    fn minus_one_length_is_null() {
        let b = with_len(-1);
        assert_eq!(Reader::new(&b).read_opt_buffer(), Ok(None));
        assert_eq!(Reader::new(&b).read_string(), Ok(String::new()));
    }

    // Regression: lengths below -1 were read as null; ZooKeeper 3.8 rejects them.
    #[test]
    fn other_negative_lengths_are_invalid() {
        for len in [-2, i32::MIN] {
            let b = with_len(len);
            assert!(matches!(
                Reader::new(&b).read_opt_buffer(),
                Err(DecodeError::Invalid(_))
            ));
            assert!(matches!(
                Reader::new(&b).read_string(),
                Err(DecodeError::Invalid(_))
            ));
        }
    }

    #[test]
    fn negative_vector_length_is_empty() {
        let b = with_len(-5);
        assert_eq!(Vec::<String>::decode(&mut Reader::new(&b)), Ok(vec![]));
    }

    #[test]
    fn length_past_the_bytes_left_is_invalid_before_allocating() {
        let b = with_len(i32::MAX);
        assert!(matches!(
            Reader::new(&b).read_buffer(),
            Err(DecodeError::Invalid(_))
        ));
    }
}
