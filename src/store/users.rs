//! The `users` table.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::StoreError;

/// One account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub handle: String,
    pub name: String,
    pub created: i64,
    /// PHC string, or a SillyTavern base64 hash when `legacy_salt` is set.
    pub password: Option<String>,
    pub legacy_salt: Option<String>,
    pub admin: bool,
    pub enabled: bool,
    /// Custom avatar as a data URL.
    pub avatar: Option<String>,
    /// Persona picture file name (in `User Avatars/`) taken from settings.json.
    pub persona_avatar: Option<String>,
    /// A short hash of `avatar`, made when the row is read: its ETag and
    /// the version in its URL. Not stored.
    pub avatar_tag: Option<String>,
    /// The password was set by an admin for one use: the user must choose
    /// their own before anything else works.
    pub must_change: bool,
    /// Signed up and waiting for an admin's approval (also disabled).
    pub pending: bool,
    /// Storage quota in MiB overriding the configured default (Some(0):
    /// none for this account).
    pub quota_mb: Option<i64>,
    /// Two-factor login is on (read from the `two_factor` table; written
    /// only there).
    pub two_factor: bool,
}

impl UserRow {
    /// A new enabled account with nothing else set: no password, no
    /// avatar, not an admin. Callers set the rest with struct update.
    pub fn new(handle: &str, name: &str, created: i64) -> UserRow {
        UserRow {
            handle: handle.to_string(),
            name: name.to_string(),
            created,
            password: None,
            legacy_salt: None,
            admin: false,
            enabled: true,
            avatar: None,
            persona_avatar: None,
            avatar_tag: None,
            must_change: false,
            pending: false,
            quota_mb: None,
            two_factor: false,
        }
    }
}

/// The tag of a custom avatar (see [`UserRow::avatar_tag`]).
pub fn avatar_tag(avatar: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(avatar.as_bytes())[..8])
}

const COLUMNS: &str = "handle, name, created, password, legacy_salt, admin, enabled, avatar, \
     persona_avatar, must_change, pending, quota_mb";

/// What a read selects: the stored columns and whether two-factor login is on.
const SELECTED: &str = "handle, name, created, password, legacy_salt, admin, enabled, avatar, \
     persona_avatar, must_change, pending, quota_mb, \
     EXISTS (SELECT 1 FROM two_factor t WHERE t.handle = users.handle AND t.enabled = 1)";

fn from_row(r: &Row<'_>) -> rusqlite::Result<UserRow> {
    let avatar: Option<String> = r.get(7)?;
    Ok(UserRow {
        avatar_tag: avatar.as_deref().map(avatar_tag),
        handle: r.get(0)?,
        name: r.get(1)?,
        created: r.get(2)?,
        password: r.get(3)?,
        legacy_salt: r.get(4)?,
        admin: r.get(5)?,
        enabled: r.get(6)?,
        avatar,
        persona_avatar: r.get(8)?,
        must_change: r.get(9)?,
        pending: r.get(10)?,
        quota_mb: r.get(11)?,
        two_factor: r.get(12)?,
    })
}

pub fn get(conn: &Connection, handle: &str) -> Result<Option<UserRow>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {SELECTED} FROM users WHERE handle = ?1"),
            [handle],
            from_row,
        )
        .optional()?)
}

/// Every account, oldest first.
pub fn list(conn: &Connection) -> Result<Vec<UserRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SELECTED} FROM users ORDER BY created, handle"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Inserts a new account; false when the handle is taken.
pub fn insert(conn: &Connection, u: &UserRow) -> Result<bool, StoreError> {
    Ok(write_row(conn, "INSERT", "ON CONFLICT(handle) DO NOTHING", u)? == 1)
}

/// Replaces every field of an existing account (import --overwrite).
pub fn replace(conn: &Connection, u: &UserRow) -> Result<(), StoreError> {
    write_row(conn, "INSERT OR REPLACE", "", u)?;
    Ok(())
}

/// Writes every column of `u` with the given statement verb and tail.
fn write_row(conn: &Connection, verb: &str, tail: &str, u: &UserRow) -> Result<usize, StoreError> {
    Ok(conn.execute(
        &format!(
            "{verb} INTO users ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) {tail}"
        ),
        params![
            u.handle,
            u.name,
            u.created,
            u.password,
            u.legacy_salt,
            u.admin,
            u.enabled,
            u.avatar,
            u.persona_avatar,
            u.must_change,
            u.pending,
            u.quota_mb
        ],
    )?)
}

/// Deletes an account (its sessions go with it); false when absent.
pub fn delete(conn: &Connection, handle: &str) -> Result<bool, StoreError> {
    Ok(conn.execute("DELETE FROM users WHERE handle = ?1", [handle])? == 1)
}

/// Sets (or with `None` clears) the password; false when absent. Any new
/// password ends a "change at next login" mark; see [`set_must_change`].
pub fn set_password(
    conn: &Connection,
    handle: &str,
    hash: Option<&str>,
    legacy_salt: Option<&str>,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE users SET password = ?2, legacy_salt = ?3, must_change = 0 WHERE handle = ?1",
        params![handle, hash, legacy_salt],
    )? == 1)
}

pub fn set_must_change(conn: &Connection, handle: &str, on: bool) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE users SET must_change = ?2 WHERE handle = ?1",
        params![handle, on],
    )? == 1)
}

/// Sets (None: back to the default) an account's storage quota.
pub fn set_quota(conn: &Connection, handle: &str, mb: Option<i64>) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE users SET quota_mb = ?2 WHERE handle = ?1",
        params![handle, mb],
    )? == 1)
}

/// Ends the wait of a signed-up account: approved, it is enabled.
pub fn approve(conn: &Connection, handle: &str) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE users SET pending = 0, enabled = 1 WHERE handle = ?1 AND pending = 1",
        [handle],
    )? == 1)
}

/// Replaces the password only if it is still `old` (a re-hash racing a
/// password change must not win).
pub fn upgrade_password(
    conn: &Connection,
    handle: &str,
    old: &str,
    new_hash: &str,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE users SET password = ?3, legacy_salt = NULL WHERE handle = ?1 AND password = ?2",
        params![handle, old, new_hash],
    )? == 1)
}

pub fn set_admin(conn: &Connection, handle: &str, admin: bool) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE users SET admin = ?2 WHERE handle = ?1",
        params![handle, admin],
    )? == 1)
}

pub fn set_enabled(conn: &Connection, handle: &str, enabled: bool) -> Result<bool, StoreError> {
    Ok(conn.execute(
        // Enabling a waiting sign-up approves it.
        "UPDATE users SET enabled = ?2, pending = CASE WHEN ?2 THEN 0 ELSE pending END WHERE handle = ?1",
        params![handle, enabled],
    )? == 1)
}

pub fn set_name(conn: &Connection, handle: &str, name: &str) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE users SET name = ?2 WHERE handle = ?1",
        params![handle, name],
    )? == 1)
}

pub fn set_avatar(
    conn: &Connection,
    handle: &str,
    avatar: Option<&str>,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE users SET avatar = ?2 WHERE handle = ?1",
        params![handle, avatar],
    )? == 1)
}

pub fn set_persona_avatar(
    conn: &Connection,
    handle: &str,
    file: Option<&str>,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE users SET persona_avatar = ?2 WHERE handle = ?1",
        params![handle, file],
    )? == 1)
}
