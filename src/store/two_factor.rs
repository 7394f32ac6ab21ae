//! The `two_factor` and `recovery_codes` tables: each account's TOTP
//! secret (sealed), whether it is on, the last time step used, and the
//! hashes of its one-time recovery codes.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwoFactorRow {
    /// The sealed secret (see accounts::two_factor).
    pub secret: String,
    /// False while the enrolment waits for its first code.
    pub enabled: bool,
    /// The newest step a code was accepted for.
    pub last_step: Option<i64>,
}

pub fn get(conn: &Connection, handle: &str) -> Result<Option<TwoFactorRow>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT secret, enabled, last_step FROM two_factor WHERE handle = ?1",
            [handle],
            |r| {
                Ok(TwoFactorRow {
                    secret: r.get(0)?,
                    enabled: r.get(1)?,
                    last_step: r.get(2)?,
                })
            },
        )
        .optional()?)
}

/// Starts (or restarts) an enrolment with a new secret; false when the
/// account already has two-factor login on (or does not exist).
pub fn put_pending(
    conn: &Connection,
    handle: &str,
    sealed: &str,
    now: i64,
) -> Result<bool, StoreError> {
    if conn
        .query_row(
            "SELECT 1 FROM users WHERE handle = ?1",
            [handle],
            |_| Ok(()),
        )
        .optional()?
        .is_none()
    {
        return Ok(false);
    }
    Ok(conn.execute(
        "INSERT INTO two_factor (handle, secret, enabled, created, last_step)
         VALUES (?1, ?2, 0, ?3, NULL)
         ON CONFLICT(handle) DO UPDATE SET secret = excluded.secret,
             created = excluded.created, last_step = NULL
         WHERE two_factor.enabled = 0",
        params![handle, sealed, now],
    )? == 1)
}

/// Turns a pending enrolment on, its first code's step used, with fresh
/// recovery codes; false when there was no pending one.
pub fn enable(
    conn: &mut Connection,
    handle: &str,
    step: i64,
    code_hashes: &[String],
) -> Result<bool, StoreError> {
    let tx = conn.transaction()?;
    let changed = tx.execute(
        "UPDATE two_factor SET enabled = 1, last_step = ?2 WHERE handle = ?1 AND enabled = 0",
        params![handle, step],
    )?;
    if changed != 1 {
        return Ok(false);
    }
    replace_codes(&tx, handle, code_hashes)?;
    tx.commit()?;
    Ok(true)
}

/// Marks `step` used, only if it is newer than the last one used: a code
/// is good once, and no older code after it.
pub fn use_step(conn: &Connection, handle: &str, step: i64) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE two_factor SET last_step = ?2
         WHERE handle = ?1 AND enabled = 1 AND (last_step IS NULL OR last_step < ?2)",
        params![handle, step],
    )? == 1)
}

/// The account's unused recovery codes: (id, hash).
pub fn codes(conn: &Connection, handle: &str) -> Result<Vec<(i64, String)>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT id, code_hash FROM recovery_codes WHERE handle = ?1 ORDER BY id")?;
    let rows = stmt.query_map([handle], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Uses up one recovery code; false when it was already used.
pub fn use_code(conn: &Connection, id: i64) -> Result<bool, StoreError> {
    Ok(conn.execute("DELETE FROM recovery_codes WHERE id = ?1", [id])? == 1)
}

/// Replaces the account's recovery codes.
pub fn replace_codes(
    conn: &Connection,
    handle: &str,
    code_hashes: &[String],
) -> Result<(), StoreError> {
    conn.execute("DELETE FROM recovery_codes WHERE handle = ?1", [handle])?;
    let mut stmt =
        conn.prepare("INSERT INTO recovery_codes (handle, code_hash) VALUES (?1, ?2)")?;
    for h in code_hashes {
        stmt.execute(params![handle, h])?;
    }
    Ok(())
}

/// Removes the account's second factor and recovery codes; true when it
/// had one on.
pub fn remove(conn: &mut Connection, handle: &str) -> Result<bool, StoreError> {
    let tx = conn.transaction()?;
    let was_on = tx.execute(
        "DELETE FROM two_factor WHERE handle = ?1 AND enabled = 1",
        [handle],
    )? == 1;
    tx.execute("DELETE FROM two_factor WHERE handle = ?1", [handle])?;
    tx.execute("DELETE FROM recovery_codes WHERE handle = ?1", [handle])?;
    tx.commit()?;
    Ok(was_on)
}
