//! Snapshot files written and read around the page cache (`O_DIRECT`), where the file system
//! allows.
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
//!
//! Reading a snapshot at start (or after one is installed from a leader) is direct too: a
//! file written direct is not in the cache anyway, and filling fresh cache pages costs about
//! what writing them did. A thread reads 4 MiB blocks ahead while the caller decodes, so the
//! device's time overlaps the decoding.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Alignment of a direct write's buffer, offset and length: the largest logical block size in
/// common use (a multiple of every smaller one).
const BLOCK: usize = 4096;

/// Bytes gathered before one direct write, and read in one block: large enough that the cost
/// per call is nothing.
const DIRECT_WRITE_BYTES: usize = 4 << 20;

/// Blocks read ahead of the one being decoded.
const BLOCKS_AHEAD: usize = 2;

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
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        match open_direct(path, &mut options) {
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
        if self.direct {
            clear_direct(&self.file)?;
            self.direct = false;
        }
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

/// A snapshot file being read, direct where the file system allows, a thread reading blocks
/// ahead; plainly, through the cache, if no thread can be started (a process or cgroup
/// limit), rather than fail a read that would otherwise succeed.
pub(super) enum SnapshotFileReader {
    Ahead(ReadAhead),
    Plain(File),
}

/// The reading side of the read-ahead thread. Dropping it stops the thread (its next
/// hand-over fails).
pub(super) struct ReadAhead {
    filled: Receiver<io::Result<AlignedBuf>>,
    recycle: SyncSender<AlignedBuf>,
    current: Option<AlignedBuf>,
    /// Bytes of `current` already read.
    at: usize,
}

impl SnapshotFileReader {
    /// Opens `path` and starts reading it; returns the reader and the file's length.
    pub(super) fn open(path: &Path) -> io::Result<(SnapshotFileReader, u64)> {
        let (file, direct) = match open_direct(path, std::fs::OpenOptions::new().read(true)) {
            Ok(file) => (file, true),
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => (File::open(path)?, false),
            Err(e) => return Err(e),
        };
        let len = file.metadata()?.len();
        let (hand_over, filled) = sync_channel(BLOCKS_AHEAD);
        // Room for every buffer there is, so handing one back never blocks.
        let (recycle, recycled) = sync_channel(BLOCKS_AHEAD + 2);
        let spawned = std::thread::Builder::new()
            .name("snapshot-read".into())
            .spawn(move || read_ahead(file, direct, hand_over, recycled));
        let reader = match spawned {
            Ok(_) => SnapshotFileReader::Ahead(ReadAhead {
                filled,
                recycle,
                current: None,
                at: 0,
            }),
            Err(_) => SnapshotFileReader::Plain(File::open(path)?),
        };
        Ok((reader, len))
    }
}

impl Read for SnapshotFileReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self {
            SnapshotFileReader::Ahead(ahead) => ahead.read(out),
            SnapshotFileReader::Plain(file) => file.read(out),
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(block) = &self.current {
                let unread = &block.bytes()[self.at..];
                if !unread.is_empty() {
                    let n = unread.len().min(out.len());
                    out[..n].copy_from_slice(&unread[..n]);
                    self.at += n;
                    return Ok(n);
                }
            }
            if let Some(done) = self.current.take() {
                let _ = self.recycle.try_send(done);
            }
            match self.filled.recv() {
                Ok(Ok(block)) if block.len == 0 => return Ok(0),
                Ok(Ok(block)) => {
                    self.current = Some(block);
                    self.at = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0), // the thread is done: the end was handed over already
            }
        }
    }
}

/// The read-ahead thread: fills blocks in file order and hands them over, an empty one at the
/// end, until the end, an error, or the reader is dropped.
fn read_ahead(
    mut file: File,
    mut direct: bool,
    hand_over: SyncSender<io::Result<AlignedBuf>>,
    recycled: Receiver<AlignedBuf>,
) {
    let mut made = 0;
    loop {
        let block = match recycled.try_recv() {
            Ok(block) => block,
            Err(_) if made < BLOCKS_AHEAD + 2 => {
                made += 1;
                AlignedBuf::new(DIRECT_WRITE_BYTES)
            }
            Err(_) => match recycled.recv() {
                Ok(block) => block,
                Err(_) => return,
            },
        };
        let filled = fill_block(&mut file, &mut direct, block.emptied());
        let last = !matches!(&filled, Ok(block) if block.is_full());
        if hand_over.send(filled).is_err() || last {
            return;
        }
    }
}

/// Reads into `block` until it is full or the file ends. A read the file system refuses
/// direct (`EINVAL`: say a short read left the offset unaligned) is retried through the cache.
fn fill_block(file: &mut File, direct: &mut bool, mut block: AlignedBuf) -> io::Result<AlignedBuf> {
    while !block.is_full() {
        match file.read(block.spare()) {
            Ok(0) => break,
            Ok(n) => block.len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::InvalidInput && *direct => {
                clear_direct(file)?;
                *direct = false;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(block)
}

/// Opens `path` with `options` and `O_DIRECT`; `InvalidInput` where the file system (or the
/// platform) has no direct I/O.
#[cfg(target_os = "linux")]
fn open_direct(path: &Path, options: &mut std::fs::OpenOptions) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    options
        .custom_flags(rustix::fs::OFlags::DIRECT.bits() as i32)
        .open(path)
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_path: &Path, _options: &mut std::fs::OpenOptions) -> io::Result<File> {
    Err(io::ErrorKind::InvalidInput.into())
}

/// Clears `O_DIRECT` on an open file: what follows goes through the cache.
fn clear_direct(file: &File) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
        let flags = fcntl_getfl(file)?;
        fcntl_setfl(file, flags - OFlags::DIRECT)?;
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
    Ok(())
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

    /// The room after the bytes held.
    fn spare(&mut self) -> &mut [u8] {
        &mut self.storage[self.start + self.len..self.start + self.capacity]
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
        assert!(
            std::fs::read(path).unwrap() == data,
            "{} differs",
            path.display()
        );
        assert!(
            read_back(path) == data,
            "{} read back different",
            path.display()
        );
        std::fs::remove_file(path).unwrap();
    }

    /// The file as `SnapshotFileReader` reads it, in reads of odd sizes.
    fn read_back(path: &Path) -> Vec<u8> {
        let (mut r, len) = SnapshotFileReader::open(path).unwrap();
        let mut back = Vec::new();
        let mut piece = vec![0u8; 300_007];
        for _ in 0..100_000 {
            match r.read(&mut piece).unwrap() {
                0 => break,
                n => back.extend_from_slice(&piece[..n]),
            }
        }
        assert_eq!(back.len() as u64, len);
        back
    }

    #[test]
    fn a_file_of_whole_buffers_reads_back_to_its_end() {
        let data = pattern(2 * DIRECT_WRITE_BYTES);
        write_and_read(&scratch(std::env::temp_dir(), "whole"), &data, |_| {});
    }

    #[test]
    fn a_reader_dropped_halfway_stops_its_thread_and_the_file_can_go() {
        let data = pattern(4 * DIRECT_WRITE_BYTES);
        let path = scratch(std::env::temp_dir(), "dropped");
        std::fs::write(&path, &data).unwrap();
        let (mut r, _) = SnapshotFileReader::open(&path).unwrap();
        let mut first = vec![0u8; 1000];
        r.read_exact(&mut first).unwrap();
        assert_eq!(first, data[..1000]);
        drop(r);
        std::fs::remove_file(&path).unwrap();
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
        assert_eq!(read_back(&path), data);
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
