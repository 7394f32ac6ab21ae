//! The user's own files, read-only, at SillyTavern's URLs; and persona
//! pictures for the login list. Paths go through `safe_path`, so nothing
//! outside that user's folder can be named.

use percent_encoding::percent_decode_str;
use warp::http::{header, HeaderValue, StatusCode};
use warp::reply::{Reply, Response};

use crate::error::AppError;
use crate::http::context::Ctx;
use crate::http::reply;
use crate::userdata::safe_path::{self, PathError};

/// URL prefix → folder inside the user's data folder.
const ROUTES: &[(&str, &str)] = &[
    ("/characters/", "characters"),
    ("/backgrounds/", "backgrounds"),
    ("/User%20Avatars/", "User Avatars"),
    ("/User Avatars/", "User Avatars"),
    ("/assets/", "assets"),
    ("/user/images/", "user/images"),
    ("/user/files/", "user/files"),
    ("/scripts/extensions/third-party/", "extensions"),
];

/// Serves a user file, a persona picture, or None when no route matches.
pub async fn serve(ctx: &mut Ctx, path: &str) -> Result<Option<Response>, AppError> {
    if let Some(handle) = path.strip_prefix("/avatars/") {
        return persona_picture(ctx, handle).await.map(Some);
    }
    let Some((prefix, folder)) = ROUTES.iter().find(|(p, _)| path.starts_with(p)) else {
        return Ok(None);
    };
    let user = ctx.require_user()?;
    let rel = decode(&path[prefix.len()..])?;
    let root = ctx
        .app
        .user_dir(&user.handle)
        .ok_or_else(AppError::user_not_found)?;
    let file = match safe_path::resolve_in(&root, folder, &rel) {
        Ok(f) => f,
        Err(PathError::NotFound) => return Err(AppError::NotFound("File not found".into())),
        Err(_) => return Err(AppError::bad("Invalid path")),
    };
    send_file(&ctx.req, &file).await.map(Some)
}

fn decode(raw: &str) -> Result<String, AppError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| AppError::bad("Invalid path"))
}

/// `/avatars/<handle>`: the picture of that user — the custom one from the
/// database (with its tag as ETag), else the persona picture recorded for
/// them — public, like the user list that shows it.
async fn persona_picture(ctx: &Ctx, handle: &str) -> Result<Response, AppError> {
    // In discreet mode the login screen shows nobody, so pictures are for
    // logged-in users only: a 404 versus a picture would tell who exists.
    if ctx.app.config.enable_discreet_login {
        ctx.require_user()?;
    }
    let handle = handle.split('?').next().unwrap_or("");
    let user = ctx
        .app
        .accounts()
        .find_user_shared(handle)
        .await?
        // A disabled account is off the public list, so its picture is
        // too; admins still see it in their list.
        .filter(|u| u.enabled || ctx.user.as_deref().is_some_and(|me| me.admin))
        .ok_or_else(|| AppError::NotFound("File not found".into()))?;
    if let (Some(data_url), Some(tag)) = (&user.avatar, &user.avatar_tag) {
        return Ok(custom_picture(
            data_url,
            tag,
            ctx.req.header("if-none-match"),
        ));
    }
    let file = user
        .persona_avatar
        .as_deref()
        .and_then(|name| {
            let root = ctx.app.user_dir(&user.handle)?;
            safe_path::resolve_in(&root, "User Avatars", name).ok()
        })
        .ok_or_else(|| AppError::NotFound("File not found".into()))?;
    // Shown to anyone on the login list: pictures only.
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if !crate::userdata::layout::is_picture_name(name) {
        return Err(AppError::NotFound("File not found".into()));
    }
    send_file(&ctx.req, &file).await
}

/// A custom avatar (a `data:image/…;base64,` URL) as the picture itself.
fn custom_picture(data_url: &str, tag: &str, if_none_match: Option<&str>) -> Response {
    use base64::Engine;
    let etag = format!("\"{tag}\"");
    let mut resp = if if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag)) {
        reply::status(StatusCode::NOT_MODIFIED)
    } else {
        let (meta, data) = data_url.split_once(',').unwrap_or(("", ""));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap_or_default();
        let declared = meta
            .strip_prefix("data:")
            .and_then(|m| m.split(';').next())
            .unwrap_or("");
        // Only raster types are sent as what they say; anything else (an
        // SVG can carry scripts) goes as plain bytes.
        let kind = match declared {
            "image/png" | "image/jpeg" | "image/gif" | "image/webp" | "image/avif"
            | "image/bmp" => declared,
            _ => "application/octet-stream",
        };
        let mut r = Response::new(bytes::Bytes::from(bytes).into());
        if let Ok(v) = HeaderValue::from_str(kind) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        r
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    reply::fixed_headers(
        h,
        &[
            ("cache-control", "private, no-cache"),
            ("content-security-policy", "sandbox; default-src 'none'"),
        ],
    );
    resp
}

/// Streams a user's file with a type from its extension. It is sent as a
/// sandboxed document (an uploaded `.html` or `.svg` never runs as this
/// site), with an ETag and Last-Modified for conditional requests and a
/// single byte range for seeking in audio and video.
async fn send_file(
    req: &crate::http::request::Req,
    path: &std::path::Path,
) -> Result<Response, AppError> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|_| AppError::NotFound("File not found".into()))?;
    let meta = file.metadata().await?;
    if !meta.is_file() {
        return Err(AppError::NotFound("File not found".into()));
    }
    let len = meta.len();
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let etag = format!("W/\"{len:x}-{modified:x}\"");
    let last_modified = http_date(modified);
    let fresh = match req.header("if-none-match") {
        Some(tags) => tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        None => req
            .header("if-modified-since")
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v.trim()).ok())
            .is_some_and(|since| since.timestamp() >= modified as i64),
    };
    let mut resp = if fresh {
        reply::status(StatusCode::NOT_MODIFIED)
    } else {
        let range = match req.header("range") {
            // A range for another version of the file counts for nothing.
            Some(_)
                if req
                    .header("if-range")
                    .is_some_and(|v| v.trim() != etag && v.trim() != last_modified) =>
            {
                None
            }
            Some(r) => match byte_range(r, len) {
                Ok(range) => range,
                Err(()) => {
                    let mut r = reply::status(StatusCode::RANGE_NOT_SATISFIABLE);
                    if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                        r.headers_mut().insert(header::CONTENT_RANGE, v);
                    }
                    return Ok(sandboxed(r));
                }
            },
            None => None,
        };
        let (start, count) = range.unwrap_or((0, len));
        if start > 0 {
            use tokio::io::AsyncSeekExt;
            file.seek(std::io::SeekFrom::Start(start)).await?;
        }
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut left = count;
            while left > 0 {
                let mut buf = vec![0u8; (64 * 1024).min(left as usize)];
                let item = match file.read(&mut buf).await {
                    Ok(0) => break,
                    Ok(n) => {
                        buf.truncate(n);
                        left -= n as u64;
                        Ok(bytes::Bytes::from(buf))
                    }
                    Err(e) => Err(e),
                };
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        let mut r = warp::reply::stream(reply::channel_stream(rx)).into_response();
        let h = r.headers_mut();
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(mime_for(path)),
        );
        if let Some((start, count)) = range {
            if let Ok(v) =
                HeaderValue::from_str(&format!("bytes {start}-{}/{len}", start + count - 1))
            {
                h.insert(header::CONTENT_RANGE, v);
            }
            *r.status_mut() = StatusCode::PARTIAL_CONTENT;
        }
        r
    };
    let h = resp.headers_mut();
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&last_modified) {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    Ok(sandboxed(resp))
}

/// A user's file never runs as this site: a sandboxed document, types not
/// guessed.
fn sandboxed(mut r: Response) -> Response {
    reply::fixed_headers(
        r.headers_mut(),
        &[
            (
                "content-security-policy",
                "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'",
            ),
            ("x-content-type-options", "nosniff"),
        ],
    );
    r
}

/// One `bytes=` range of a file of `len` bytes as (start, count); None for
/// what is not a single byte range (the whole file is sent), Err when it
/// cannot be satisfied.
fn byte_range(header: &str, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let (start, end) = if a.is_empty() {
        // The last `b` bytes.
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 {
            return Err(());
        }
        (len.saturating_sub(n), len.saturating_sub(1))
    } else {
        let start: u64 = a.parse().map_err(|_| ())?;
        let end = if b.is_empty() {
            len.saturating_sub(1)
        } else {
            b.parse::<u64>().map_err(|_| ())?.min(len.saturating_sub(1))
        };
        (start, end)
    };
    if len == 0 || start >= len || end < start {
        return Err(());
    }
    Ok(Some((start, end - start + 1)))
}

/// An HTTP date (RFC 9110, IMF-fixdate) for seconds since the epoch.
fn http_date(secs: u64) -> String {
    use chrono::TimeZone;
    chrono::Utc
        .timestamp_opt(secs as i64, 0)
        .single()
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default()
}

pub fn mime_for(path: &std::path::Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "txt" | "md" => "text/plain; charset=utf-8",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        _ => "application/octet-stream",
    }
}
