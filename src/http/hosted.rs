//! Requests for the hosted SillyTavern: checked here like every other
//! request (CSRF on every POST, then login), then handed to the caller's
//! own process — chosen by the session alone, so no header, path or
//! parameter can name another user's. SillyTavern's static files, the
//! same for everyone, are answered from its `public/` folder on the way.

use std::sync::Arc;

use warp::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use warp::reply::Response;

use crate::error::AppError;
use crate::hosting::proxy::{AnswerFilter, Forward};
use crate::hosting::supervisor::Supervisor;
use crate::hosting::HostError;
use crate::http::context::Ctx;
use crate::http::request::BodyStream;
use crate::http::{assets, reply};
use crate::permissions;
use crate::userdata::quota::LARGE_BODY;

/// How long a page load waits for a starting process before it gets the
/// "Starting SillyTavern…" page (which reloads itself every second).
const NAVIGATION_PATIENCE: std::time::Duration = std::time::Duration::from_millis(2500);

/// Added to the app's index page: a way to Innkeeper's own account and
/// admin pages from inside SillyTavern.
const BRIDGE: &str = "<script src=\"/innkeeper/static/st-bridge.js\" defer></script>\n";

/// Forwards the request to the caller's process.
pub async fn forward(ctx: &mut Ctx, sup: Arc<Supervisor>) -> Result<Response, AppError> {
    let method = ctx.req.method.clone();
    if !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        ctx.check_csrf()?;
    }
    let navigation = ctx.req.is_navigation();
    let Some(user) = ctx.user.clone() else {
        if navigation {
            return Ok(reply::redirect("/login"));
        }
        return Err(AppError::forbidden("Forbidden"));
    };
    if let Some(r) = sup
        .public
        .answer(&method, &ctx.req.path, &ctx.req.headers)
        .await
    {
        return Ok(r);
    }
    // Permissions first: a refused request never starts a process.
    let normalised = crate::hosting::routes::normalise(&ctx.req.path);
    let passed = crate::http::gate::check(ctx, &user, &normalised).await?;
    let upstream = match sup.ensure(&user.handle, !navigation).await {
        Ok(u) => u,
        // A page load waits a moment first: a start begun at login is
        // often done by then, and the page then opens without a detour.
        Err(HostError::Starting) => {
            match tokio::time::timeout(NAVIGATION_PATIENCE, sup.ensure(&user.handle, true)).await {
                Ok(Ok(u)) => u,
                Ok(Err(e)) => return Ok(unavailable_page(AppError::from(e))),
                Err(_) => return Ok(starting_page()),
            }
        }
        Err(e) if navigation => return Ok(unavailable_page(AppError::from(e))),
        Err(e) => return Err(e.into()),
    };
    // Uploads wait while the account is over its storage quota; small
    // calls (deletes among them) pass.
    let declared = ctx
        .req
        .header("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    let upload = method == Method::POST && declared.is_none_or(|n| n > LARGE_BODY);
    if upload {
        ctx.app
            .quotas()
            .check(&user.handle, declared.unwrap_or(0))
            .await?;
        ctx.app
            .usage_book
            .note(&user.handle, declared.unwrap_or(0) as i64);
    }
    let path_and_query = match &ctx.req.query {
        Some(q) => format!("{}?{q}", ctx.req.path),
        None => ctx.req.path.clone(),
    };
    let inject = (method == Method::GET && matches!(ctx.req.path.as_str(), "/" | "/index.html"))
        .then_some(BRIDGE);
    let strip = ctx
        .app
        .config
        .sso
        .trusted_header
        .enabled
        .then(|| HeaderName::from_bytes(ctx.app.config.sso.trusted_header.header.as_bytes()).ok())
        .flatten();
    let body: BodyStream = match passed.body {
        Some(bytes) => Box::pin(futures_util::stream::once(async move { Ok(bytes) })),
        None => ctx.req.take_body(),
    };
    let filter: Option<AnswerFilter> = (!passed.hide.is_empty()).then(|| {
        let keys = passed.hide;
        Box::new(move |b: bytes::Bytes| {
            permissions::connections::hide_in_view(&b, &keys)
                .map(bytes::Bytes::from)
                .unwrap_or(b)
        }) as AnswerFilter
    });
    let f = Forward {
        method,
        path_and_query,
        headers: std::mem::take(&mut ctx.req.headers),
        body,
        limit: ctx.app.config.limits.settings_mb * 1024 * 1024,
        cookie: upstream.cookie.to_string(),
        strip,
        inject,
        filter,
    };
    let hold = (upstream.lease, passed.running);
    Ok(sup.proxy.forward(upstream.port, f, hold).await?)
}

/// The small page a navigation gets while the process starts: it reloads
/// itself every second until SillyTavern answers.
fn starting_page() -> Response {
    let mut r = assets::page("starting.html");
    *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let h = r.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A navigation that cannot reach the app gets a page, not JSON.
fn unavailable_page(e: AppError) -> Response {
    reply::page(e.status(), "SillyTavern is not available", &e.to_string())
}
