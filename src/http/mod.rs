//! The HTTP layer: one warp filter hands every request to the router,
//! which lists every path; handlers return `Result<Response, AppError>`
//! and errors become JSON in one place (`AppError::into_response`).

pub mod admin;
pub mod app_admin;
pub mod assets;
pub mod context;
pub mod device;
pub mod error_response;
pub mod files;
pub mod gate;
pub mod hosted;
pub mod invites;
pub mod outside_auth;
pub mod permissions;
pub mod public;
pub mod reply;
pub mod request;
pub mod router;
pub mod sessions;
pub mod settings;
pub mod signup;
pub mod two_factor;
pub mod users;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Buf;
use warp::http::{header, HeaderMap, HeaderValue, Method};
use warp::reply::Response;
use warp::Filter;

use crate::app::App;
use request::Req;

/// The connection's peer address, put on each request by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::SocketAddr);

/// The whole application as one warp filter.
pub fn routes(
    app: Arc<App>,
) -> impl Filter<Extract = (impl warp::Reply,), Error = Infallible> + Clone {
    warp::method()
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<Peer>())
        .and(warp::body::stream().map(|body| {
            let body: request::BodyStream =
                Box::pin(futures_util::StreamExt::map(body, chunk_bytes));
            body
        }))
        .and(warp::any().map(move || app.clone()))
        .then(
            |method: Method,
             path: warp::path::FullPath,
             query: String,
             headers: HeaderMap,
             peer: Option<Peer>,
             body: request::BodyStream,
             app: Arc<App>| async move {
                let query = (!query.is_empty()).then_some(query);
                let req = Req::new(
                    &app,
                    method,
                    path.as_str().to_string(),
                    query,
                    headers,
                    peer.map(|p| p.0),
                    body,
                );
                let mut resp = router::handle(app, req).await;
                // The app's answers keep the app's own headers.
                if resp
                    .extensions()
                    .get::<crate::hosting::proxy::FromApp>()
                    .is_none()
                {
                    security_headers(resp.headers_mut());
                }
                resp
            },
        )
        .recover(rejection)
}

/// warp's own rejections (a body that cannot be read, and the like) as
/// JSON errors; the routes themselves never reject.
async fn rejection(r: warp::Rejection) -> Result<Response, Infallible> {
    let mut resp = crate::error::AppError::bad(format!("Bad request: {r:?}")).into_response();
    security_headers(resp.headers_mut());
    Ok(resp)
}

/// A body chunk as `Bytes`.
fn chunk_bytes<B: Buf>(chunk: Result<B, warp::Error>) -> Result<bytes::Bytes, warp::Error> {
    chunk.map(|mut b| b.copy_to_bytes(b.remaining()))
}

/// Headers every response carries.
fn security_headers(h: &mut HeaderMap) {
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &'static str| {
        h.entry(k).or_insert(HeaderValue::from_static(v));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
         connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::CACHE_CONTROL, "no-store");
}
