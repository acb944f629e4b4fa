//! A snapshot file written around the page cache (`O_DIRECT`), where the file system allows.
//!
//! Why: a snapshot of a big tree is hundreds of MB written every `snapCount` txns. Through the
//! page cache each byte is copied into a freshly allocated cache page, flushed by the fsync,
//! and the pages freed again when the file is purged; on two cores that kernel work (`write`
//! 11% of the server's samples under `set 64x16` over 1.7M znodes, unlink 2%, fsync 1.6%)
//! competes with the requests. Written direct, the device reads the bytes from one aligned
//! buffer. Where `O_DIRECT` is refused (tmpfs, some network file systems) the file is written
//! as before, through the cache.
//!
//! The last partial block cannot be written direct (a direct write's length must be a multiple
//! of the block size), so it is written through the cache after clearing `O_DIRECT`, and
//! `finish` fsyncs the whole file either way.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// Alignment of a direct write's buffer, offset and length: the largest logical block size in
/// common use (a multiple of every smaller one).
const BLOCK: usize = 4096;

/// Bytes gathered before one direct write: large enough that the per-write cost is nothing.
const DIRECT_WRITE_BYTES: usize = 4 << 20;

/// A new file being filled, direct while the file system lets it be.
pub(super) struct SnapshotFileWriter {
    file: File,
    /// `Some` if the file was opened direct: the bytes not yet written, in an aligned buffer
    /// whose whole blocks go out in one write each.
    pending: Option<AlignedBuf>,
    /// Whether the descriptor has `O_DIRECT` set.
    direct: bool,
}

impl SnapshotFileWriter {
    /// Creates (or truncates) `path`, direct if the file system accepts it.
    pub(super) fn create(path: &Path) -> io::Result<SnapshotFileWriter> {
        match open_direct(path) {
            Ok(file) => Ok(SnapshotFileWriter {
                file,
                pending: Some(AlignedBuf::new(DIRECT_WRITE_BYTES)),
                direct: true,
            }),
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => Ok(SnapshotFileWriter {
                file: File::create(path)?,
                pending: None,
                direct: false,
            }),
            Err(e) => Err(e),
        }
    }

    /// Writes what is still buffered and makes the file durable.
    pub(super) fn finish(mut self) -> io::Result<()> {
        if let Some(buf) = self.pending.take() {
            let whole = buf.len / BLOCK * BLOCK;
            self.write_blocks(&buf.bytes()[..whole])?;
            self.leave_direct()?;
            self.file.write_all(&buf.bytes()[whole..])?;
        }
        self.file.sync_all()
    }

    /// Writes whole blocks, direct unless the file system refuses it after all (`EINVAL`, as
    /// it may for a write it cannot do direct): then the rest goes through the cache. A short
    /// write is continued from where it stopped, whatever the alignment of the rest.
    fn write_blocks(&mut self, blocks: &[u8]) -> io::Result<()> {
        let mut rest = blocks;
        while !rest.is_empty() {
            match self.file.write(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::InvalidInput && self.direct => {
                    self.leave_direct()?
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn leave_direct(&mut self) -> io::Result<()> {
        if !self.direct {
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
            let flags = fcntl_getfl(&self.file)?;
            fcntl_setfl(&self.file, flags - OFlags::DIRECT)?;
        }
        self.direct = false;
        Ok(())
    }
}

impl Write for SnapshotFileWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let Some(buf) = self.pending.as_mut() else {
            return self.file.write(bytes);
        };
        let n = buf.push(bytes);
        if buf.is_full() {
            let full = self.pending.take().expect("checked above");
            let written = self.write_blocks(full.bytes());
            self.pending = Some(full.emptied());
            written?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(()) // `finish` writes the rest; a partial block cannot go direct before the end
    }
}

#[cfg(target_os = "linux")]
fn open_direct(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(rustix::fs::OFlags::DIRECT.bits() as i32)
        .open(path)
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_path: &Path) -> io::Result<File> {
    Err(io::ErrorKind::InvalidInput.into())
}

/// A fixed-size buffer starting on a `BLOCK` boundary, carved out of a slightly larger
/// vector (no allocator tricks needed).
struct AlignedBuf {
    storage: Vec<u8>,
    start: usize,
    capacity: usize,
    len: usize,
}

impl AlignedBuf {
    fn new(capacity: usize) -> AlignedBuf {
        let storage = vec![0u8; capacity + BLOCK];
        let start = storage.as_ptr().align_offset(BLOCK);
        AlignedBuf {
            storage,
            start,
            capacity,
            len: 0,
        }
    }

    /// Appends as much of `bytes` as fits; returns how much.
    fn push(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.capacity - self.len);
        let at = self.start + self.len;
        self.storage[at..at + n].copy_from_slice(&bytes[..n]);
        self.len += n;
        n
    }

    fn is_full(&self) -> bool {
        self.len == self.capacity
    }

    fn bytes(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }

    fn emptied(mut self) -> AlignedBuf {
        self.len = 0;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// Bytes that differ from block to block and within one, so a block written twice, out
    /// of place or lost shows.
    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 4096) as u8).collect()
    }

    fn scratch(dir: PathBuf, name: &str) -> PathBuf {
        dir.join(format!("corral-direct-{}-{name}", std::process::id()))
    }

    /// Writes `data` in pieces of odd sizes (some larger than the direct buffer), calling
    /// `midway` after the first piece past the buffer's size, and reads the file back.
    fn write_and_read(path: &Path, data: &[u8], midway: impl FnOnce(&mut SnapshotFileWriter)) {
        let mut w = SnapshotFileWriter::create(path).unwrap();
        let mut midway = Some(midway);
        let mut at = 0;
        for size in [1, 4095, 4097, 300_000, DIRECT_WRITE_BYTES + 3]
            .iter()
            .cycle()
        {
            let end = (at + size).min(data.len());
            w.write_all(&data[at..end]).unwrap();
            at = end;
            if at > DIRECT_WRITE_BYTES {
                if let Some(f) = midway.take() {
                    f(&mut w);
                }
            }
            if at == data.len() {
                break;
            }
        }
        w.finish().unwrap();
        let back = std::fs::read(path).unwrap();
        std::fs::remove_file(path).unwrap();
        assert_eq!(back.len(), data.len());
        assert!(back == data, "{} read back different", path.display());
    }

    #[test]
    fn a_file_longer_than_the_buffer_and_not_whole_blocks_reads_back_as_written() {
        let data = pattern(2 * DIRECT_WRITE_BYTES + 12_345);
        write_and_read(&scratch(std::env::temp_dir(), "long"), &data, |_| {});
    }

    #[test]
    fn a_file_shorter_than_one_block_reads_back_as_written() {
        let data = pattern(100);
        let path = scratch(std::env::temp_dir(), "short");
        let mut w = SnapshotFileWriter::create(&path).unwrap();
        w.write_all(&data).unwrap();
        w.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), data);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_write_refused_direct_midway_goes_on_through_the_cache() {
        let data = pattern(3 * DIRECT_WRITE_BYTES + 5);
        let path = scratch(std::env::temp_dir(), "midway");
        write_and_read(&path, &data, |w| w.leave_direct().unwrap());
    }

    /// tmpfs refuses `O_DIRECT` on older kernels; whatever this one does, the file is right.
    #[test]
    fn a_file_on_tmpfs_reads_back_as_written() {
        let shm = PathBuf::from("/dev/shm");
        if !shm.is_dir() {
            return; // no tmpfs here to try
        }
        let data = pattern(DIRECT_WRITE_BYTES + 777);
        write_and_read(&scratch(shm, "tmpfs"), &data, |_| {});
    }
}
