//! Streamed zip backups. The archive is written on the blocking pool into a
//! bounded channel and sent as it is built, so memory stays constant
//! whatever the folder's size: no temp file, no archive in memory.
//! Already-compressed types, and files a quick trial finds incompressible,
//! are stored rather than deflated.
//!
//! A download holds a blocking thread while its archive is written, so a
//! server must not let downloads pile up: at most [`MAX_CONCURRENT`] are
//! written at once (more are refused at once, see [`Slots`]), and a client
//! that reads nothing for [`SEND_TIMEOUT`] ends its archive, which frees
//! the thread. Otherwise a few hundred stalled downloads would fill tokio's
//! blocking pool, where every database call also runs.
//!
//! Whoever asked for the archive learns it was made (audit row, hook) only
//! once its last byte has been handed to the connection: a download cut
//! short is no backup.

use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc::{self, error::SendTimeoutError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// Bytes sent to the client per chunk.
const CHUNK: usize = 64 * 1024;
/// Chunks buffered between the zip thread and the connection.
const CHANNEL_DEPTH: usize = 8;

/// Archives written at once, server-wide. Each one holds a blocking thread
/// and reads the disk as fast as its client takes the bytes; four keep the
/// disk and the blocking pool free for everyone else.
pub const MAX_CONCURRENT: usize = 4;
/// How long the archive waits for its client to take the next chunk
/// before it gives up (the connection is then cut).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// `Retry-After` of a refused backup, in seconds.
pub const BUSY_RETRY_AFTER_S: u64 = 30;

/// Extensions whose content is already compressed.
const STORED_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "webp", "avif", "heic", "zip", "gz", "tgz", "bz2", "xz", "7z",
    "rar", "zst", "br", "mp3", "mp4", "m4a", "m4v", "ogg", "opus", "oga", "webm", "mkv", "mov",
    "flac", "aac", "woff", "woff2", "jxl", "pdf", "docx", "xlsx", "pptx", "epub", "apk", "jar",
];

/// The places for archives being written.
///
/// A request beyond the cap is refused at once (503 with `Retry-After`)
/// rather than queued: an archive of a big folder takes minutes, so a
/// queued request would hold its connection open with nothing to show and
/// most likely hit the browser's or a proxy's timeout anyway, while a clear
/// "try again shortly" costs nothing and can be shown to the user.
#[derive(Clone)]
pub struct Slots(Arc<Semaphore>);

/// Every place is taken.
#[derive(Debug, thiserror::Error)]
#[error("Too many backups are being made right now; try again shortly")]
pub struct Busy;

/// One place, held until the archive's writer ends.
pub struct Slot {
    _permit: OwnedSemaphorePermit,
}

impl Slots {
    pub fn new(places: usize) -> Slots {
        Slots(Arc::new(Semaphore::new(places)))
    }

    /// A place now, or [`Busy`].
    pub fn take(&self) -> Result<Slot, Busy> {
        self.0
            .clone()
            .try_acquire_owned()
            .map(|permit| Slot { _permit: permit })
            .map_err(|_| Busy)
    }

    /// Places free right now.
    pub fn free(&self) -> usize {
        self.0.available_permits()
    }
}

impl Default for Slots {
    fn default() -> Slots {
        Slots::new(MAX_CONCURRENT)
    }
}

/// What goes in an archive: every file under `dir` at the archive root
/// (skipping top-level names in `skip`), plus extra files by name.
pub struct ArchivePlan {
    pub dir: PathBuf,
    pub skip: Vec<String>,
    pub extra: Vec<(PathBuf, String)>,
    /// Files removed once the archive is written (a database copy made
    /// for this archive).
    pub cleanup: Vec<PathBuf>,
    /// Entries written from memory, by archive name (a file rewritten for
    /// this archive, its original left out through `skip`).
    pub given: Vec<(String, Vec<u8>)>,
}

/// Files left out of a whole-root archive: the live database (a
/// consistent copy goes in instead) and the lock of the running server.
pub const DB_FILES: &[&str] = &[
    "innkeeper.db",
    "innkeeper.db-wal",
    "innkeeper.db-shm",
    super::root_lock::LOCK_FILE,
];

/// What the zip thread hands to the connection.
enum Msg {
    Data(Bytes),
    Failed(io::Error),
    /// The archive is whole: every byte went before this.
    Complete,
}

/// Starts writing the archive and returns its byte stream. `slot` is held
/// until the writer ends; `finish` runs once the whole archive has been
/// handed over, and the stream ends only after it ran (so a client that
/// read the whole body finds its effects, such as the audit row, done).
/// A client that goes away, or reads nothing for [`SEND_TIMEOUT`], stops
/// the writer at its next chunk, and `finish` never runs.
pub fn stream<F, Fut>(
    plan: ArchivePlan,
    slot: Slot,
    finish: F,
) -> impl Stream<Item = Result<Bytes, io::Error>> + Send + Sync + 'static
where
    F: FnOnce() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    stream_with_timeout(plan, slot, finish, SEND_TIMEOUT)
}

fn stream_with_timeout<F, Fut>(
    plan: ArchivePlan,
    slot: Slot,
    finish: F,
    send_timeout: Duration,
) -> ArchiveStream<F>
where
    F: FnOnce() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Msg>(CHANNEL_DEPTH);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let mut writer = ChannelWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
            runtime,
            send_timeout,
        };
        let result = write_archive(&plan, &mut writer).map(|_| ());
        for f in &plan.cleanup {
            let _ = std::fs::remove_file(f);
        }
        let shown = plan.dir.display();
        match result.and_then(|()| writer.deliver(Msg::Complete)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                tracing::debug!("backup of {shown} stopped: the client went away")
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => tracing::info!(
                "backup of {shown} stopped: the client read nothing for {} s",
                send_timeout.as_secs()
            ),
            Err(e) => {
                tracing::warn!("backup of {shown} failed: {e}");
                // Without waiting: when the client is not reading, the
                // body ends as incomplete anyway once this thread is gone.
                let _ = writer.tx.try_send(Msg::Failed(e));
            }
        }
    });
    ArchiveStream {
        rx,
        finish: Some(Box::new(finish)),
        finishing: None,
        ended: false,
    }
}

/// The body of a download: chunks from the zip thread, then `finish`.
struct ArchiveStream<F> {
    rx: mpsc::Receiver<Msg>,
    finish: Option<Box<F>>,
    finishing: Option<tokio::task::JoinHandle<()>>,
    ended: bool,
}

impl<F, Fut> Stream for ArchiveStream<F>
where
    F: FnOnce() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    type Item = Result<Bytes, io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        // At most two turns: a `Complete` starts `finish`, which is then polled.
        for _ in 0..2 {
            if let Some(task) = this.finishing.as_mut() {
                return match Pin::new(task).poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(_) => {
                        this.finishing = None;
                        this.ended = true;
                        Poll::Ready(None)
                    }
                };
            }
            if this.ended {
                return Poll::Ready(None);
            }
            match this.rx.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Msg::Data(chunk))) => return Poll::Ready(Some(Ok(chunk))),
                Poll::Ready(Some(Msg::Failed(e))) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Some(Msg::Complete)) => match this.finish.take() {
                    // Spawned, so it completes even if the client leaves now.
                    Some(finish) => this.finishing = Some(tokio::spawn(finish())),
                    None => this.ended = true,
                },
                // The writer stopped without finishing: the body must not
                // end as if it were whole.
                Poll::Ready(None) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(io::Error::other(
                        "the archive stopped before it was complete",
                    ))));
                }
            }
        }
        Poll::Ready(None)
    }
}

/// Writes the whole archive into `out` (also used by the console backup).
pub fn write_archive<W: Write>(plan: &ArchivePlan, out: W) -> io::Result<W> {
    let mut zip = ZipWriter::new_stream(out);
    let mut files = Vec::new();
    collect(&plan.dir, &plan.dir, &plan.skip, &mut files)?;
    for (path, name) in files
        .iter()
        .map(|(p, n)| (p.clone(), n.clone()))
        .chain(plan.extra.iter().cloned())
    {
        add_file(&mut zip, &path, &name)?;
    }
    for (name, bytes) in &plan.given {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(1))
            .unix_permissions(0o644);
        zip.start_file(name.as_str(), options).map_err(zip_io)?;
        zip.write_all(bytes)?;
    }
    let stream_writer = zip.finish().map_err(zip_io)?;
    let mut inner = stream_writer.into_inner();
    inner.flush()?;
    Ok(inner)
}

/// The writer's own error back out of the zip crate's wrapping, so a client
/// gone or stalled is told apart from a real failure.
fn zip_io(e: zip::result::ZipError) -> io::Error {
    match e {
        zip::result::ZipError::Io(e) => e,
        other => io::Error::other(other),
    }
}

/// Lists files under `dir` with their archive names ("a/b.json"),
/// sorted for a stable archive. Symlinks are skipped, not followed. A
/// subfolder removed or unreadable meanwhile is left out with a warning;
/// only the top folder must be readable.
fn collect(
    base: &Path,
    dir: &Path,
    skip: &[String],
    out: &mut Vec<(PathBuf, String)>,
) -> io::Result<()> {
    let listing = std::fs::read_dir(dir).and_then(|r| r.collect::<Result<Vec<_>, _>>());
    let mut entries = match listing {
        Ok(entries) => entries,
        Err(e) if dir == base => return Err(e),
        Err(e) => {
            tracing::warn!("backup: left {} out: {e}", dir.display());
            return Ok(());
        }
    };
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Unfinished atomic writes are never part of a backup.
        if name.starts_with(super::atomic::TEMP_PREFIX)
            || (dir == base && skip.iter().any(|s| name == *s))
        {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect(base, &path, skip, out)?;
        } else if kind.is_file() {
            let rel = path.strip_prefix(base).map_err(io::Error::other)?;
            let name = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((path, name));
        }
    }
    Ok(())
}

/// Opens a plain file for reading without following a link in its last
/// component, and without blocking on a FIFO put in its place.
fn open_plain(path: &Path) -> io::Result<(File, std::fs::Metadata)> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other("no longer a plain file"));
    }
    Ok((file, meta))
}

/// Adds one file as it is now. Users (and their hosted SillyTavern) keep
/// writing while their backup is made, so the file may change under the
/// reader: the entry holds at most the length the file had when opened
/// (what it grew by afterwards waits for the next backup), fewer bytes if
/// it shrank, and a read error ends the entry early. A file gone, or no
/// longer a plain file, is left out. Each case is logged; none stops the
/// archive. Only a failure to write the archive itself does.
fn add_file<W: Write>(
    zip: &mut ZipWriter<zip::write::StreamWriter<W>>,
    path: &Path,
    name: &str,
) -> io::Result<()> {
    let (mut file, meta) = match open_plain(path) {
        Ok(opened) => opened,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            tracing::debug!("backup: {name} was removed before it was read");
            return Ok(());
        }
        Err(e) => {
            tracing::warn!("backup: left {name} out: {e}");
            return Ok(());
        }
    };
    let length = meta.len();
    let mut head = Vec::with_capacity(CHUNK.min(length as usize));
    let head_wanted = (CHUNK as u64).min(length);
    let mut short = false;
    if let Err(e) = (&mut file).take(head_wanted).read_to_end(&mut head) {
        tracing::warn!("backup: {name} could not be read whole: {e}");
        short = true;
    }
    let method = if should_store(name, &head) {
        CompressionMethod::Stored
    } else {
        CompressionMethod::Deflated
    };
    let mut options = SimpleFileOptions::default()
        .compression_method(method)
        .large_file(length >= u32::MAX as u64)
        .unix_permissions(0o644);
    if method == CompressionMethod::Deflated {
        options = options.compression_level(Some(1));
    }
    if let Some(t) = meta.modified().ok().and_then(zip_time) {
        options = options.last_modified_time(t);
    }
    zip.start_file(name, options).map_err(zip_io)?;
    zip.write_all(&head)?;
    if short || (head.len() as u64) < head_wanted {
        return Ok(());
    }
    let mut left = length - head.len() as u64;
    let mut buf = vec![0u8; CHUNK];
    // Every turn either shortens `left` or ends the loop.
    while left > 0 {
        let want = (CHUNK as u64).min(left) as usize;
        let n = match file.read(&mut buf[..want]) {
            Ok(0) => {
                tracing::debug!("backup: {name} shrank while it was read");
                break;
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::warn!("backup: {name} could not be read whole: {e}");
                break;
            }
        };
        zip.write_all(&buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Stored when the type is already compressed, or when deflating the first
/// chunk saves less than 5%.
fn should_store(name: &str, head: &[u8]) -> bool {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    if ext.is_some_and(|e| STORED_EXTENSIONS.contains(&e.as_str())) {
        return true;
    }
    if head.len() < 4096 {
        return false;
    }
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    if enc.write_all(head).is_err() {
        return false;
    }
    match enc.finish() {
        Ok(out) => out.len() * 100 >= head.len() * 95,
        Err(_) => false,
    }
}

fn zip_time(t: std::time::SystemTime) -> Option<zip::DateTime> {
    use chrono::{Datelike, Timelike};
    let local: chrono::DateTime<chrono::Local> = t.into();
    zip::DateTime::from_date_and_time(
        u16::try_from(local.year()).ok()?,
        local.month() as u8,
        local.day() as u8,
        local.hour() as u8,
        local.minute() as u8,
        local.second() as u8,
    )
    .ok()
}

/// A `Write` that sends full chunks down a channel, blocking when the
/// client is slower than the disk (back-pressure keeps memory flat), but
/// for at most `send_timeout` per chunk.
struct ChannelWriter {
    tx: mpsc::Sender<Msg>,
    buf: Vec<u8>,
    runtime: tokio::runtime::Handle,
    send_timeout: Duration,
}

impl ChannelWriter {
    /// Hands `msg` over: BrokenPipe when the client went away, TimedOut
    /// when it took nothing for `send_timeout`.
    fn deliver(&mut self, msg: Msg) -> io::Result<()> {
        // This runs on a blocking-pool thread, outside any async context,
        // where waiting on the runtime is allowed.
        match self
            .runtime
            .block_on(self.tx.send_timeout(msg, self.send_timeout))
        {
            Ok(()) => Ok(()),
            Err(SendTimeoutError::Closed(_)) => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "client went away",
            )),
            Err(SendTimeoutError::Timeout(_)) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "client stopped reading",
            )),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.deliver(Msg::Data(chunk))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_holds_every_file_and_stores_compressed_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/c.json"), "{}".repeat(5000)).unwrap();
        std::fs::write(dir.path().join("pic.png"), vec![7u8; 10000]).unwrap();
        let noise: Vec<u8> = (0..100_000).map(|_| rand::random::<u8>()).collect();
        std::fs::write(dir.path().join("noise.bin"), &noise).unwrap();
        std::fs::write(dir.path().join("skip.db"), "x").unwrap();
        let plan = ArchivePlan {
            dir: dir.path().to_path_buf(),
            skip: vec!["skip.db".into()],
            extra: vec![],
            cleanup: vec![],
            given: vec![],
        };
        let bytes = write_archive(&plan, Vec::new()).unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut names: Vec<String> = (0..zip.len())
            .map(|i| zip.by_index(i).unwrap().name().unwrap().to_string())
            .collect();
        names.sort();
        assert_eq!(names, vec!["a/b/c.json", "noise.bin", "pic.png"]);
        assert_eq!(
            zip.by_name("pic.png").unwrap().compression(),
            CompressionMethod::Stored
        );
        assert_eq!(
            zip.by_name("noise.bin").unwrap().compression(),
            CompressionMethod::Stored
        );
        assert_eq!(
            zip.by_name("a/b/c.json").unwrap().compression(),
            CompressionMethod::Deflated
        );
        let mut text = String::new();
        zip.by_name("a/b/c.json")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "{}".repeat(5000));
    }

    /// Bytes that do not compress (so every entry is stored and its
    /// offsets in the archive are easy to reason about).
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// A change to make once the archive contains a marker.
    type Action = (&'static [u8], Box<dyn FnMut()>);

    /// An archive sink that changes the folder at chosen moments: when the
    /// archive first contains `marker` (an entry's name, written in its
    /// header after the file was opened), the action runs.
    struct Meddler {
        out: Vec<u8>,
        actions: Vec<Action>,
    }

    impl Write for Meddler {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.out.extend_from_slice(data);
            let out = &self.out;
            self.actions.retain_mut(|(marker, action)| {
                if out.windows(marker.len()).any(|w| w == *marker) {
                    action();
                    false
                } else {
                    true
                }
            });
            Ok(data.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn files_changing_while_zipped_leave_a_valid_archive() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let a = noise(300_000, 1);
        let b = noise(200_000, 2);
        let e = noise(300_000, 3);
        let f = noise(200_000, 4);
        for (name, data) in [("a.bin", &a), ("b.bin", &b), ("e.bin", &e), ("f.bin", &f)] {
            std::fs::write(root.join(name), data).unwrap();
        }
        std::fs::write(root.join("c.bin"), "soon gone").unwrap();
        std::fs::write(root.join("d.bin"), "soon a folder").unwrap();
        let plan = ArchivePlan {
            dir: root.clone(),
            skip: vec![],
            extra: vec![],
            cleanup: vec![],
            given: vec![],
        };
        let r = root.clone();
        let while_a = move || {
            // Planned, not yet written: b shrinks, c vanishes, d becomes a
            // folder.
            let file = OpenOptions::new()
                .write(true)
                .open(r.join("b.bin"))
                .unwrap();
            file.set_len(1000).unwrap();
            std::fs::remove_file(r.join("c.bin")).unwrap();
            std::fs::remove_file(r.join("d.bin")).unwrap();
            std::fs::create_dir(r.join("d.bin")).unwrap();
        };
        let r = root.clone();
        let while_e = move || {
            // Opened and partly read: e shrinks under the reader.
            let file = OpenOptions::new()
                .write(true)
                .open(r.join("e.bin"))
                .unwrap();
            file.set_len(100_000).unwrap();
        };
        let r = root.clone();
        let while_f = move || {
            // Opened and partly read: f grows under the reader.
            let mut file = OpenOptions::new()
                .append(true)
                .open(r.join("f.bin"))
                .unwrap();
            file.write_all(&noise(500_000, 5)).unwrap();
        };
        let sink = Meddler {
            out: Vec::new(),
            actions: vec![
                (&b"a.bin"[..], Box::new(while_a) as Box<dyn FnMut()>),
                (&b"e.bin"[..], Box::new(while_e)),
                (&b"f.bin"[..], Box::new(while_f)),
            ],
        };
        let sink = write_archive(&plan, sink).expect("the archive is written");
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(sink.out)).expect("a valid zip");
        let mut got = std::collections::BTreeMap::new();
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            // Reading to the end checks each entry's CRC.
            entry.read_to_end(&mut data).expect("entry reads whole");
            got.insert(entry.name().unwrap().to_string(), data);
        }
        let names: Vec<_> = got.keys().cloned().collect();
        assert_eq!(names, ["a.bin", "b.bin", "e.bin", "f.bin"]);
        // (Compared with assert!, not assert_eq!: no dump of megabytes.)
        assert!(got["a.bin"] == a, "untouched files are complete");
        assert!(got["b.bin"] == b[..1000], "what the file held when read");
        assert!(got["e.bin"] == e[..100_000], "what could be read");
        assert!(
            got["f.bin"] == f,
            "the length it had when opened, not {}",
            got["f.bin"].len()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_that_stops_reading_frees_the_slot() {
        let dir = tempfile::tempdir().unwrap();
        // More than the channel holds, so the writer has to wait.
        std::fs::write(dir.path().join("big.png"), noise(4 << 20, 6)).unwrap();
        let slots = Slots::new(1);
        let slot = slots.take().unwrap();
        assert!(slots.take().is_err(), "one place only");
        let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = finished.clone();
        let plan = ArchivePlan {
            dir: dir.path().to_path_buf(),
            skip: vec![],
            extra: vec![],
            cleanup: vec![],
            given: vec![],
        };
        let body = stream_with_timeout(
            plan,
            slot,
            move || async move { flag.store(true, std::sync::atomic::Ordering::SeqCst) },
            Duration::from_millis(200),
        );
        // The body is kept but never read: the writer gives up and the
        // place comes back (bounded wait, far beyond the timeout).
        let mut freed = false;
        for _ in 0..300 {
            if slots.free() == 1 {
                freed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(freed, "the stalled writer still holds its place");
        drop(body);
        assert!(!finished.load(std::sync::atomic::Ordering::SeqCst));
    }
}
