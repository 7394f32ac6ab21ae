//! The request as the routes see it: method, raw path, headers, the
//! client's address (believing forwarded headers only from trusted
//! proxies), cookies, and a body read lazily with a size limit.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde_json::Value;
use warp::http::{header, HeaderMap, Method};

use crate::app::{canonical_ip, App};
use crate::error::AppError;

/// A request body as it arrives (defined with the proxy that streams it on).
pub use crate::hosting::proxy::BodyStream;

/// A whole body must arrive within this time (slow uploads are cut off).
const BODY_TIMEOUT: Duration = Duration::from_secs(120);

pub struct Req {
    pub method: Method,
    /// Raw (percent-encoded) path.
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub peer: Option<SocketAddr>,
    /// The client: the peer, or from a trusted proxy the forwarded address.
    pub ip: Option<IpAddr>,
    /// True when the request came over HTTPS (directly or per a trusted proxy).
    pub https: bool,
    /// In a mutex only so `Req` is `Sync` (handlers hold `&Ctx` across awaits).
    body: std::sync::Mutex<Option<BodyStream>>,
}

impl Req {
    pub fn new(
        app: &App,
        method: Method,
        path: String,
        query: Option<String>,
        headers: HeaderMap,
        peer: Option<SocketAddr>,
        body: BodyStream,
    ) -> Req {
        let peer_ip = peer.map(|p| canonical_ip(p.ip()));
        let trusted = peer_ip.is_some_and(|ip| app.is_trusted_proxy(ip));
        let ip = match peer_ip {
            Some(p) if trusted => Some(forwarded_client(app, &headers).unwrap_or(p)),
            other => other,
        };
        let https = app.config.ssl.enabled
            || (trusted
                && headers
                    .get("x-forwarded-proto")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("https")));
        Req {
            method,
            path,
            query,
            headers,
            peer,
            ip,
            https,
            body: std::sync::Mutex::new(Some(body)),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value of a cookie.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim())
    }

    /// Refuses a body whose declared length is over `limit` before reading it.
    pub fn check_declared_length(&self, limit: u64) -> Result<(), AppError> {
        let declared = self
            .header("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        match declared {
            Some(n) if n > limit => Err(AppError::PayloadTooLarge { limit }),
            _ => Ok(()),
        }
    }

    /// Reads the whole body, at most `limit` bytes.
    pub async fn bytes(&mut self, limit: u64) -> Result<Bytes, AppError> {
        self.check_declared_length(limit)?;
        let taken = self
            .body
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some(mut body) = taken else {
            return Ok(Bytes::new());
        };
        let read = async {
            let mut buf = BytesMut::new();
            while let Some(chunk) = body.next().await {
                let chunk = chunk
                    .map_err(|e| AppError::bad(format!("Could not read the request body: {e}")))?;
                if buf.len() as u64 + chunk.len() as u64 > limit {
                    return Err(AppError::PayloadTooLarge { limit });
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(buf.freeze())
        };
        tokio::time::timeout(BODY_TIMEOUT, read)
            .await
            .map_err(|_| AppError::bad("Request body took too long"))?
    }

    /// Reads and drops what is left of the body (at most `limit` bytes,
    /// within `within`), so answering a request whose handler did not need
    /// its body does not close the connection on unread data — which makes
    /// the kernel reset it and can cut the answer short in the client.
    pub async fn drain(&mut self, limit: u64, within: Duration) {
        let Some(mut body) = self
            .body
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return;
        };
        if self
            .header("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > limit)
        {
            return;
        }
        let read = async {
            let mut seen: u64 = 0;
            while let Some(Ok(chunk)) = body.next().await {
                seen += chunk.len() as u64;
                if seen > limit {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(within, read).await;
    }

    /// The body as a stream, for forwarding (empty when already read).
    pub fn take_body(&mut self) -> BodyStream {
        self.body
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_else(|| Box::pin(futures_util::stream::empty()))
    }

    /// True for a page load (the browser navigating), as opposed to a
    /// script's request or a sub-resource.
    pub fn is_navigation(&self) -> bool {
        if self.method != Method::GET && self.method != Method::HEAD {
            return false;
        }
        match self.header("sec-fetch-mode") {
            Some(mode) => mode.eq_ignore_ascii_case("navigate"),
            None => self
                .header("accept")
                .is_some_and(|a| a.contains("text/html")),
        }
    }

    /// The JSON body as SillyTavern's server reads it: without a JSON
    /// content type, or empty, it is `{}`; malformed JSON is a 400.
    pub async fn json(&mut self, limit: u64) -> Result<Value, AppError> {
        Ok(self.json_and_bytes(limit).await?.1)
    }

    /// [`Req::json`] with the bytes it was read from, for a body that is
    /// checked here and then passed on unchanged.
    pub async fn json_and_bytes(&mut self, limit: u64) -> Result<(Bytes, Value), AppError> {
        let is_json = self
            .header("content-type")
            .is_some_and(|t| t.to_ascii_lowercase().contains("json"));
        let bytes = self.bytes(limit).await?;
        if !is_json || bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok((bytes, Value::Object(Default::default())));
        }
        let value =
            serde_json::from_slice(&bytes).map_err(|_| AppError::bad("Invalid JSON body"))?;
        Ok((bytes, value))
    }

    /// Like [`Req::json`], but a non-empty body must be JSON whatever type
    /// it declares: for writes where reading a stray body as `{}` would
    /// replace the user's data (Appendix A: "body not JSON → 400").
    pub async fn json_strict(&mut self, limit: u64) -> Result<Value, AppError> {
        let bytes = self.bytes(limit).await?;
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_slice(&bytes).map_err(|_| AppError::bad("Invalid JSON body"))
    }
}

/// The rightmost `X-Forwarded-For` address that is not itself a trusted
/// proxy, else `X-Real-IP`.
fn forwarded_client(app: &App, headers: &HeaderMap) -> Option<IpAddr> {
    let xff: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| parse_ip(s.trim()))
        .collect();
    if let Some(ip) = xff.iter().rev().find(|ip| !app.is_trusted_proxy(**ip)) {
        return Some(*ip);
    }
    if let Some(ip) = xff.first() {
        return Some(*ip);
    }
    headers
        .get("x-real-ip")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| parse_ip(s.trim()))
}

/// An address as proxies write it: bare, `[v6]`, or with a port.
fn parse_ip(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical_ip(ip));
    }
    if let Ok(sock) = s.parse::<SocketAddr>() {
        return Some(canonical_ip(sock.ip()));
    }
    s.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok()
        .map(canonical_ip)
}

/// A string field; numbers count as their text (SillyTavern coerces them),
/// empty strings as absent.
pub fn text_field(body: &Value, key: &str) -> Option<String> {
    match body.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A string field that may be empty.
pub fn string_field(body: &Value, key: &str) -> Option<String> {
    match body.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn bool_field(body: &Value, key: &str) -> bool {
    match body.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        Some(Value::Number(n)) => n.as_i64().is_some_and(|n| n != 0),
        _ => false,
    }
}
