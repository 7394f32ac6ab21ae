//! Building responses: JSON, 204, text, redirects, HTML pages, cookies.

use serde::Serialize;
use warp::http::{header, HeaderValue, StatusCode};
use warp::reply::Response;

/// Sets fixed header values (a list reads better than one insert each).
pub fn fixed_headers(h: &mut warp::http::HeaderMap, pairs: &[(&'static str, &'static str)]) {
    for (name, value) in pairs {
        h.insert(*name, HeaderValue::from_static(value));
    }
}

pub fn json<T: Serialize>(value: &T) -> Response {
    json_bytes(to_json_bytes(value))
}

pub fn to_json_bytes<T: Serialize>(value: &T) -> bytes::Bytes {
    serde_json::to_vec(value)
        .unwrap_or_else(|_| b"null".to_vec())
        .into()
}

/// A JSON answer from bytes already serialized (cached lists).
pub fn json_bytes(body: bytes::Bytes) -> Response {
    let mut r = Response::new(body.into());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub fn no_content() -> Response {
    status(StatusCode::NO_CONTENT)
}

pub fn status(code: StatusCode) -> Response {
    let mut r = Response::new(bytes::Bytes::new().into());
    *r.status_mut() = code;
    r
}

pub fn text(body: String, content_type: &'static str) -> Response {
    let mut r = Response::new(body.into());
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// 302 to a local path.
pub fn redirect(to: &str) -> Response {
    let mut r = status(StatusCode::FOUND);
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A small self-contained HTML page (403 pages and the like).
pub fn page(code: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body><h1>{t}</h1><p>{m}</p></body></html>",
        t = escape_html(title),
        m = escape_html(message)
    );
    let mut r = text(body, "text/html; charset=utf-8");
    *r.status_mut() = code;
    r
}

pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Adds a `Set-Cookie` header.
pub fn set_cookie(r: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// A response body fed from a channel by a producer task or thread.
pub fn channel_stream<T: Send + 'static>(
    rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + Sync + 'static {
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}
