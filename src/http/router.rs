//! Every path the server answers, in one place. Gates run first (host and
//! IP whitelists, basic auth), then public assets, then the routes with the
//! session resolved. Every POST passes the CSRF check before anything else.

use std::sync::Arc;

use warp::http::{Method, StatusCode};
use warp::reply::Response;

use crate::app::App;
use crate::error::AppError;
use crate::http::context::Ctx;
use crate::http::request::Req;
use crate::http::{
    admin, app_admin, assets, files, hosted, invites, outside_auth, permissions, public, reply,
    sessions, settings, signup, two_factor, users,
};

pub async fn handle(app: Arc<App>, req: Req) -> Response {
    match route(app, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// Unread request bodies are drained up to this many bytes before the
/// answer goes out (see `Req::drain`); a bigger one closes the connection.
const DRAIN_LIMIT: u64 = 1024 * 1024;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);

async fn route(app: Arc<App>, mut req: Req) -> Result<Response, AppError> {
    if let Some(refusal) = public::gates(&app, &req) {
        req.drain(DRAIN_LIMIT, DRAIN_TIME).await;
        return Ok(refusal);
    }
    let get = req.method == Method::GET || req.method == Method::HEAD;
    let hosting = app.hosting().cloned();
    if get {
        if req.path == "/healthz" {
            return Ok(reply::json(&serde_json::json!({ "status": "ok" })));
        }
        if let Some(asset) = assets::serve(&req, hosting.is_some()) {
            return Ok(asset);
        }
    }
    let path = req.path.clone();
    let mut ctx = Ctx::resolve(app, req).await?;
    if let Some(sup) = hosting.filter(|_| !crate::hosting::routes::kept(&path)) {
        let resp = match outside_auth::apply(&mut ctx).await {
            // The app waits until the account page's business is done.
            Ok(()) => match held_back(&ctx, None) {
                Some(_) if ctx.req.is_navigation() => Ok(reply::redirect("/innkeeper/#account")),
                Some(e) => Err(e),
                None => hosted::forward(&mut ctx, sup).await,
            },
            Err(e) => Err(e),
        };
        ctx.req.drain(DRAIN_LIMIT, DRAIN_TIME).await;
        let resp = resp.unwrap_or_else(AppError::into_response);
        return Ok(with_cookies(resp, ctx.cookies));
    }
    let resp = match outside_auth::apply(&mut ctx).await {
        Err(e) => Err(e),
        Ok(()) => match held_back(&ctx, Some(&path)) {
            Some(e) => Err(e),
            None if get => get_route(&mut ctx, &path).await,
            None if ctx.req.method == Method::POST => match ctx.check_csrf() {
                Ok(()) => post_route(&mut ctx, &path).await,
                Err(e) => Err(e),
            },
            None => Ok(not_found(&ctx.req)),
        },
    };
    // Whatever the outcome, unread body first, then the answer with any
    // cookie a login on the way set (SSO, basic auth).
    ctx.req.drain(DRAIN_LIMIT, DRAIN_TIME).await;
    let resp = resp.unwrap_or_else(AppError::into_response);
    Ok(with_cookies(resp, ctx.cookies))
}

/// Why the caller may not go on to `path` yet (None: they may): a
/// temporary password an admin set must be replaced first, and an admin
/// held to two-factor login must turn it on. `None` for the path means a
/// request for the hosted app, which waits for either.
fn held_back(ctx: &Ctx, path: Option<&str>) -> Option<AppError> {
    let method = &ctx.req.method;
    if ctx.user.as_deref().is_some_and(|u| u.must_change)
        && !path.is_some_and(|p| temporary_password_allows(method, p))
    {
        return Some(AppError::MustChangePassword);
    }
    if ctx.must_enrol_two_factor() && !path.is_some_and(|p| enrolment_allows(method, p)) {
        return Some(AppError::MustEnrolTwoFactor);
    }
    None
}

/// Where someone on a temporary password may go: the pages and calls that
/// let them choose their own (or leave), and nothing else.
fn temporary_password_allows(method: &Method, path: &str) -> bool {
    const PAGES: &[&str] = &[
        "/",
        "/index.html",
        "/innkeeper",
        "/innkeeper/",
        "/login",
        "/csrf-token",
        "/api/server-info",
        "/api/ping",
        "/api/users/me",
        "/img/default-user.png",
    ];
    const CALLS: &[&str] = &[
        "/api/users/change-password",
        "/api/users/check-password",
        "/api/users/logout",
        "/api/users/login",
        "/api/users/list",
    ];
    match *method {
        Method::GET | Method::HEAD => PAGES.contains(&path) || path.starts_with("/avatars/"),
        Method::POST => CALLS.contains(&path),
        _ => false,
    }
}

/// Where an admin who must turn on two-factor login may go: what a
/// temporary password allows (the pages, logging out) and the set-up.
fn enrolment_allows(method: &Method, path: &str) -> bool {
    const CALLS: &[&str] = &[
        "/api/users/two-factor/status",
        "/api/users/two-factor/begin",
        "/api/users/two-factor/confirm",
    ];
    temporary_password_allows(method, path)
        && !(*method == Method::POST && path == "/api/users/change-password")
        || (*method == Method::POST && CALLS.contains(&path))
}

fn with_cookies(mut resp: Response, cookies: Vec<String>) -> Response {
    for c in cookies {
        reply::set_cookie(&mut resp, &c);
    }
    resp
}

/// 404: a page for a browser's navigation (it would show raw JSON
/// otherwise), JSON for everything else, API calls above all.
fn not_found(req: &crate::http::request::Req) -> Response {
    let navigation = req.method == Method::GET
        && !req.path.starts_with("/api/")
        && req
            .header("accept")
            .is_some_and(|a| a.contains("text/html"));
    let mut r = if navigation {
        assets::page("404.html")
    } else {
        reply::json(&serde_json::json!({ "error": "Not found" }))
    };
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

async fn get_route(ctx: &mut Ctx, path: &str) -> Result<Response, AppError> {
    match path {
        "/" | "/index.html" => public::index(ctx),
        "/innkeeper" | "/innkeeper/" => public::home(ctx),
        "/login" => public::login_page(ctx).await,
        "/csrf-token" => Ok(public::csrf_token(ctx)),
        "/api/server-info" => public::server_info(ctx).await,
        "/api/ping" => Ok(public::ping(ctx)),
        "/api/users/me" => users::me(ctx),
        p if p.starts_with("/invite/") => Ok(invites::page(ctx)),
        "/signup" => Ok(signup::page(ctx)),
        _ => match files::serve(ctx, path).await? {
            Some(resp) => Ok(resp),
            None => Ok(not_found(&ctx.req)),
        },
    }
}

async fn post_route(ctx: &mut Ctx, path: &str) -> Result<Response, AppError> {
    let Some(rest) = path.strip_prefix("/api/") else {
        return Ok(not_found(&ctx.req));
    };
    match rest {
        // Public.
        "users/list" => public::list(ctx).await,
        "users/login" => public::login(ctx).await,
        "users/login-2fa" => public::login_second_factor(ctx).await,
        "users/recover-step1" => public::recover_step1(ctx).await,
        "users/recover-step2" => public::recover_step2(ctx).await,
        "invites/check" => invites::check(ctx).await,
        "invites/accept" => invites::accept(ctx).await,
        "signup" => signup::sign_up(ctx).await,
        // Private: the caller's own account (or, for admins, anyone's).
        "users/logout" => users::logout(ctx).await,
        "users/change-name" => users::change_name(ctx).await,
        "users/change-avatar" => users::change_avatar(ctx).await,
        "users/change-password" => users::change_password(ctx).await,
        "users/backup" => users::backup(ctx).await,
        "users/reset-settings" => users::reset_settings(ctx).await,
        "users/check-password" => users::check_password(ctx).await,
        "users/reset-step1" => users::reset_step1(ctx).await,
        "users/reset-step2" => users::reset_step2(ctx).await,
        "users/usage" => users::usage(ctx).await,
        "sessions/list" => sessions::list(ctx).await,
        "sessions/end" => sessions::end(ctx).await,
        "sessions/end-others" => sessions::end_others(ctx).await,
        "users/avatar-info" => users::avatar_info(ctx).await,
        "users/choose-persona-avatar" => users::choose_persona_avatar(ctx).await,
        "users/two-factor/status" => two_factor::status(ctx).await,
        "users/two-factor/begin" => two_factor::begin(ctx).await,
        "users/two-factor/confirm" => two_factor::confirm(ctx).await,
        "users/two-factor/recovery-codes" => two_factor::recovery_codes(ctx).await,
        "users/two-factor/disable" => two_factor::disable(ctx).await,
        "settings/get" => settings::get(ctx).await,
        "settings/save" => settings::save(ctx).await,
        "settings/get-snapshots" => settings::list_snapshots(ctx).await,
        "settings/load-snapshot" => settings::load_snapshot(ctx).await,
        "settings/make-snapshot" => settings::make_snapshot(ctx).await,
        "settings/restore-snapshot" => settings::restore_snapshot(ctx).await,
        // Admin.
        "users/get" => admin::get(ctx).await,
        "users/create" => admin::create(ctx).await,
        "users/delete" => admin::delete(ctx).await,
        "users/enable" => admin::set_flag(ctx, admin::Flag::Enable).await,
        "users/disable" => admin::set_flag(ctx, admin::Flag::Disable).await,
        "users/promote" => admin::set_flag(ctx, admin::Flag::Promote).await,
        "users/demote" => admin::set_flag(ctx, admin::Flag::Demote).await,
        "users/slugify" => admin::slugify(ctx).await,
        "users/check-handle" => admin::check_handle(ctx).await,
        "users/clear-limits" => admin::clear_limits(ctx).await,
        "users/two-factor/remove" => two_factor::remove(ctx).await,
        "audit/list" => admin::audit(ctx).await,
        "users/approve" => signup::approve(ctx).await,
        "users/set-quota" => admin::set_quota(ctx).await,
        "users/reject" => signup::reject(ctx).await,
        "invites/create" => invites::create(ctx).await,
        "invites/list" => invites::list(ctx).await,
        "invites/revoke" => invites::revoke(ctx).await,
        "backup/full" => admin::full_backup(ctx).await,
        "app/status" => app_admin::status(ctx).await,
        "app/log" => app_admin::log(ctx).await,
        "app/stop" => app_admin::stop(ctx).await,
        "app/restart" => app_admin::restart(ctx).await,
        "permissions/me" => permissions::me(ctx).await,
        "permissions/profiles" => permissions::profiles(ctx).await,
        "permissions/profiles/save" => permissions::save_profile(ctx).await,
        "permissions/profiles/delete" => permissions::delete_profile(ctx).await,
        "permissions/users" => permissions::users(ctx).await,
        "permissions/users/set" => permissions::set_user(ctx).await,
        "permissions/usage" => permissions::usage(ctx).await,
        "connections/list" => permissions::list_connections(ctx).await,
        "connections/save" => permissions::save_connection(ctx).await,
        "connections/delete" => permissions::delete_connection(ctx).await,
        "connections/grant" => permissions::grant(ctx, true).await,
        "connections/revoke" => permissions::grant(ctx, false).await,
        _ => Ok(not_found(&ctx.req)),
    }
}
