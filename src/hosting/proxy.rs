//! The streaming reverse proxy to a user's process (hyper's pooled client;
//! warp stays the server). Both directions stream with no buffering, so an
//! upload never sits whole in memory and a generation's server-sent events
//! reach the browser as they come; when the browser goes away the response
//! body is dropped, which closes the upstream connection at once, so
//! SillyTavern cancels the model call. Only the signed SillyTavern session
//! goes up as a cookie; no `Set-Cookie` comes back; hop-by-hop headers,
//! `X-Forwarded-*`, `X-Real-IP`, credentials and the SSO header stay here.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use http_body_util::{combinators::UnsyncBoxBody, BodyDataStream, BodyExt, Empty, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use warp::http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use warp::reply::{Reply, Response};

use super::HostError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body as the server receives it: a stream of chunks.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, warp::Error>> + Send>>;
type UpBody = UnsyncBoxBody<Bytes, BoxError>;

/// A page that is rewritten on its way (the app's index page gets a way
/// to Innkeeper's own pages) is read whole; it is never bigger than this.
const MAX_REWRITTEN: usize = 32 * 1024 * 1024;

/// Answers of known length up to this size are read whole before they are
/// passed on (the app's static files and most API answers).
const WHOLE_UP_TO: u64 = 256 * 1024;

/// Marks a response that came from a user's process, so the server's own
/// security headers (made for Innkeeper's pages) are not laid over it.
#[derive(Debug, Clone, Copy)]
pub struct FromApp;

/// One request to forward.
pub struct Forward {
    pub method: Method,
    /// Path and query exactly as the browser sent them.
    pub path_and_query: String,
    /// The browser's headers; filtered here.
    pub headers: HeaderMap,
    pub body: BodyStream,
    /// Request bodies larger than this get 413.
    pub limit: u64,
    /// The `Cookie` header that signs the user in to their process.
    pub cookie: String,
    /// A further header to drop (the SSO header).
    pub strip: Option<HeaderName>,
    /// HTML to put before `</head>` of an HTML answer.
    pub inject: Option<&'static str>,
    /// Rewrites a successful answer, read whole (the permissions layer
    /// takes shared keys out of SillyTavern's secrets view).
    pub filter: Option<AnswerFilter>,
}

/// A rewrite of a whole answer's body.
pub type AnswerFilter = Box<dyn FnOnce(Bytes) -> Bytes + Send>;

/// The pooled HTTP/1 client to every process.
#[derive(Clone)]
pub struct Proxy {
    client: Client<HttpConnector, UpBody>,
}

impl Default for Proxy {
    fn default() -> Self {
        Self::new()
    }
}

impl Proxy {
    pub fn new() -> Proxy {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let client = Client::builder(TokioExecutor::new())
            // Node closes idle keep-alive connections after 5 s; drop ours
            // first so a request never lands on one being closed.
            .pool_idle_timeout(Duration::from_secs(4))
            .pool_max_idle_per_host(64)
            .build(connector);
        Proxy { client }
    }

    /// True when something answers HTTP on the port (any status).
    pub async fn probe(&self, port: u16) -> bool {
        let Ok(req) = Request::get(format!("http://127.0.0.1:{port}/api/ping"))
            .header(header::HOST, format!("127.0.0.1:{port}"))
            .body(Empty::<Bytes>::new().map_err(|e| match e {}).boxed_unsync())
        else {
            return false;
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(2), self.client.request(req)).await,
            Ok(Ok(_))
        )
    }

    /// Forwards `f` to the process on `port`; `hold` (the supervisor's
    /// lease on the process) is kept until the answer's body is done, or
    /// dropped by a browser that went away.
    pub async fn forward<G: Send + Sync + Unpin + 'static>(
        &self,
        port: u16,
        f: Forward,
        hold: G,
    ) -> Result<Response, HostError> {
        let declared = f
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > f.limit) {
            return Err(HostError::TooLarge { limit: f.limit });
        }
        let uri = format!("http://127.0.0.1:{port}{}", f.path_and_query);
        let (body, too_large) = limited_body(f.body, f.limit);
        let mut req = Request::builder()
            .method(f.method.clone())
            .uri(&uri)
            .body(body)
            .map_err(|e| HostError::Upstream(format!("bad request line: {e}")))?;
        let h = req.headers_mut();
        copy_request_headers(&f.headers, h, f.strip.as_ref());
        h.insert(
            header::HOST,
            HeaderValue::from_str(&format!("127.0.0.1:{port}"))
                .map_err(|e| HostError::Upstream(e.to_string()))?,
        );
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&f.cookie).map_err(|e| HostError::Upstream(e.to_string()))?,
        );
        if f.inject.is_some() || f.filter.is_some() {
            // The answer is rewritten, so ask for it plain and whole.
            h.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_static("identity"),
            );
            h.remove(header::IF_NONE_MATCH);
            h.remove(header::IF_MODIFIED_SINCE);
            h.remove(header::RANGE);
        }
        let resp = match self.client.request(req).await {
            Ok(r) => r,
            Err(_) if too_large.load(Ordering::Relaxed) => {
                return Err(HostError::TooLarge { limit: f.limit })
            }
            Err(e) => return Err(HostError::Upstream(describe(&e))),
        };
        let (parts, body) = resp.into_parts();
        let is_html = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/html"));
        let length = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let mut out = match (f.inject, f.filter) {
            (_, Some(filter)) => {
                let whole = read_whole(body).await?;
                let body = if parts.status == StatusCode::OK {
                    filter(whole)
                } else {
                    whole
                };
                let mut r = Response::new(body.into());
                r.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                r
            }
            (Some(snippet), None) if parts.status == StatusCode::OK && is_html => {
                let page = read_whole(body).await?;
                let mut r = Response::new(inject(&page, snippet).into());
                r.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                r
            }
            // A small answer of known length goes out in one piece with its
            // headers (one write, one wake-up less); anything else streams.
            _ if length.is_some_and(|n| n <= WHOLE_UP_TO) => {
                Response::new(read_whole(body).await?.into())
            }
            _ => warp::reply::stream(Held::new(BodyDataStream::new(body), hold)).into_response(),
        };
        *out.status_mut() = parts.status;
        copy_response_headers(&parts.headers, out.headers_mut());
        out.extensions_mut().insert(FromApp);
        Ok(out)
    }
}

/// The request body as an upstream body that errors past `limit` bytes,
/// and the flag that says it did.
fn limited_body(body: BodyStream, limit: u64) -> (UpBody, Arc<AtomicBool>) {
    let flag = Arc::new(AtomicBool::new(false));
    let seen = flag.clone();
    let mut total: u64 = 0;
    let stream = body.map(move |chunk| {
        let chunk = chunk.map_err(|e| -> BoxError { Box::new(e) })?;
        total += chunk.len() as u64;
        if total > limit {
            seen.store(true, Ordering::Relaxed);
            return Err::<Frame<Bytes>, BoxError>("request body over the limit".into());
        }
        Ok(Frame::data(chunk))
    });
    (StreamBody::new(stream).boxed_unsync(), flag)
}

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Request headers that stay with Innkeeper: the browser's cookies and
/// credentials (Innkeeper's session, basic auth), its CSRF token, and what
/// a proxy in front says about the client.
const PRIVATE_REQUEST: &[&str] = &[
    "cookie",
    "authorization",
    "x-csrf-token",
    "forwarded",
    "x-real-ip",
    "host",
];

fn listed_in_connection(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

fn copy_request_headers(from: &HeaderMap, to: &mut HeaderMap, strip: Option<&HeaderName>) {
    let named = listed_in_connection(from);
    for (name, value) in from {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n)
            || PRIVATE_REQUEST.contains(&n)
            || n.starts_with("x-forwarded-")
            || named.iter().any(|c| c == n)
            || strip.is_some_and(|s| s == name)
        {
            continue;
        }
        to.append(name.clone(), value.clone());
    }
}

fn copy_response_headers(from: &HeaderMap, to: &mut HeaderMap) {
    let named = listed_in_connection(from);
    let rewritten = to.contains_key(header::CACHE_CONTROL);
    for (name, value) in from {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n) || n == "set-cookie" || named.iter().any(|c| c == n) {
            continue;
        }
        if rewritten
            && matches!(
                n,
                "content-length" | "etag" | "last-modified" | "cache-control" | "content-encoding"
            )
        {
            continue;
        }
        to.append(name.clone(), value.clone());
    }
}

async fn read_whole(body: Incoming) -> Result<Bytes, HostError> {
    let mut stream = BodyDataStream::new(body);
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| HostError::Upstream(e.to_string()))?;
        if buf.len() + chunk.len() > MAX_REWRITTEN {
            return Err(HostError::Upstream("the page is too large".into()));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// `snippet` put before the first `</head>` (or at the end).
fn inject(page: &[u8], snippet: &str) -> Bytes {
    let at = page
        .windows(7)
        .position(|w| w.eq_ignore_ascii_case(b"</head>"))
        .unwrap_or(page.len());
    let mut out = Vec::with_capacity(page.len() + snippet.len());
    out.extend_from_slice(&page[..at]);
    out.extend_from_slice(snippet.as_bytes());
    out.extend_from_slice(&page[at..]);
    out.into()
}

fn describe(e: &hyper_util::client::legacy::Error) -> String {
    if e.is_connect() {
        "the process is not accepting connections".into()
    } else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    }
}

/// An upstream body stream that keeps `G` until it ends or is dropped. The
/// mutex only makes it `Sync` (it is never locked: polling has `&mut`).
struct Held<S, G> {
    inner: std::sync::Mutex<S>,
    hold: Option<G>,
}

impl<S, G> Held<S, G> {
    fn new(inner: S, hold: G) -> Self {
        Held {
            inner: std::sync::Mutex::new(inner),
            hold: Some(hold),
        }
    }
}

impl<S, E, G: Unpin> Stream for Held<S, G>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<Bytes, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let inner = this.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        let poll = Pin::new(inner).poll_next(cx);
        if let Poll::Ready(None) | Poll::Ready(Some(Err(_))) = &poll {
            this.hold = None;
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injects_before_the_head_ends() {
        assert_eq!(
            &inject(b"<html><HEAD><title>x</title></HEAD><body>", "<s>")[..],
            b"<html><HEAD><title>x</title><s></HEAD><body>"
        );
        assert_eq!(&inject(b"plain", "<s>")[..], b"plain<s>");
    }

    #[test]
    fn private_and_hop_by_hop_headers_stay() {
        let mut from = HeaderMap::new();
        for (k, v) in [
            ("cookie", "innkeeper_sid=secret"),
            ("authorization", "Basic eA=="),
            ("x-csrf-token", "t"),
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-proto", "https"),
            ("x-real-ip", "1.2.3.4"),
            ("forwarded", "for=1.2.3.4"),
            ("remote-user", "admin"),
            ("connection", "keep-alive, x-private"),
            ("x-private", "p"),
            ("transfer-encoding", "chunked"),
            ("content-type", "application/json"),
            ("accept", "*/*"),
        ] {
            from.append(k, HeaderValue::from_static(v));
        }
        let mut to = HeaderMap::new();
        copy_request_headers(
            &from,
            &mut to,
            Some(&HeaderName::from_static("remote-user")),
        );
        let names: Vec<_> = to.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["content-type", "accept"], "{names:?}");

        let mut from = HeaderMap::new();
        from.append("set-cookie", HeaderValue::from_static("session-x=1"));
        from.append(
            "content-type",
            HeaderValue::from_static("text/event-stream"),
        );
        from.append("keep-alive", HeaderValue::from_static("timeout=5"));
        let mut to = HeaderMap::new();
        copy_response_headers(&from, &mut to);
        let names: Vec<_> = to.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["content-type"]);
    }
}
