//! SillyTavern's static files, answered by Innkeeper straight from the
//! install's `public/` folder.
//!
//! Why: SillyTavern 1.12.6 serves every file under `public/` before any
//! login or user routing (`express.static`, server.js:377), so the answer
//! is the same bytes whichever user's process gives it. A UI boot makes
//! ~270 such requests; answering them here saves each a hop through a
//! single-threaded Node process that is busy with the user's API calls,
//! and lets the page's assets load while the process is still starting.
//! What is not a plain file of `public/` (a folder, a dotfile, a path with
//! `..`, the index page that gets Innkeeper's link added, anything bigger
//! than [`MAX_FILE`]) still goes to the process, which answers it as before.
//!
//! The answer carries what Express's would that matters to a browser:
//! the type by extension, a validator (`ETag` in Express's `W/"size-mtime"`
//! form, `Last-Modified`) with `304` for a matching conditional request,
//! `Cache-Control: public, max-age=0`, and gzip for text when the browser
//! takes it (compressed once per file version and kept, within
//! [`GZIP_CACHE_BYTES`]). Range requests get the whole file, which HTTP
//! allows; no file here is media worth seeking in.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use warp::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use warp::reply::Response;

use super::proxy::FromApp;

/// Files bigger than this go to the process (none in 1.12.6 comes close).
const MAX_FILE: u64 = 8 * 1024 * 1024;

/// Compressed copies kept in memory, in bytes, all files together.
const GZIP_CACHE_BYTES: usize = 48 * 1024 * 1024;

/// Smaller answers are not worth compressing (Express's threshold too).
const GZIP_FROM: u64 = 1024;

/// Headers of every answer: revalidated caching, and what SillyTavern's
/// own answers carry (its helmet defaults) that matters for a static file.
const STATIC_HEADERS: &[(&str, &str)] = &[
    ("cache-control", "public, max-age=0"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "SAMEORIGIN"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-resource-policy", "same-origin"),
];

/// The install's `public/` folder and the compressed copies of its text.
pub struct PublicFiles {
    root: PathBuf,
    gzipped: Mutex<GzipCache>,
}

#[derive(Default)]
struct GzipCache {
    entries: HashMap<PathBuf, (Stamp, Bytes)>,
    bytes: usize,
}

/// One version of a file: its size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    mtime_ms: u64,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        let mtime_ms = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as u64);
        Stamp {
            len: meta.len(),
            mtime_ms,
        }
    }

    fn etag(&self) -> String {
        format!("W/\"{:x}-{:x}\"", self.len, self.mtime_ms)
    }

    fn last_modified(&self) -> String {
        let t = UNIX_EPOCH + std::time::Duration::from_millis(self.mtime_ms);
        DateTime::<Utc>::from(t)
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string()
    }
}

impl PublicFiles {
    /// The files of `install_dir/public`.
    pub fn new(install_dir: &Path) -> PublicFiles {
        PublicFiles {
            root: install_dir.join("public"),
            gzipped: Mutex::new(GzipCache::default()),
        }
    }

    /// The answer for a `GET`/`HEAD` of a plain file of `public/`, or
    /// `None` when the request is for the process.
    pub async fn answer(&self, method: &Method, raw_path: &str, h: &HeaderMap) -> Option<Response> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let path = self.root.join(relative(raw_path)?);
        let meta = tokio::fs::metadata(&path).await.ok()?;
        if !meta.is_file() || meta.len() > MAX_FILE {
            return None;
        }
        let stamp = Stamp::of(&meta);
        let kind = content_type(&path);
        let compressible = compressible(kind) && stamp.len >= GZIP_FROM;
        let mut resp = if not_modified(h, &stamp) {
            let mut r = Response::new(Bytes::new().into());
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            r
        } else if compressible && takes_gzip(h) {
            let body = self.gzip(path, stamp).await?;
            let mut r = Response::new(body.into());
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        } else {
            let body = tokio::fs::read(&path).await.ok()?;
            Response::new(body.into())
        };
        let out = resp.headers_mut();
        out.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
        if let Ok(v) = HeaderValue::from_str(&stamp.etag()) {
            out.insert(header::ETAG, v);
        }
        if let Ok(v) = HeaderValue::from_str(&stamp.last_modified()) {
            out.insert(header::LAST_MODIFIED, v);
        }
        if compressible {
            out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        for (name, value) in STATIC_HEADERS {
            out.insert(*name, HeaderValue::from_static(value));
        }
        resp.extensions_mut().insert(FromApp);
        Some(resp)
    }

    /// The gzip of one version of a file, compressed once and kept while
    /// there is room.
    async fn gzip(&self, path: PathBuf, stamp: Stamp) -> Option<Bytes> {
        if let Some((s, b)) = self.lock().entries.get(&path) {
            if *s == stamp {
                return Some(b.clone());
            }
        }
        let (path, body) = tokio::task::spawn_blocking(move || {
            let raw = std::fs::read(&path).ok()?;
            let mut enc = flate2::write::GzEncoder::new(
                Vec::with_capacity(raw.len() / 3),
                flate2::Compression::default(),
            );
            enc.write_all(&raw).ok()?;
            Some((path, Bytes::from(enc.finish().ok()?)))
        })
        .await
        .ok()??;
        let mut cache = self.lock();
        if let Some((_, old)) = cache.entries.remove(&path) {
            cache.bytes -= old.len();
        }
        if cache.bytes + body.len() <= GZIP_CACHE_BYTES {
            cache.bytes += body.len();
            cache.entries.insert(path, (stamp, body.clone()));
        }
        Some(body)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GzipCache> {
        self.gzipped.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The file a request path names inside `public/`, or `None` when it is
/// not a plain file name there: no empty, `.`, `..` or dot-led segment, no
/// backslash or NUL, not a folder, and not the index page (the process
/// answers it, and Innkeeper adds its link on the way).
fn relative(raw: &str) -> Option<PathBuf> {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    let rest = decoded.strip_prefix('/')?;
    if rest.is_empty() || rest == "index.html" || rest.contains(['\\', '\0']) {
        return None;
    }
    let mut out = PathBuf::new();
    for seg in rest.split('/') {
        if seg.is_empty() || seg.starts_with('.') {
            return None;
        }
        out.push(seg);
    }
    Some(out)
}

/// True when the request's validators match this version of the file.
fn not_modified(h: &HeaderMap, stamp: &Stamp) -> bool {
    if let Some(tags) = h.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        let ours = stamp.etag();
        let bare = ours.trim_start_matches("W/");
        return tags
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t.trim_start_matches("W/") == bare);
    }
    let Some(since) = h
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
    else {
        return false;
    };
    let modified = UNIX_EPOCH + std::time::Duration::from_secs(stamp.mtime_ms / 1000);
    SystemTime::from(since) >= modified
}

/// True when `Accept-Encoding` takes gzip (and does not refuse it with
/// `q=0`).
fn takes_gzip(h: &HeaderMap) -> bool {
    h.get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

fn compressible(kind: &str) -> bool {
    kind.starts_with("text/")
        || kind.starts_with("application/javascript")
        || kind.starts_with("application/json")
        || kind.starts_with("application/manifest+json")
        || kind.starts_with("image/svg+xml")
        || kind.starts_with("application/wasm")
}

/// The type Express would send for a file name (its `mime` table, for
/// the kinds of file a web app ships).
fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=UTF-8",
        "js" | "mjs" | "cjs" => "application/javascript; charset=UTF-8",
        "css" => "text/css; charset=UTF-8",
        "json" | "map" => "application/json; charset=UTF-8",
        "webmanifest" => "application/manifest+json; charset=UTF-8",
        "txt" => "text/plain; charset=UTF-8",
        "md" => "text/markdown; charset=UTF-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "bmp" => "image/bmp",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "eot" => "application/vnd.ms-fontobject",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" | "oga" => "audio/ogg",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "wasm" => "application/wasm",
        "ts" => "video/mp2t",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_file_names_inside_public() {
        assert_eq!(
            relative("/css/st-tailwind.css"),
            Some(PathBuf::from("css/st-tailwind.css"))
        );
        assert_eq!(
            relative("/scripts/extensions/memory/index.js"),
            Some(PathBuf::from("scripts/extensions/memory/index.js"))
        );
        assert_eq!(
            relative("/img/a%20b.png"),
            Some(PathBuf::from("img/a b.png"))
        );
        for p in [
            "/",
            "/index.html",
            "/css/",
            "/../config.yaml",
            "/css/../../config.yaml",
            "/%2e%2e/config.yaml",
            "/css%2F..%2F..%2Fconfig.yaml",
            "/.git/config",
            "/css/.hidden",
            "//etc/passwd",
            "/css//x.css",
            "/a%5C..%5Cb",
            "/a%00b",
            "/%FF",
            "relative",
        ] {
            assert_eq!(relative(p), None, "{p}");
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn validators_match_only_this_version() {
        let s = Stamp {
            len: 0x1c00,
            mtime_ms: 1_700_000_000_123,
        };
        assert_eq!(s.etag(), "W/\"1c00-18bcfe5687b\"");
        assert!(not_modified(&headers(&[("if-none-match", &s.etag())]), &s));
        assert!(not_modified(
            &headers(&[("if-none-match", "\"x\", \"1c00-18bcfe5687b\"")]),
            &s
        ));
        assert!(!not_modified(
            &headers(&[("if-none-match", "W/\"1c01-18bcfe5687b\"")]),
            &s
        ));
        assert!(not_modified(
            &headers(&[("if-modified-since", &s.last_modified())]),
            &s
        ));
        assert!(!not_modified(
            &headers(&[("if-modified-since", "Mon, 01 Jan 2001 00:00:00 GMT")]),
            &s
        ));
        // An entity tag that does not match wins over a date that would.
        assert!(!not_modified(
            &headers(&[
                ("if-none-match", "\"other\""),
                ("if-modified-since", &s.last_modified())
            ]),
            &s
        ));
        assert!(!not_modified(&HeaderMap::new(), &s));
    }

    #[test]
    fn gzip_only_when_taken() {
        assert!(takes_gzip(&headers(&[(
            "accept-encoding",
            "gzip, deflate, br"
        )])));
        assert!(takes_gzip(&headers(&[(
            "accept-encoding",
            "br;q=1, GZIP;q=0.5"
        )])));
        assert!(takes_gzip(&headers(&[("accept-encoding", "*")])));
        assert!(!takes_gzip(&headers(&[(
            "accept-encoding",
            "gzip;q=0, br"
        )])));
        assert!(!takes_gzip(&headers(&[("accept-encoding", "identity")])));
        assert!(!takes_gzip(&HeaderMap::new()));
    }

    #[test]
    fn module_scripts_get_a_javascript_type() {
        assert_eq!(
            content_type(Path::new("scripts/a.JS")),
            "application/javascript; charset=UTF-8"
        );
        assert_eq!(content_type(Path::new("lib/x.woff2")), "font/woff2");
        assert_eq!(content_type(Path::new("noext")), "application/octet-stream");
        assert!(compressible(content_type(Path::new("style.css"))));
        assert!(!compressible(content_type(Path::new("img/a.png"))));
    }
}
