//! Safety at start (SPEC §9): refuse an unsafe setup when listening beyond
//! loopback, warn about it on loopback, and warn about accounts without
//! passwords, loudest for admins.

use crate::app::App;
use crate::error::AppError;

/// What the start-up check found.
#[derive(Debug, Default)]
pub struct Verdict {
    pub warnings: Vec<String>,
    /// Warnings that must not be missed (unsafe setups started anyway
    /// beyond loopback with `securityOverride`): logged as errors.
    pub loud: Vec<String>,
    /// Reasons to refuse to start (empty: start).
    pub refusals: Vec<String>,
}

pub async fn check(app: &App) -> Result<Verdict, AppError> {
    let c = &app.config;
    let mut problems = Vec::new();
    if !c.whitelist_mode && !c.basic_auth_mode && !c.enable_user_accounts {
        problems.push(
            "there is no whitelist, no basic auth and no user accounts: anyone who can reach \
             the port gets in. Turn on whitelistMode, basicAuthMode or enableUserAccounts."
                .to_string(),
        );
    }
    let mut v = Verdict::default();
    if c.enable_user_accounts {
        for u in app
            .accounts()
            .list_users()
            .await?
            .iter()
            .filter(|u| u.enabled && u.password.is_none())
        {
            if u.admin {
                problems.push(format!(
                    "the admin account '{}' has no password. Set one with: innkeeper recover {} <password>",
                    u.handle, u.handle
                ));
            } else {
                v.warnings.push(format!(
                    "the account '{}' has no password: anyone who can reach the server can use it",
                    u.handle
                ));
            }
        }
    }
    if c.disable_csrf_protection {
        v.warnings.push(
            "CSRF protection is OFF (disableCsrfProtection): other websites can act as your users"
                .into(),
        );
    }
    if c.listen && !c.security_override {
        v.refusals = problems;
    } else if c.listen {
        v.loud.extend(
            problems
                .into_iter()
                .map(|p| format!("securityOverride is on, starting anyway: {p}")),
        );
    } else {
        // On loopback these are warnings only (SPEC §9), so the first start
        // on the defaults is not an error; they come first, the loudest.
        v.warnings.splice(0..0, problems);
    }
    Ok(v)
}
