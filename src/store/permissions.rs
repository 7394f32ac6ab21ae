//! Tables of permission profiles, users' profile choices and limit
//! overrides, shared connections with their grants and placements, and
//! the hourly generation counts (schema step 7).

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::StoreError;

/// A profile as stored; `allow` is the comma-separated switch names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRow {
    pub name: String,
    pub builtin: bool,
    pub allow: String,
    pub per_hour: Option<i64>,
    pub per_day: Option<i64>,
    pub at_once: Option<i64>,
}

/// A user's choices: None = the default profile / the profile's limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChoice {
    pub profile: Option<String>,
    pub per_hour: Option<i64>,
    pub per_day: Option<i64>,
    pub at_once: Option<i64>,
}

/// A shared connection as stored (`value` sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRow {
    pub name: String,
    pub secret_key: String,
    pub value: String,
    pub endpoint: Option<String>,
    /// JSON array of model names, or None for any.
    pub models: Option<String>,
    pub created: i64,
    pub updated: i64,
}

/// Who a connection is granted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub connection: String,
    /// "profile" or "user".
    pub kind: String,
    pub target: String,
}

fn profile_from(r: &Row<'_>) -> rusqlite::Result<ProfileRow> {
    Ok(ProfileRow {
        name: r.get(0)?,
        builtin: r.get(1)?,
        allow: r.get(2)?,
        per_hour: r.get(3)?,
        per_day: r.get(4)?,
        at_once: r.get(5)?,
    })
}

const PROFILE_COLUMNS: &str = "name, builtin, allow, per_hour, per_day, at_once";

pub fn profiles(conn: &Connection) -> Result<Vec<ProfileRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PROFILE_COLUMNS} FROM profiles ORDER BY builtin DESC, created, name"
    ))?;
    let rows = stmt.query_map([], profile_from)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn profile(conn: &Connection, name: &str) -> Result<Option<ProfileRow>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {PROFILE_COLUMNS} FROM profiles WHERE name = ?1"),
            [name],
            profile_from,
        )
        .optional()?)
}

/// Creates or updates a profile (the built-in flag is never changed here).
pub fn put_profile(conn: &Connection, p: &ProfileRow, now: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO profiles (name, builtin, allow, per_hour, per_day, at_once, created)
         VALUES (?1, 0, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(name) DO UPDATE SET allow = ?2, per_hour = ?3, per_day = ?4, at_once = ?5",
        params![p.name, p.allow, p.per_hour, p.per_day, p.at_once, now],
    )?;
    Ok(())
}

/// Deletes a profile that is not built in: its users fall back to the
/// default and its grants go. False when there was no such profile.
pub fn delete_profile(conn: &mut Connection, name: &str) -> Result<bool, StoreError> {
    let tx = conn.transaction()?;
    let n = tx.execute(
        "DELETE FROM profiles WHERE name = ?1 AND builtin = 0",
        [name],
    )?;
    if n == 1 {
        tx.execute(
            "UPDATE user_permissions SET profile = NULL WHERE profile = ?1",
            [name],
        )?;
        tx.execute(
            "DELETE FROM connection_grants WHERE kind = 'profile' AND target = ?1",
            [name],
        )?;
    }
    tx.commit()?;
    Ok(n == 1)
}

pub fn user_choice(conn: &Connection, handle: &str) -> Result<UserChoice, StoreError> {
    Ok(conn
        .query_row(
            "SELECT profile, per_hour, per_day, at_once FROM user_permissions WHERE handle = ?1",
            [handle],
            |r| {
                Ok(UserChoice {
                    profile: r.get(0)?,
                    per_hour: r.get(1)?,
                    per_day: r.get(2)?,
                    at_once: r.get(3)?,
                })
            },
        )
        .optional()?
        .unwrap_or_default())
}

/// Every user's explicit choice (users without a row use the defaults).
pub fn user_choices(conn: &Connection) -> Result<Vec<(String, UserChoice)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT handle, profile, per_hour, per_day, at_once FROM user_permissions",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            UserChoice {
                profile: r.get(1)?,
                per_hour: r.get(2)?,
                per_day: r.get(3)?,
                at_once: r.get(4)?,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn put_user_choice(conn: &Connection, handle: &str, c: &UserChoice) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO user_permissions (handle, profile, per_hour, per_day, at_once)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(handle) DO UPDATE SET profile = ?2, per_hour = ?3, per_day = ?4, at_once = ?5",
        params![handle, c.profile, c.per_hour, c.per_day, c.at_once],
    )?;
    Ok(())
}

fn connection_from(r: &Row<'_>) -> rusqlite::Result<ConnectionRow> {
    Ok(ConnectionRow {
        name: r.get(0)?,
        secret_key: r.get(1)?,
        value: r.get(2)?,
        endpoint: r.get(3)?,
        models: r.get(4)?,
        created: r.get(5)?,
        updated: r.get(6)?,
    })
}

const CONNECTION_COLUMNS: &str = "name, secret_key, value, endpoint, models, created, updated";

pub fn connections(conn: &Connection) -> Result<Vec<ConnectionRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CONNECTION_COLUMNS} FROM connections ORDER BY name"
    ))?;
    let rows = stmt.query_map([], connection_from)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn connection(conn: &Connection, name: &str) -> Result<Option<ConnectionRow>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE name = ?1"),
            [name],
            connection_from,
        )
        .optional()?)
}

pub fn put_connection(conn: &Connection, c: &ConnectionRow) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO connections (name, secret_key, value, endpoint, models, created, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(name) DO UPDATE SET secret_key = ?2, value = ?3, endpoint = ?4,
             models = ?5, updated = ?7",
        params![
            c.name,
            c.secret_key,
            c.value,
            c.endpoint,
            c.models,
            c.created,
            c.updated
        ],
    )?;
    Ok(())
}

pub fn delete_connection(conn: &Connection, name: &str) -> Result<bool, StoreError> {
    Ok(conn.execute("DELETE FROM connections WHERE name = ?1", [name])? == 1)
}

pub fn grants(conn: &Connection) -> Result<Vec<Grant>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT connection, kind, target FROM connection_grants ORDER BY connection, kind, target",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Grant {
            connection: r.get(0)?,
            kind: r.get(1)?,
            target: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Adds (or with `on` false removes) a grant; true when something changed.
pub fn set_grant(conn: &Connection, g: &Grant, on: bool) -> Result<bool, StoreError> {
    let sql = if on {
        "INSERT OR IGNORE INTO connection_grants (connection, kind, target) VALUES (?1, ?2, ?3)"
    } else {
        "DELETE FROM connection_grants WHERE connection = ?1 AND kind = ?2 AND target = ?3"
    };
    Ok(conn.execute(sql, params![g.connection, g.kind, g.target])? == 1)
}

/// The shared secrets written into `handle`'s secrets.json: key → connection.
pub fn placed(conn: &Connection, handle: &str) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT secret_key, connection FROM placed_secrets WHERE handle = ?1 ORDER BY secret_key",
    )?;
    let rows = stmt.query_map([handle], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Replaces the record of what is placed for `handle`.
pub fn set_placed(
    conn: &mut Connection,
    handle: &str,
    placed: &[(String, String)],
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM placed_secrets WHERE handle = ?1", [handle])?;
    for (key, connection) in placed {
        tx.execute(
            "INSERT INTO placed_secrets (handle, secret_key, connection) VALUES (?1, ?2, ?3)",
            params![handle, key, connection],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Handles with anything placed.
pub fn handles_with_placements(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT DISTINCT handle FROM placed_secrets")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Generations of `handle` in hours `from..=to`.
pub fn generations_between(
    conn: &Connection,
    handle: &str,
    from: i64,
    to: i64,
) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT COALESCE(SUM(count), 0) FROM generations WHERE handle = ?1 AND hour BETWEEN ?2 AND ?3",
        params![handle, from, to],
        |r| r.get(0),
    )?)
}

/// Counts one generation of `handle` in `hour`.
pub fn count_generation(conn: &Connection, handle: &str, hour: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO generations (handle, hour, count) VALUES (?1, ?2, 1)
         ON CONFLICT(handle, hour) DO UPDATE SET count = count + 1",
        params![handle, hour],
    )?;
    Ok(())
}

/// Per-hour counts of `handle` from hour `from` on.
pub fn generation_hours(
    conn: &Connection,
    handle: &str,
    from: i64,
) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT hour, count FROM generations WHERE handle = ?1 AND hour >= ?2 ORDER BY hour",
    )?;
    let rows = stmt.query_map(params![handle, from], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Drops counts older than `before` (an hour number); how many rows went.
pub fn prune_generations(conn: &Connection, before: i64) -> Result<usize, StoreError> {
    Ok(conn.execute("DELETE FROM generations WHERE hour < ?1", [before])?)
}
