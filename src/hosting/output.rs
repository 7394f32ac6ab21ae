//! What a user's process prints: appended to `dataRoot/.app/<handle>.log`
//! without colour codes, capped in size (at the cap the file becomes
//! `<handle>.log.1` and a new one starts, so at most two caps are kept),
//! and its last lines kept in memory for error messages.

use std::collections::VecDeque;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use super::view_root::rotated;

/// Bytes one log file may reach before it is rotated.
pub const LOG_CAP: u64 = 1024 * 1024;
/// Lines kept in memory for error messages.
const TAIL_LINES: usize = 40;
/// A single line longer than this is cut (a process printing a huge
/// blob must not fill memory or the log in one go).
const MAX_LINE: usize = 4096;

/// The log of one process run.
pub struct Output {
    inner: Mutex<Inner>,
}

struct Inner {
    path: PathBuf,
    file: Option<std::fs::File>,
    written: u64,
    tail: VecDeque<String>,
}

impl Output {
    /// Opens (appending to) the log at `path`.
    pub fn open(path: &Path) -> Arc<Output> {
        let file = open_append(path);
        let written = file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map_or(0, |m| m.len());
        Arc::new(Output {
            inner: Mutex::new(Inner {
                path: path.to_path_buf(),
                file,
                written,
                tail: VecDeque::new(),
            }),
        })
    }

    /// Appends one line (colour codes removed, a time stamp in front).
    pub fn line(&self, raw: &str) {
        let mut text = strip_ansi(raw);
        if text.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        let stamp = chrono::Local::now().format("%Y-%m-%d %H:%M:%S");
        let record = format!("{stamp} {text}\n");
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.written + record.len() as u64 > LOG_CAP {
            inner.rotate();
        }
        if let Some(f) = inner.file.as_mut() {
            if f.write_all(record.as_bytes()).is_ok() {
                inner.written += record.len() as u64;
            }
        }
        if inner.tail.len() == TAIL_LINES {
            inner.tail.pop_front();
        }
        inner.tail.push_back(text);
    }

    /// The last `n` lines printed in this run.
    pub fn tail(&self, n: usize) -> Vec<String> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let skip = inner.tail.len().saturating_sub(n);
        inner.tail.iter().skip(skip).cloned().collect()
    }

    /// True when a line of this run contains `needle`.
    pub fn saw(&self, needle: &str) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.tail.iter().any(|l| l.contains(needle))
    }
}

impl Inner {
    fn rotate(&mut self) {
        self.file = None;
        if let Err(e) = std::fs::rename(&self.path, rotated(&self.path)) {
            tracing::warn!("cannot rotate {}: {e}", self.path.display());
        }
        self.file = open_append(&self.path);
        self.written = 0;
    }
}

fn open_append(path: &Path) -> Option<std::fs::File> {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        Ok(f) => Some(f),
        Err(e) => {
            tracing::warn!("cannot write the app log {}: {e}", path.display());
            None
        }
    }
}

/// Copies a child's stdout or stderr into `out`, line by line, until the
/// stream ends.
pub fn pump(stream: impl AsyncRead + Unpin + Send + 'static, out: Arc<Output>) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buf);
                    let text = text.trim_end_matches(['\n', '\r']);
                    if !text.trim().is_empty() {
                        out.line(text);
                    }
                }
            }
        }
    });
}

/// The last `n` lines of a log file (and of the rotated one before it when
/// the current one is short), for the admin panel and the console.
pub fn read_tail(log: &Path, n: usize) -> io::Result<Vec<String>> {
    let mut lines = tail_of_file(log, n)?;
    if lines.len() < n {
        let mut older = tail_of_file(&rotated(log), n - lines.len()).unwrap_or_default();
        older.append(&mut lines);
        lines = older;
    }
    Ok(lines)
}

fn tail_of_file(path: &Path, n: usize) -> io::Result<Vec<String>> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    // Lines are cut at MAX_LINE, so this window holds the last n lines.
    let window = ((n as u64) * (MAX_LINE as u64 + 32)).min(len);
    file.seek(io::SeekFrom::Start(len - window))?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if window < len && !lines.is_empty() {
        lines.remove(0); // probably cut in the middle
    }
    let skip = lines.len().saturating_sub(n);
    Ok(lines.split_off(skip))
}

/// Removes terminal escape sequences (colours, window titles).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            if !c.is_control() || c == '\t' {
                out.push(c);
            }
            continue;
        }
        match chars.next() {
            // CSI: parameters, then one final byte in @..~
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            // OSC: up to BEL or ESC \
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == '\u{1b}' {
                        chars.next_if_eq(&'\\');
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_and_titles_go() {
        assert_eq!(
            strip_ansi("\u{1b}]2;SillyTavern WebServer\u{1b}\\SillyTavern is listening on\u{1b}[32m IPv4: 127.0.0.1:8000\u{1b}[39m"),
            "SillyTavern is listening on IPv4: 127.0.0.1:8000"
        );
        assert_eq!(strip_ansi("a\u{7}b\u{1b}[1;31mc"), "abc");
    }

    #[test]
    fn the_log_is_capped_and_its_tail_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("bob.log");
        let out = Output::open(&log);
        let line = "x".repeat(1000);
        for i in 0..3000 {
            out.line(&format!("{i} {line}"));
        }
        let size = std::fs::metadata(&log).unwrap().len();
        let old = std::fs::metadata(rotated(&log)).unwrap().len();
        assert!(size <= LOG_CAP && old <= LOG_CAP, "{size} {old}");
        let tail = read_tail(&log, 3).unwrap();
        assert_eq!(tail.len(), 3);
        assert!(tail[2].contains(" 2999 x"), "{:?}", &tail[2][..40]);
        assert!(out.tail(1)[0].starts_with("2999 "));
        assert!(out.saw("2998 x"));
        // A huge line is cut.
        out.line(&"y".repeat(100_000));
        assert!(read_tail(&log, 1).unwrap()[0].len() < MAX_LINE + 64);
    }
}
