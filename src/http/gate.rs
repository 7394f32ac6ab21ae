//! The permission checks on the way to a user's SillyTavern: the rules are
//! in `permissions`, this reads what they need from the request. Requests no permission touches pass untouched (nothing is
//! read, nothing is asked of the database); the others are checked in a
//! fixed order — the switch, the shared connections' rules, the
//! `before_generate` hook, then the limits (so a refused request never
//! uses up a limit) — with their body read once and passed on as read.

use bytes::Bytes;
use serde_json::Value;

use crate::app::App;
use crate::error::AppError;
use crate::fields;
use crate::hooks::EventKind;
use crate::http::context::Ctx;
use crate::permissions::routes::{self, GenKind, Guarded, SecretsCall};
use crate::permissions::usage::RunningGuard;
use crate::permissions::{fetch_target, PermissionError, Switch};
use crate::store::users::UserRow;

/// What a request that may go on carries with it.
#[derive(Default)]
pub struct Passed {
    /// The body, when it was read for the checks: forward these bytes.
    pub body: Option<Bytes>,
    /// The generation's place among those running at once, given back
    /// when its answer ends.
    pub running: Option<RunningGuard>,
    /// Shared keys to take out of the answer (`/api/secrets/view`).
    pub hide: Vec<String>,
}

/// Checks a request of `user` for their hosted app; `path` is normalised.
pub async fn check(ctx: &mut Ctx, user: &UserRow, path: &str) -> Result<Passed, AppError> {
    let Some(guarded) = routes::classify(path) else {
        return Ok(Passed::default());
    };
    let app = ctx.app.clone();
    match judge(ctx, &app, user, path, guarded).await {
        Ok(p) => Ok(p),
        Err(Refusal::Permission(e)) => Err(app.permissions().refused(&ctx.actor(), path, e).await),
        Err(Refusal::Other(e)) => Err(e),
    }
}

enum Refusal {
    Permission(PermissionError),
    Other(AppError),
}

impl From<PermissionError> for Refusal {
    fn from(e: PermissionError) -> Self {
        Refusal::Permission(e)
    }
}

impl From<AppError> for Refusal {
    fn from(e: AppError) -> Self {
        Refusal::Other(e)
    }
}

async fn judge(
    ctx: &mut Ctx,
    app: &App,
    user: &UserRow,
    path: &str,
    guarded: Guarded,
) -> Result<Passed, Refusal> {
    let eff = app.permissions().effective(user).await?;
    let require = |s: Switch| {
        if eff.profile.allows(s) {
            Ok(())
        } else {
            Err(PermissionError::Denied(s))
        }
    };
    let mut passed = Passed::default();
    match guarded {
        Guarded::Plain(s) => require(s)?,
        Guarded::ImportUrl => {
            require(Switch::ContentImportUrl)?;
            let (bytes, body) = read_json(ctx).await?;
            passed.body = Some(bytes);
            if !app.config.permissions.allow_private_fetch {
                if let Some(url) = body.get("url").and_then(Value::as_str) {
                    fetch_target::check(url).await?;
                }
            }
        }
        Guarded::Secrets(call) => {
            let shared = app.permissions().shared_keys(&user.handle).await?;
            match call {
                SecretsCall::View => {
                    require(Switch::SecretsOwn)?;
                    passed.hide = shared;
                }
                SecretsCall::Write | SecretsCall::Find => {
                    let (bytes, body) = read_json(ctx).await?;
                    passed.body = Some(bytes);
                    let key = body.get("key").and_then(Value::as_str).unwrap_or("");
                    if shared.iter().any(|k| k == key) {
                        let what = if call == SecretsCall::Write {
                            "replace"
                        } else {
                            "read"
                        };
                        return Err(PermissionError::SharedKey(format!(
                            "{what} the shared key '{key}'"
                        ))
                        .into());
                    }
                    require(Switch::SecretsOwn)?;
                }
            }
        }
        Guarded::Backend => {
            let rules = app.permissions().shared_rules(&user.handle).await?;
            if !rules.is_empty() {
                let (bytes, body) = read_json(ctx).await?;
                passed.body = Some(bytes);
                routes::check_connection(path, &body, &rules, false)?;
            }
        }
        Guarded::Generate(kind) => {
            require(Switch::Generate)?;
            let (bytes, body) = read_json(ctx).await?;
            passed.body = Some(bytes);
            let rules = app.permissions().shared_rules(&user.handle).await?;
            routes::check_connection(path, &body, &rules, kind == GenKind::Text)?;
            let actor = ctx.actor();
            app.hook_before(
                EventKind::BeforeGenerate,
                Some(&user.handle),
                &actor,
                fields! {
                    "handle" => user.handle,
                    "route" => path,
                    "kind" => kind.name(),
                    "source" => routes::source_of(&body),
                    "model" => routes::model_of(&body),
                    "profile" => eff.profile.name,
                },
            )
            .await
            .map_err(|e| match e {
                AppError::Forbidden(reason) => {
                    Refusal::Permission(PermissionError::Refused(reason))
                }
                other => Refusal::Other(other),
            })?;
            let now = app.clock.now_ms();
            let place = app
                .permissions
                .running
                .enter(&user.handle, eff.limits.at_once, now)?;
            app.permissions()
                .count_generation(&user.handle, eff.limits)
                .await?;
            passed.running = Some(place);
        }
    }
    Ok(passed)
}

/// Reads the body to check it. It must be what SillyTavern's JSON parser
/// would read too: a compressed body, or one declared JSON that does not
/// parse here (another charset, say), is refused rather than passed on
/// unread. A body not declared JSON is `{}` to SillyTavern, and here.
async fn read_json(ctx: &mut Ctx) -> Result<(Bytes, Value), AppError> {
    if ctx
        .req
        .header("content-encoding")
        .is_some_and(|v| !v.trim().eq_ignore_ascii_case("identity"))
    {
        return Err(AppError::bad(
            "Compressed request bodies are not accepted for this route",
        ));
    }
    let limit = ctx.app.config.limits.settings_mb * 1024 * 1024;
    ctx.req.json_and_bytes(limit).await
}
