//! The permissions layer's operations on the server: profiles and users'
//! choices, shared connections (sealed values, grants, placing them in
//! secrets.json), and usage. Every change an admin makes is audited.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde_json::{json, Value};

use super::connections::{self, Spec, Wanted};
use super::profiles::{self, Effective, Limits, Profile, ADMIN, GUEST};
use super::routes::{normalise_url, Rule};
use super::usage::{self, Running};
use super::{PermissionError, Switch};
use crate::app::{Actor, App};
use crate::error::AppError;
use crate::sealing::{self, Sealer};
use crate::store::permissions::{self as table, ConnectionRow, Grant, UserChoice};
use crate::store::users::UserRow;

/// The key file that seals the connections' values (mode 0600).
pub const KEY_FILE: &str = "connections.key";
const PURPOSE: &str = "innkeeper connection";
/// Days of history in the usage chart.
pub const CHART_DAYS: i64 = 14;
/// Days of hourly counts kept (the day limit needs one, the chart 14).
pub const KEEP_DAYS: i64 = 60;

/// State kept in memory: the sealing key (read once), generations under
/// way, and a lock so secrets files are placed one user at a time.
#[derive(Default)]
pub struct PermissionsState {
    key: OnceLock<[u8; 32]>,
    pub running: Running,
    placing: tokio::sync::Mutex<()>,
}

/// The connections with their values opened, and the grants: what
/// placing needs, read once for however many accounts.
struct OpenConnections {
    rows: Vec<(ConnectionRow, Option<String>)>,
    grants: Vec<Grant>,
}

/// Who a grant names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantTo {
    Profile,
    User,
}

impl GrantTo {
    fn as_str(self) -> &'static str {
        match self {
            GrantTo::Profile => "profile",
            GrantTo::User => "user",
        }
    }
}

/// Permission profiles, shared connections and usage, working on
/// [`PermissionsState`]: a view borrowed from [`App`], so services can call
/// each other without `Arc` cycles.
pub struct Permissions<'a> {
    app: &'a App,
}

impl App {
    /// Permission profiles, shared connections and usage.
    pub fn permissions(&self) -> Permissions<'_> {
        Permissions { app: self }
    }
}

impl Permissions<'_> {
    fn connection_sealer(&self) -> Result<Sealer, AppError> {
        let key = match self.app.permissions.key.get() {
            Some(k) => *k,
            None => {
                let k = sealing::load_or_create_key(&self.app.data_root, KEY_FILE)
                    .map_err(|e| AppError::Storage(format!("the connections key file: {e}")))?;
                *self.app.permissions.key.get_or_init(|| k)
            }
        };
        Ok(Sealer::new(key, PURPOSE))
    }

    /// Every profile, built-in ones first.
    pub async fn profiles(&self) -> Result<Vec<Profile>, AppError> {
        let rows = self.app.store.run(|c| table::profiles(c)).await?;
        Ok(rows.iter().map(Profile::from_row).collect())
    }

    /// `user`'s permissions as they apply now (read from the database on
    /// every call, so an admin's change applies to the next request).
    pub async fn effective(&self, user: &UserRow) -> Result<Effective, AppError> {
        let (h, admin) = (user.handle.clone(), user.admin);
        let default = self.app.config.permissions.default_profile.clone();
        Ok(self
            .app
            .store
            .run_quick(move |c| {
                let choice = table::user_choice(c, &h)?;
                let wanted = if admin {
                    ADMIN.to_string()
                } else {
                    choice.profile.clone().unwrap_or_else(|| default.clone())
                };
                let rows = [table::profile(c, &wanted)?, table::profile(c, GUEST)?];
                Ok(profiles::resolve(admin, &choice, &default, |n| {
                    rows.iter()
                        .flatten()
                        .find(|r| r.name == n)
                        .map(Profile::from_row)
                }))
            })
            .await?)
    }

    /// A refusal by the permissions layer, audited (limits are not: they
    /// are the normal end of a busy day, not an attempt).
    pub async fn refused(&self, actor: &Actor, route: &str, e: PermissionError) -> AppError {
        if !matches!(e, PermissionError::Limited { .. }) {
            self.app
                .audit(
                    actor,
                    "permission.denied",
                    actor.handle.as_deref(),
                    Some(format!("{route}: {e}")),
                )
                .await;
        }
        e.into()
    }

    /// Creates or changes a profile.
    pub async fn save_profile(
        &self,
        actor: &Actor,
        name: &str,
        allow: BTreeSet<Switch>,
        limits: Limits,
    ) -> Result<Profile, AppError> {
        profiles::check_name(name)?;
        let existing = {
            let n = name.to_string();
            self.app.store.run(move |c| table::profile(c, &n)).await?
        };
        let profile = Profile {
            name: name.to_string(),
            builtin: existing.as_ref().is_some_and(|r| r.builtin),
            allow,
            limits,
        };
        let row = profile.to_row();
        let now = self.app.clock.now_ms();
        let stored = row.clone();
        self.app
            .store
            .run(move |c| table::put_profile(c, &stored, now))
            .await?;
        let detail = format!(
            "allow={} perHour={:?} perDay={:?} atOnce={:?}",
            row.allow, limits.per_hour, limits.per_day, limits.at_once
        );
        let action = if existing.is_some() {
            "profile.change"
        } else {
            "profile.create"
        };
        self.app
            .audit(actor, action, Some(name), Some(detail))
            .await;
        // Read back as stored (the admin profile allows everything).
        Ok(Profile::from_row(&row))
    }

    /// Deletes a profile that is neither built in nor the configured
    /// default; its users fall back to the default, its grants go.
    pub async fn delete_profile(&self, actor: &Actor, name: &str) -> Result<(), AppError> {
        if name == self.app.config.permissions.default_profile {
            return Err(PermissionError::Conflict(format!(
                "'{name}' is the default profile (permissions.defaultProfile); change that first"
            ))
            .into());
        }
        let n = name.to_string();
        let (row, deleted) = self
            .app
            .store
            .run(move |c| {
                let row = table::profile(c, &n)?;
                let deleted = table::delete_profile(c, &n)?;
                Ok((row, deleted))
            })
            .await?;
        match row {
            None => return Err(PermissionError::NotFound(format!("No profile '{name}'")).into()),
            Some(r) if r.builtin => {
                return Err(PermissionError::Conflict(format!(
                    "'{name}' is built in and cannot be deleted"
                ))
                .into())
            }
            _ => {}
        }
        if deleted {
            self.app
                .audit(actor, "profile.delete", Some(name), None)
                .await;
            self.place_shared_everywhere().await;
        }
        Ok(())
    }

    /// Sets an account's profile (None: the default) and limit overrides.
    pub async fn set_user_permissions(
        &self,
        actor: &Actor,
        handle: &str,
        choice: UserChoice,
    ) -> Result<(), AppError> {
        self.app.accounts().require_user(handle).await?;
        if let Some(p) = &choice.profile {
            let n = p.clone();
            if self
                .app
                .store
                .run(move |c| table::profile(c, &n))
                .await?
                .is_none()
            {
                return Err(PermissionError::NotFound(format!("No profile '{p}'")).into());
            }
        }
        let detail = format!(
            "profile={} perHour={:?} perDay={:?} atOnce={:?}",
            choice.profile.as_deref().unwrap_or("(default)"),
            choice.per_hour,
            choice.per_day,
            choice.at_once
        );
        let h = handle.to_string();
        self.app
            .store
            .run(move |c| table::put_user_choice(c, &h, &choice))
            .await?;
        self.app
            .audit(actor, "user.permissions", Some(handle), Some(detail))
            .await;
        self.place_shared(handle).await?;
        Ok(())
    }

    /// Every account's profile, overrides, limits and counts, for admins.
    pub async fn overview(&self) -> Result<Value, AppError> {
        let users = self.app.users().await?;
        let now = self.app.clock.now_ms();
        let mut out = Vec::new();
        for u in users.list.iter() {
            let eff = self.effective(u).await?;
            let h = u.handle.clone();
            let (choice, counts) = self
                .app
                .store
                .run(move |c| Ok((table::user_choice(c, &h)?, usage::counts(c, &h, now)?)))
                .await?;
            out.push(json!({
                "handle": u.handle,
                "profile": eff.profile.name,
                "chosen": choice.profile,
                "overrides": {
                    "perHour": choice.per_hour,
                    "perDay": choice.per_day,
                    "atOnce": choice.at_once,
                },
                "limits": eff.limits,
                "usage": counts,
                "running": self.app.permissions.running.of(&u.handle),
            }));
        }
        Ok(Value::Array(out))
    }

    /// What `user` may do and how much they have used: the account page's
    /// "Permissions" card.
    pub async fn own_permissions(&self, user: &UserRow) -> Result<Value, AppError> {
        let eff = self.effective(user).await?;
        let now = self.app.clock.now_ms();
        let h = user.handle.clone();
        let (counts, placed) = self
            .app
            .store
            .run(move |c| Ok((usage::counts(c, &h, now)?, table::placed(c, &h)?)))
            .await?;
        let (hour_resets, day_resets) = usage::resets(now);
        Ok(json!({
            "profile": eff.profile.name,
            "switches": Switch::ALL.iter().map(|s| json!({
                "name": s.name(),
                "label": s.describe(),
                "allowed": eff.profile.allows(*s),
            })).collect::<Vec<_>>(),
            "limits": eff.limits,
            "usage": counts,
            "running": self.app.permissions.running.of(&user.handle),
            "resets": { "hour": hour_resets, "day": day_resets },
            "shared": placed.iter().map(|(key, conn)| json!({ "name": conn, "secretKey": key })).collect::<Vec<_>>(),
        }))
    }

    /// Daily generation counts of the last two weeks, for the admin chart.
    pub async fn usage_history(&self, handle: &str) -> Result<Value, AppError> {
        let user = self.app.accounts().require_user(handle).await?;
        let eff = self.effective(&user).await?;
        let now = self.app.clock.now_ms();
        let h = handle.to_string();
        let (days, counts) = self
            .app
            .store
            .run(move |c| {
                Ok((
                    usage::daily(c, &h, now, CHART_DAYS)?,
                    usage::counts(c, &h, now)?,
                ))
            })
            .await?;
        Ok(json!({
            "handle": handle,
            "profile": eff.profile.name,
            "limits": eff.limits,
            "usage": counts,
            "days": days.iter().map(|(d, n)| json!({ "day": d, "count": n })).collect::<Vec<_>>(),
        }))
    }

    /// The connections without their values, each with its grants.
    pub async fn connections_overview(&self) -> Result<Value, AppError> {
        let (rows, grants) = self
            .app
            .store
            .run(|c| Ok((table::connections(c)?, table::grants(c)?)))
            .await?;
        Ok(Value::Array(
            rows.iter()
                .map(|r| {
                    let granted = |kind: &str| {
                        grants
                            .iter()
                            .filter(|g| g.connection == r.name && g.kind == kind)
                            .map(|g| g.target.clone())
                            .collect::<Vec<_>>()
                    };
                    json!({
                        "name": r.name,
                        "secretKey": r.secret_key,
                        "endpoint": r.endpoint,
                        "models": models_of(r),
                        "profiles": granted("profile"),
                        "users": granted("user"),
                        "created": r.created,
                        "updated": r.updated,
                    })
                })
                .collect(),
        ))
    }

    /// Stores a connection (a new one needs its value; a changed one keeps
    /// its value unless a new one is given) and places it again.
    pub async fn save_connection(&self, actor: &Actor, spec: Spec) -> Result<(), AppError> {
        spec.check()?;
        let name = spec.name.clone();
        let existing = {
            let n = name.clone();
            self.app
                .store
                .run(move |c| table::connection(c, &n))
                .await?
        };
        let sealer = self.connection_sealer()?;
        let value = match (&spec.value, &existing) {
            (Some(v), _) => sealer.seal(&name, v.as_bytes()),
            (None, Some(row)) => row.value.clone(),
            (None, None) => {
                return Err(PermissionError::Invalid(
                    "A new connection needs the key's value".into(),
                )
                .into())
            }
        };
        let now = self.app.clock.now_ms();
        let row = ConnectionRow {
            name: name.clone(),
            secret_key: spec.secret_key.clone(),
            value,
            endpoint: spec.endpoint.as_deref().map(str::trim).map(str::to_string),
            models: (!spec.models.is_empty())
                .then(|| serde_json::to_string(&spec.models).unwrap_or_default()),
            created: existing.as_ref().map_or(now, |r| r.created),
            updated: now,
        };
        self.app
            .store
            .run(move |c| table::put_connection(c, &row))
            .await?;
        // The value never reaches the log or the audit row.
        let detail = format!(
            "key={} endpoint={} models={} value={}",
            spec.secret_key,
            spec.endpoint.as_deref().unwrap_or("(built in)"),
            spec.models.len(),
            if spec.value.is_some() { "new" } else { "kept" }
        );
        let action = if existing.is_some() {
            "connection.change"
        } else {
            "connection.create"
        };
        self.app
            .audit(actor, action, Some(&name), Some(detail))
            .await;
        self.place_shared_everywhere().await;
        Ok(())
    }

    /// Deletes a connection and takes its value out of every secrets file.
    pub async fn delete_connection(&self, actor: &Actor, name: &str) -> Result<(), AppError> {
        let n = name.to_string();
        if !self
            .app
            .store
            .run(move |c| table::delete_connection(c, &n))
            .await?
        {
            return Err(PermissionError::NotFound(format!("No connection '{name}'")).into());
        }
        self.app
            .audit(actor, "connection.delete", Some(name), None)
            .await;
        self.place_shared_everywhere().await;
        Ok(())
    }

    /// Grants a connection to a profile or a user, or (`on` false)
    /// revokes that grant; the secrets files follow at once.
    pub async fn set_grant(
        &self,
        actor: &Actor,
        name: &str,
        to: GrantTo,
        target: &str,
        on: bool,
    ) -> Result<(), AppError> {
        let (n, t) = (name.to_string(), target.to_string());
        let (conn, profile) = self
            .app
            .store
            .run(move |c| Ok((table::connection(c, &n)?, table::profile(c, &t)?)))
            .await?;
        if conn.is_none() {
            return Err(PermissionError::NotFound(format!("No connection '{name}'")).into());
        }
        match to {
            GrantTo::Profile if on && profile.is_none() => {
                return Err(PermissionError::NotFound(format!("No profile '{target}'")).into())
            }
            GrantTo::User if on => {
                self.app.accounts().require_user(target).await?;
            }
            _ => {}
        }
        let g = Grant {
            connection: name.to_string(),
            kind: to.as_str().to_string(),
            target: target.to_string(),
        };
        let changed = self
            .app
            .store
            .run(move |c| table::set_grant(c, &g, on))
            .await?;
        if changed {
            let action = if on {
                "connection.grant"
            } else {
                "connection.revoke"
            };
            self.app
                .audit(
                    actor,
                    action,
                    Some(name),
                    Some(format!("{}={target}", to.as_str())),
                )
                .await;
            self.place_shared_everywhere().await;
        }
        Ok(())
    }

    /// Brings every account's secrets file in line with the grants. The
    /// connections are read and opened once for all accounts; a failure
    /// for one account is logged and the others go on.
    pub async fn place_shared_everywhere(&self) {
        let (Ok(users), Ok(shared)) = (self.app.users().await, self.open_connections().await)
        else {
            return;
        };
        for u in users.list.iter() {
            let placed = match self.wanted_secrets(u, &shared).await {
                Ok(wanted) => self.write_placements(&u.handle, wanted).await,
                Err(e) => Err(e),
            };
            if let Err(e) = placed {
                tracing::warn!("cannot update the shared keys of {}: {e}", u.handle);
            }
        }
    }

    /// Writes the values of the connections granted to `handle` into
    /// their secrets.json and takes out those no longer granted.
    pub async fn place_shared(&self, handle: &str) -> Result<(), AppError> {
        let wanted = match self.app.accounts().find_user(handle).await? {
            Some(user) => {
                let shared = self.open_connections().await?;
                self.wanted_secrets(&user, &shared).await?
            }
            None => Wanted::new(),
        };
        self.write_placements(handle, wanted).await
    }

    /// Takes every shared value out of `handle`'s secrets.json (before the
    /// account is deleted and its folder kept).
    pub async fn unplace_shared(&self, handle: &str) -> Result<(), AppError> {
        self.write_placements(handle, Wanted::new()).await
    }

    async fn write_placements(&self, handle: &str, wanted: Wanted) -> Result<(), AppError> {
        let _one_at_a_time = self.app.permissions.placing.lock().await;
        let h = handle.to_string();
        let before: Vec<String> = self
            .app
            .store
            .run(move |c| table::placed(c, &h))
            .await?
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        if before.is_empty() && wanted.is_empty() {
            return Ok(());
        }
        let Some(dir) = self.app.user_dir(handle).filter(|d| d.is_dir()) else {
            return Ok(());
        };
        let record: Vec<(String, String)> = wanted
            .iter()
            .map(|(k, (conn, _))| (k.clone(), conn.clone()))
            .collect();
        tokio::task::spawn_blocking(move || connections::place(&dir, &before, &wanted))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))??;
        let h = handle.to_string();
        self.app
            .store
            .run(move |c| table::set_placed(c, &h, &record))
            .await?;
        Ok(())
    }

    /// Every connection with its value opened (None when it does not open
    /// with the key file: logged, and left out of every secrets file), and
    /// every grant.
    async fn open_connections(&self) -> Result<OpenConnections, AppError> {
        let (rows, grants) = self
            .app
            .store
            .run(|c| Ok((table::connections(c)?, table::grants(c)?)))
            .await?;
        let sealer = self.connection_sealer()?;
        let rows = rows
            .into_iter()
            .map(|r| {
                let value = sealer
                    .open(&r.name, &r.value)
                    .and_then(|v| String::from_utf8(v).ok());
                if value.is_none() {
                    tracing::error!(
                        "the connection {} does not open with {KEY_FILE}: set its value again",
                        r.name
                    );
                }
                (r, value)
            })
            .collect();
        Ok(OpenConnections { rows, grants })
    }

    /// The shared values `user` should have: grants to them first, then
    /// to their profile, each by connection name; one per secret key.
    async fn wanted_secrets(
        &self,
        user: &UserRow,
        shared: &OpenConnections,
    ) -> Result<Wanted, AppError> {
        let eff = self.effective(user).await?;
        let mut wanted = Wanted::new();
        for (kind, target) in [("user", &user.handle), ("profile", &eff.profile.name)] {
            for g in shared
                .grants
                .iter()
                .filter(|g| g.kind == kind && &g.target == target)
            {
                let Some((r, Some(value))) =
                    shared.rows.iter().find(|(r, _)| r.name == g.connection)
                else {
                    continue;
                };
                wanted
                    .entry(r.secret_key.clone())
                    .or_insert_with(|| (r.name.clone(), value.clone()));
            }
        }
        Ok(wanted)
    }

    /// The rules of the shared connections placed for `handle`.
    pub async fn shared_rules(&self, handle: &str) -> Result<Vec<Rule>, AppError> {
        let h = handle.to_string();
        let (placed, rows) = self
            .app
            .store
            .run_quick(move |c| Ok((table::placed(c, &h)?, table::connections(c)?)))
            .await?;
        Ok(placed
            .iter()
            .filter_map(|(key, conn)| {
                let r = rows.iter().find(|r| &r.name == conn)?;
                Some(Rule {
                    name: r.name.clone(),
                    secret_key: key.clone(),
                    endpoint: r.endpoint.as_deref().map(normalise_url),
                    models: models_of(r),
                })
            })
            .collect())
    }

    /// The secret keys shared with `handle` (kept out of their backups).
    pub async fn shared_keys(&self, handle: &str) -> Result<Vec<String>, AppError> {
        let h = handle.to_string();
        Ok(self
            .app
            .store
            .run(move |c| table::placed(c, &h))
            .await?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }

    /// Drops hourly generation counts older than [`KEEP_DAYS`].
    pub async fn prune_usage(&self) {
        let before = usage::hour_of(self.app.clock.now_ms()) - KEEP_DAYS * usage::HOURS_PER_DAY;
        match self
            .app
            .store
            .run(move |c| table::prune_generations(c, before))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::debug!("dropped {n} old generation count(s)"),
            Err(e) => tracing::warn!("cannot drop old generation counts: {e}"),
        }
    }

    /// Checks the usage limits of `handle` and counts one generation.
    pub async fn count_generation(
        &self,
        handle: &str,
        limits: Limits,
    ) -> Result<usage::Counts, AppError> {
        let now = self.app.clock.now_ms();
        let h = handle.to_string();
        Ok(self
            .app
            .store
            .run_quick(move |c| usage::take(c, &h, &limits, now))
            .await??)
    }
}

fn models_of(r: &ConnectionRow) -> Vec<String> {
    r.models
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or_default()
}
