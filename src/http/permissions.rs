//! Permission profiles, shared connections and usage over HTTP: the
//! caller's own permissions for the account page, and the admin calls
//! behind the admin panel's "Permissions" and "Shared connections" cards.
//! No answer ever carries a connection's value.

use serde_json::{json, Value};
use warp::reply::Response;

use crate::error::AppError;
use crate::http::admin::admin_body;
use crate::http::context::Ctx;
use crate::http::reply;
use crate::http::request::text_field;
use crate::permissions::connections::Spec;
use crate::permissions::profiles::{parse_switches, Limits};
use crate::permissions::service::GrantTo;
use crate::store::permissions::UserChoice;

/// `POST /api/permissions/me` → the caller's profile, what it allows, their
/// limits and how much they used.
pub async fn me(ctx: &mut Ctx) -> Result<Response, AppError> {
    let user = ctx.require_user()?.clone();
    Ok(reply::json(
        &ctx.app.permissions().own_permissions(&user).await?,
    ))
}

/// `POST /api/permissions/profiles` → every profile, with its users' count.
pub async fn profiles(ctx: &mut Ctx) -> Result<Response, AppError> {
    admin_body(ctx).await?;
    let list = ctx.app.permissions().profiles().await?;
    Ok(reply::json(&json!({
        "profiles": list.iter().map(|p| p.to_json()).collect::<Vec<_>>(),
        "defaultProfile": ctx.app.config.permissions.default_profile,
        "switches": crate::permissions::Switch::ALL.iter().map(|s| json!({
            "name": s.name(),
            "label": s.describe(),
        })).collect::<Vec<_>>(),
    })))
}

/// A limit field: absent or null = none (`None`), else 0..=1,000,000.
fn limit_field(body: &Value, key: &str) -> Result<Option<i64>, AppError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .filter(|n| (0..=1_000_000).contains(n))
            .map(Some)
            .ok_or_else(|| {
                AppError::bad(format!(
                    "{key} must be a whole number from 0 to 1000000, or null"
                ))
            }),
    }
}

fn as_limit(v: Option<i64>) -> Option<u32> {
    v.filter(|n| *n > 0).map(|n| n as u32)
}

/// `POST /api/permissions/profiles/save` {name, allow: [..], perHour?,
/// perDay?, atOnce?} → the profile as stored.
pub async fn save_profile(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let name = text_field(&body, "name").ok_or_else(AppError::missing)?;
    let allow = match body.get("allow") {
        Some(Value::Array(a)) => {
            let names: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
            if names.len() != a.len() {
                return Err(AppError::bad("allow must be a list of permission names"));
            }
            parse_switches(names)?
        }
        _ => return Err(AppError::bad("allow must be a list of permission names")),
    };
    let limits = Limits {
        per_hour: as_limit(limit_field(&body, "perHour")?),
        per_day: as_limit(limit_field(&body, "perDay")?),
        at_once: as_limit(limit_field(&body, "atOnce")?),
    };
    let p = ctx
        .app
        .permissions()
        .save_profile(&ctx.actor(), &name, allow, limits)
        .await?;
    Ok(reply::json(&p.to_json()))
}

/// `POST /api/permissions/profiles/delete` {name} → 204.
pub async fn delete_profile(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let name = text_field(&body, "name").ok_or_else(AppError::missing)?;
    ctx.app
        .permissions()
        .delete_profile(&ctx.actor(), &name)
        .await?;
    Ok(reply::no_content())
}

/// `POST /api/permissions/users` → every account's profile, limits and counts.
pub async fn users(ctx: &mut Ctx) -> Result<Response, AppError> {
    admin_body(ctx).await?;
    Ok(reply::json(&ctx.app.permissions().overview().await?))
}

/// `POST /api/permissions/users/set` {handle, profile: name|null,
/// perHour?, perDay?, atOnce?} → 204. A null limit keeps the profile's;
/// 0 lifts it for this account.
pub async fn set_user(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let handle = text_field(&body, "handle").ok_or_else(AppError::missing)?;
    let profile = match body.get("profile") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(_) => return Err(AppError::bad("profile must be a name or null")),
    };
    let choice = UserChoice {
        profile,
        per_hour: limit_field(&body, "perHour")?,
        per_day: limit_field(&body, "perDay")?,
        at_once: limit_field(&body, "atOnce")?,
    };
    ctx.app
        .permissions()
        .set_user_permissions(&ctx.actor(), &handle, choice)
        .await?;
    Ok(reply::no_content())
}

/// `POST /api/permissions/usage` {handle} → the last 14 days, per day.
pub async fn usage(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let handle = text_field(&body, "handle").ok_or_else(AppError::missing)?;
    Ok(reply::json(
        &ctx.app.permissions().usage_history(&handle).await?,
    ))
}

/// `POST /api/connections/list` → the connections, without values.
pub async fn list_connections(ctx: &mut Ctx) -> Result<Response, AppError> {
    admin_body(ctx).await?;
    Ok(reply::json(
        &ctx.app.permissions().connections_overview().await?,
    ))
}

/// `POST /api/connections/save` {name, secretKey, value?, endpoint?,
/// models?} → 204. The value is needed for a new connection; without it
/// an existing one keeps its value.
pub async fn save_connection(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let (Some(name), Some(secret_key)) =
        (text_field(&body, "name"), text_field(&body, "secretKey"))
    else {
        return Err(AppError::missing());
    };
    let models = match body.get("models") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|m| m.as_str().map(|s| s.trim().to_string()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| AppError::bad("models must be a list of names"))?
            .into_iter()
            .filter(|m| !m.is_empty())
            .collect(),
        Some(_) => return Err(AppError::bad("models must be a list of names")),
    };
    let spec = Spec {
        name,
        secret_key,
        value: body
            .get("value")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_string),
        endpoint: text_field(&body, "endpoint"),
        models,
    };
    ctx.app
        .permissions()
        .save_connection(&ctx.actor(), spec)
        .await?;
    Ok(reply::no_content())
}

/// `POST /api/connections/delete` {name} → 204.
pub async fn delete_connection(ctx: &mut Ctx) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let name = text_field(&body, "name").ok_or_else(AppError::missing)?;
    ctx.app
        .permissions()
        .delete_connection(&ctx.actor(), &name)
        .await?;
    Ok(reply::no_content())
}

/// `POST /api/connections/grant` and `/revoke` {name, profile | user} → 204.
pub async fn grant(ctx: &mut Ctx, on: bool) -> Result<Response, AppError> {
    let body = admin_body(ctx).await?;
    let name = text_field(&body, "name").ok_or_else(AppError::missing)?;
    let (to, target) = match (text_field(&body, "profile"), text_field(&body, "user")) {
        (Some(p), None) => (GrantTo::Profile, p),
        (None, Some(u)) => (GrantTo::User, u),
        _ => return Err(AppError::bad("Name either a profile or a user")),
    };
    ctx.app
        .permissions()
        .set_grant(&ctx.actor(), &name, to, &target, on)
        .await?;
    Ok(reply::no_content())
}
