//! What anyone may reach: the gates in front of everything, the app and
//! login pages, the CSRF token, the user list, login and recovery.

use base64::Engine;
use serde_json::json;
use subtle::ConstantTimeEq;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::app::App;
use crate::error::AppError;
use crate::http::context::{Ctx, Proof};
use crate::http::request::{string_field, text_field, Req};
use crate::http::{assets, reply, users};

/// Host whitelist, IP whitelist and basic auth: a refusal page, or None
/// to go on.
pub fn gates(app: &App, req: &Req) -> Option<Response> {
    if app.config.host_whitelist.enabled {
        let host = req.header("host").unwrap_or("");
        if !host_allowed(&app.config.host_whitelist.hosts, host) {
            tracing::warn!("refused request for host {host:?}");
            return Some(reply::page(
                StatusCode::FORBIDDEN,
                "Forbidden",
                &format!(
                    "This server does not answer for the host \"{host}\". \
                     If it should, add it to hostWhitelist.hosts in config.yaml."
                ),
            ));
        }
    }
    if app.config.whitelist_mode {
        let peer_ok = req.peer.is_some_and(|p| app.is_whitelisted(p.ip()));
        let client_ok = !app.config.enable_forwarded_whitelist
            || req.ip.is_some_and(|ip| app.is_whitelisted(ip));
        if !(peer_ok && client_ok) {
            let who = req.ip.map(|i| i.to_string()).unwrap_or_default();
            tracing::warn!("refused connection from {who}: not in the whitelist");
            return Some(reply::page(
                StatusCode::FORBIDDEN,
                "Forbidden",
                &format!(
                    "Your address {who} is not allowed to use this server. \
                     The admin can add it to whitelist in config.yaml."
                ),
            ));
        }
    }
    if app.config.basic_auth_mode && !app.config.per_user_basic_auth && !basic_auth_ok(app, req) {
        return Some(AppError::AuthRequired.into_response());
    }
    None
}

/// Loopback literals (`127.0.0.0/8`, `[::1]`) and `localhost` names
/// always pass; otherwise the name (without port) must be listed, or match
/// a listed `.example.com` suffix. A name that only starts like a loopback
/// address (`127.evil.example`) is an ordinary name: DNS can point it at
/// anything, which is what the whitelist guards against.
fn host_allowed(hosts: &[String], host: &str) -> bool {
    let (name, bracketed) = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((inside, after)) if after.is_empty() || after.starts_with(':') => (inside, true),
            _ => return false,
        },
        None => (host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host), false),
    };
    let name = name.to_ascii_lowercase();
    let loopback = if bracketed {
        name.parse::<std::net::Ipv6Addr>()
            .is_ok_and(|ip| ip.is_loopback())
    } else {
        name.parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
            || name == "localhost"
            || name.strip_suffix(".localhost").is_some_and(|sub| {
                !sub.is_empty()
                    && sub.split('.').all(|l| {
                        !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    })
            })
    };
    if loopback {
        return true;
    }
    hosts.iter().any(|h| {
        let h = h.trim().to_ascii_lowercase();
        match h.strip_prefix('.') {
            Some(suffix) => name == suffix || name.ends_with(&format!(".{suffix}")),
            None => name == h,
        }
    })
}

/// Decodes `Authorization: Basic` into (user, password).
pub fn basic_credentials(req: &Req) -> Option<(String, String)> {
    let value = req.header("authorization")?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

fn basic_auth_ok(app: &App, req: &Req) -> bool {
    let Some((user, pass)) = basic_credentials(req) else {
        return false;
    };
    let want = &app.config.basic_auth_user;
    let u: bool = user.as_bytes().ct_eq(want.username.as_bytes()).into();
    let p: bool = pass.as_bytes().ct_eq(want.password.as_bytes()).into();
    u & p
}

/// `/`: the app for a logged-in user, else the login page (query kept).
pub fn index(ctx: &mut Ctx) -> Result<Response, AppError> {
    if ctx.user.is_some() {
        return Ok(assets::page("index.html"));
    }
    let target = match &ctx.req.query {
        Some(q) => format!("/login?{q}"),
        None => "/login".to_string(),
    };
    Ok(reply::redirect(&target))
}

/// `/innkeeper/`: Innkeeper's own pages (account, admin) for a logged-in
/// user, whether or not an app is hosted; else the login page.
pub fn home(ctx: &mut Ctx) -> Result<Response, AppError> {
    if ctx.user.is_some() {
        return Ok(assets::page("index.html"));
    }
    Ok(reply::redirect("/login?next=/innkeeper/"))
}

/// `/login`: the login page; with accounts off, the app; for an anonymous
/// request when the only enabled user has no password, that user, logged in.
pub async fn login_page(ctx: &mut Ctx) -> Result<Response, AppError> {
    if !ctx.app.config.enable_user_accounts {
        return Ok(reply::redirect("/"));
    }
    if ctx.user.is_none() {
        if let Some(handle) = auto_login_handle(ctx).await? {
            ctx.start_session(&handle, Proof::Password(None)).await?;
            ctx.app
                .audit(&ctx.actor_as(&handle), "login.auto", Some(&handle), None)
                .await;
            return Ok(reply::redirect("/"));
        }
    }
    Ok(assets::page("login.html"))
}

/// The account the login page logs anyone in as: the only enabled one,
/// when it has no password (and the login screen is not discreet). Then
/// logging out is pointless, and the UI does not offer it.
async fn auto_login_handle(ctx: &Ctx) -> Result<Option<String>, AppError> {
    let c = &ctx.app.config;
    if !c.enable_user_accounts || c.enable_discreet_login {
        return Ok(None);
    }
    let users = ctx.app.users().await?;
    let mut enabled = users.list.iter().filter(|u| u.enabled);
    Ok(match (enabled.next(), enabled.next()) {
        (Some(only), None) if only.password.is_none() && !only.two_factor => {
            Some(only.handle.clone())
        }
        _ => None,
    })
}

impl Ctx {
    /// The actor of this request as if `handle` were logged in.
    fn actor_as(&self, handle: &str) -> crate::app::Actor {
        let mut a = self.actor();
        a.handle = Some(handle.to_string());
        a
    }
}

/// `GET /csrf-token`: the session's token, starting an anonymous session
/// when there is none.
pub fn csrf_token(ctx: &mut Ctx) -> Response {
    if ctx.app.config.disable_csrf_protection {
        return reply::json(&json!({ "token": "disabled" }));
    }
    let token = match &ctx.session {
        Some(s) => s.entry.csrf.clone(),
        None => ctx.start_anonymous().entry.csrf.clone(),
    };
    reply::json(&json!({ "token": token }))
}

/// `GET /api/server-info`: what the UI needs to know before login.
pub async fn server_info(ctx: &Ctx) -> Result<Response, AppError> {
    let c = &ctx.app.config;
    let auto_login = auto_login_handle(ctx).await?.is_some();
    Ok(reply::json(&json!({
        "accounts": c.enable_user_accounts,
        "discreet": c.enable_discreet_login,
        "version": env!("CARGO_PKG_VERSION"),
        "sso": c.sso.trusted_header.enabled,
        "ssoLogoutUrl": c.sso.logout_url,
        "fullBackup": c.backups.allow_full_data_backup,
        "app": ctx.app.hosting().is_some(),
        "autoLogin": auto_login,
        "passwordMinLength": c.passwords.min_length,
        "signup": c.signup.mode,
    })))
}

/// `POST /api/users/list`: enabled users, oldest first; 204 in discreet mode.
pub async fn list(ctx: &mut Ctx) -> Result<Response, AppError> {
    if ctx.app.config.enable_discreet_login {
        return Ok(reply::no_content());
    }
    let snapshot = ctx.app.users().await?;
    let body = snapshot.public_json.get_or_init(|| {
        let list: Vec<_> = snapshot
            .list
            .iter()
            .filter(|u| u.enabled)
            .map(|u| {
                json!({
                    "handle": u.handle,
                    "name": u.name,
                    "created": u.created,
                    "avatar": users::avatar_url(u),
                    "password": u.password.is_some(),
                })
            })
            .collect();
        reply::to_json_bytes(&list)
    });
    Ok(reply::json_bytes(body.clone()))
}

/// `POST /api/users/login` {handle, password} → {handle} and a new session.
pub async fn login(ctx: &mut Ctx) -> Result<Response, AppError> {
    let limit = ctx.app.config.json_limit();
    let body = ctx.req.json(limit).await?;
    let handle = text_field(&body, "handle").ok_or_else(AppError::missing)?;
    let password = string_field(&body, "password");
    let actor = ctx.actor();
    let (user, proof) = ctx
        .app
        .logins()
        .check_password(&actor, &handle, password.as_deref())
        .await?;
    if user.two_factor {
        // The password was right, but this account also wants a code: no
        // session yet. 401 (not logged in, for any client that only looks
        // at the status) with the ticket that `login-2fa` takes with the
        // code. Nothing is cleared until the code is right, so a known
        // password does not reset the count of wrong codes.
        let ticket = ctx.app.two_factor().issue_ticket(&user, proof);
        let mut r = reply::json(&json!({
            "error": crate::accounts::two_factor::TWO_FACTOR_NEEDED,
            "twoFactor": true,
            "ticket": ticket,
        }));
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        return Ok(r);
    }
    ctx.app.logins().login_succeeded(&actor, &user).await?;
    ctx.start_session(&user.handle, proof).await?;
    Ok(logged_in(&user, None))
}

/// The answer to a finished login: {handle}, and `mustChangePassword`
/// for a temporary password, `recoveryCodesLeft` after a recovery code.
fn logged_in(user: &crate::store::users::UserRow, recovery_codes_left: Option<usize>) -> Response {
    let mut body = json!({ "handle": user.handle });
    if user.must_change {
        body["mustChangePassword"] = true.into();
    }
    if let Some(left) = recovery_codes_left {
        body["recoveryCodesLeft"] = left.into();
    }
    reply::json(&body)
}

/// `POST /api/users/login-2fa` {ticket, code} → {handle} and a new
/// session: the second step of a login with two-factor login on. `code`
/// is the app's 6 digits or one of the account's recovery codes. Wrong →
/// 403 `Incorrect code` (counted like a wrong password); an unknown or
/// expired ticket → 403 asking for the password again.
pub async fn login_second_factor(ctx: &mut Ctx) -> Result<Response, AppError> {
    let limit = ctx.app.config.json_limit();
    let body = ctx.req.json(limit).await?;
    let ticket = text_field(&body, "ticket").ok_or_else(AppError::missing)?;
    let code = match body.get("code") {
        None | Some(serde_json::Value::Null) => return Err(AppError::missing()),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => {
            return Err(AppError::missing())
        }
        // Only a JSON string can be a code; anything else is a wrong one.
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(_) => None,
    };
    let actor = ctx.actor();
    let (user, proof, accepted) = ctx
        .app
        .two_factor()
        .login_second_factor(&actor, &ticket, code.as_deref())
        .await?;
    ctx.start_session(&user.handle, proof).await?;
    let left = match accepted {
        crate::accounts::two_factor::Accepted::RecoveryCode { left } => Some(left),
        crate::accounts::two_factor::Accepted::Totp => None,
    };
    Ok(logged_in(&user, left))
}

/// `POST /api/users/recover-step1` {handle} → 204, a code on the console.
pub async fn recover_step1(ctx: &mut Ctx) -> Result<Response, AppError> {
    let limit = ctx.app.config.json_limit();
    let body = ctx.req.json(limit).await?;
    let handle = text_field(&body, "handle").ok_or_else(AppError::missing)?;
    ctx.app
        .logins()
        .recover_step1(&ctx.actor(), &handle)
        .await?;
    Ok(reply::no_content())
}

/// `POST /api/users/recover-step2` {handle, code, newPassword} → 204.
pub async fn recover_step2(ctx: &mut Ctx) -> Result<Response, AppError> {
    let limit = ctx.app.config.json_limit();
    let body = ctx.req.json(limit).await?;
    let handle = text_field(&body, "handle").ok_or_else(AppError::missing)?;
    let code = match body.get("code") {
        None | Some(serde_json::Value::Null) => return Err(AppError::missing()),
        Some(serde_json::Value::String(s)) if s.is_empty() => return Err(AppError::missing()),
        // Only a JSON string can be the code; anything else is a wrong one.
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(_) => None,
    };
    let new_password = string_field(&body, "newPassword").unwrap_or_default();
    ctx.app
        .logins()
        .recover_step2(&ctx.actor(), &handle, code.as_deref(), &new_password)
        .await?;
    Ok(reply::no_content())
}

/// `GET /api/ping`: 204 while logged in; otherwise 403, with why the
/// caller's session ended when it ended lately (`sessionEnded`: disabled,
/// deleted, password_changed, logged_out, expired, too_many_sessions), so
/// the page can tell the user instead of a bare "session ended".
pub fn ping(ctx: &Ctx) -> Response {
    if ctx.user.is_some() {
        return reply::no_content();
    }
    let ended = crate::http::context::session_cookie(&ctx.req)
        .and_then(|id| ctx.app.sessions.ended_reason(id))
        .map(crate::sessions::EndReason::code);
    let mut r = reply::json(&json!({ "error": "Forbidden", "sessionEnded": ended }));
    *r.status_mut() = warp::http::StatusCode::FORBIDDEN;
    r
}
