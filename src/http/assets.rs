//! The UI's own files, embedded from `web/` at build time: ETags from the
//! content hash, 304 on `If-None-Match`. HTML pages, scripts and styles are
//! `no-cache` (revalidated on every load: the scripts are ES modules that
//! import each other by name, and a browser holding some old modules while
//! fetching new ones would run a mix after an upgrade); pictures keep a
//! day's max-age.

use rust_embed::RustEmbed;
use warp::http::{header, HeaderValue, StatusCode};
use warp::reply::Response;

use crate::http::files::mime_for;
use crate::http::request::Req;

#[derive(RustEmbed)]
#[folder = "web/"]
struct Web;

/// Serves the UI's files under `/innkeeper/` (`static/*`, `img/*`,
/// `favicon.ico`), and `/img/default-user.png` (SPEC §5); without a hosted
/// app also at the top level, where the hosted app has its own.
pub fn serve(req: &Req, hosted: bool) -> Option<Response> {
    let path = req.path.as_str();
    let path = match path.strip_prefix("/innkeeper") {
        Some(rest) if rest.starts_with('/') => rest,
        _ if hosted && path != "/img/default-user.png" => return None,
        _ => path,
    };
    let name = if path == "/favicon.ico" {
        "favicon.ico"
    } else if path.starts_with("/static/") || path.starts_with("/img/") {
        &path[1..]
    } else {
        return None;
    };
    if name.contains("..") {
        return None;
    }
    let revalidate = name.ends_with(".js") || name.ends_with(".css");
    Some(respond(name, req.header("if-none-match"), revalidate))
}

/// An HTML page of the UI.
pub fn page(name: &str) -> Response {
    respond(name, None, true)
}

/// `revalidate`: `no-cache` rather than a day's max-age.
fn respond(name: &str, if_none_match: Option<&str>, revalidate: bool) -> Response {
    let Some(file) = Web::get(name) else {
        return crate::error::AppError::NotFound("Not found".into()).into_response();
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let cache = if revalidate {
        "no-cache"
    } else {
        "public, max-age=86400"
    };
    let mut resp = if if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag)) {
        let mut r = Response::new(bytes::Bytes::new().into());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let mut r = Response::new(bytes::Bytes::from(file.data.into_owned()).into());
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(mime_for(std::path::Path::new(name))),
        );
        r
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    resp
}
