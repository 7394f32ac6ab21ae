//! Streamed zip backups. The archive is written on the blocking pool into a
//! bounded channel and sent as it is built, so memory stays constant
//! whatever the folder's size: no temp file, no archive in memory.
//! Already-compressed types, and files a quick trial finds incompressible,
//! are stored rather than deflated.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// Bytes sent to the client per chunk.
const CHUNK: usize = 64 * 1024;
/// Chunks buffered between the zip thread and the connection.
const CHANNEL_DEPTH: usize = 8;

/// Extensions whose content is already compressed.
const STORED_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "webp", "avif", "heic", "zip", "gz", "tgz", "bz2", "xz", "7z",
    "rar", "zst", "br", "mp3", "mp4", "m4a", "m4v", "ogg", "opus", "oga", "webm", "mkv", "mov",
    "flac", "aac", "woff", "woff2", "jxl", "pdf", "docx", "xlsx", "pptx", "epub", "apk", "jar",
];

/// What goes in an archive: every file under `dir` at the archive root
/// (skipping top-level names in `skip`), plus extra files by name.
pub struct ArchivePlan {
    pub dir: PathBuf,
    pub skip: Vec<String>,
    pub extra: Vec<(PathBuf, String)>,
    /// Files removed once the archive is written (a database copy made
    /// for this archive).
    pub cleanup: Vec<PathBuf>,
}

/// Files left out of a whole-root archive: the live database (a
/// consistent copy goes in instead) and the lock of the running server.
pub const DB_FILES: &[&str] = &[
    "innkeeper.db",
    "innkeeper.db-wal",
    "innkeeper.db-shm",
    super::root_lock::LOCK_FILE,
];

/// Starts writing the archive and returns its byte stream. A client that
/// goes away stops the writer at its next chunk.
pub fn stream(
    plan: ArchivePlan,
) -> impl Stream<Item = Result<Bytes, io::Error>> + Send + Sync + 'static {
    let (tx, rx) = mpsc::channel::<Result<Bytes, io::Error>>(CHANNEL_DEPTH);
    tokio::task::spawn_blocking(move || {
        let writer = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let result = write_archive(&plan, writer);
        for f in &plan.cleanup {
            let _ = std::fs::remove_file(f);
        }
        if let Err(e) = result {
            if e.kind() != io::ErrorKind::BrokenPipe {
                tracing::warn!("backup of {} failed: {e}", plan.dir.display());
                let _ = tx.blocking_send(Err(e));
            }
        }
    });
    crate::http::reply::channel_stream(rx)
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
    let stream_writer = zip.finish().map_err(io::Error::other)?;
    let mut inner = stream_writer.into_inner();
    inner.flush()?;
    Ok(inner)
}

/// Lists files under `dir` with their archive names ("a/b.json"),
/// sorted for a stable archive. Symlinks are skipped, not followed.
fn collect(
    base: &Path,
    dir: &Path,
    skip: &[String],
    out: &mut Vec<(PathBuf, String)>,
) -> io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
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
        let kind = entry.file_type()?;
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

fn add_file<W: Write>(
    zip: &mut ZipWriter<zip::write::StreamWriter<W>>,
    path: &Path,
    name: &str,
) -> io::Result<()> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        // A file removed while the archive is built is simply not in it.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    let mut head = vec![0u8; CHUNK.min(meta.len() as usize)];
    file.read_exact(&mut head)?;
    let method = if should_store(name, &head) {
        CompressionMethod::Stored
    } else {
        CompressionMethod::Deflated
    };
    let mut options = SimpleFileOptions::default()
        .compression_method(method)
        .large_file(meta.len() >= u32::MAX as u64)
        .unix_permissions(0o644);
    if method == CompressionMethod::Deflated {
        options = options.compression_level(Some(1));
    }
    if let Some(t) = meta.modified().ok().and_then(zip_time) {
        options = options.last_modified_time(t);
    }
    zip.start_file(name, options).map_err(io::Error::other)?;
    zip.write_all(&head)?;
    io::copy(&mut file, zip)?;
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
/// client is slower than the disk (back-pressure keeps memory flat).
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
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
}
