//! The `sessions` table: logged-in sessions, kept so they survive a
//! restart. Only a SHA-256 of each session id is stored, so reading the
//! database does not hand out live cookies.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id_hash: String,
    pub handle: String,
    pub csrf: String,
    pub created: i64,
    pub last_seen: i64,
    pub persistent: bool,
    /// The client address the login came from.
    pub ip: Option<String>,
    /// A short label of the browser and system ("Firefox on Linux").
    pub device: Option<String>,
}

const COLUMNS: &str = "id_hash, handle, csrf, created, last_seen, persistent, ip, device";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id_hash: r.get(0)?,
        handle: r.get(1)?,
        csrf: r.get(2)?,
        created: r.get(3)?,
        last_seen: r.get(4)?,
        persistent: r.get(5)?,
        ip: r.get(6)?,
        device: r.get(7)?,
    })
}

pub fn insert(conn: &Connection, s: &SessionRow) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO sessions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ),
        params![
            s.id_hash,
            s.handle,
            s.csrf,
            s.created,
            s.last_seen,
            s.persistent,
            s.ip,
            s.device
        ],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id_hash: &str) -> Result<Option<SessionRow>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM sessions WHERE id_hash = ?1"),
            [id_hash],
            from_row,
        )
        .optional()?)
}

/// Every stored session of `handle`, newest first.
pub fn for_user(conn: &Connection, handle: &str) -> Result<Vec<SessionRow>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM sessions WHERE handle = ?1 ORDER BY created DESC, id_hash"
    ))?;
    let rows = stmt.query_map([handle], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What a new session's account must still look like when it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    /// The login checked this stored password (None: the account had
    /// none): the session is stored only while it is still the password,
    /// so a login that was hashing while the password changed gets none.
    Password(Option<String>),
    /// Logged in by someone Innkeeper trusts (SSO header): the account
    /// must merely exist and be enabled.
    Trusted,
}

/// Stores a new session if its account still exists, is enabled and (per
/// `proof`) still has the password the login checked; keeps at most `cap`
/// sessions for the account, ending the oldest. Returns whether it was
/// stored and the id hashes of the sessions it ended.
pub fn insert_checked(
    conn: &mut Connection,
    s: &SessionRow,
    proof: &Proof,
    cap: usize,
) -> Result<(bool, Vec<String>), StoreError> {
    let tx = conn.transaction()?;
    let account: Option<(Option<String>, bool)> = tx
        .query_row(
            "SELECT password, enabled FROM users WHERE handle = ?1",
            [&s.handle],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let ok = match (&account, proof) {
        (Some((_, false)), _) | (None, _) => false,
        (Some((current, true)), Proof::Password(checked)) => current == checked,
        (Some((_, true)), Proof::Trusted) => true,
    };
    if !ok {
        return Ok((false, Vec::new()));
    }
    insert(&tx, s)?;
    let ended: Vec<String> = {
        let mut stmt = tx.prepare(
            "SELECT id_hash FROM sessions WHERE handle = ?1
             ORDER BY created DESC, id_hash LIMIT -1 OFFSET ?2",
        )?;
        let rows = stmt.query_map(params![s.handle, cap as i64], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for id in &ended {
        delete(&tx, id)?;
    }
    tx.commit()?;
    Ok((true, ended))
}

/// Every stored session id hash (to drop cached ones revoked elsewhere).
pub fn all_ids(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare("SELECT id_hash FROM sessions")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn touch(conn: &Connection, id_hash: &str, last_seen: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE sessions SET last_seen = ?2 WHERE id_hash = ?1 AND last_seen < ?2",
        params![id_hash, last_seen],
    )?;
    Ok(())
}

pub fn delete(conn: &Connection, id_hash: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM sessions WHERE id_hash = ?1", [id_hash])?;
    Ok(())
}

/// Ends every session of `handle` except `keep` (when given); returns the
/// ended sessions' id hashes.
pub fn delete_for_user(
    conn: &Connection,
    handle: &str,
    keep: Option<&str>,
) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare(
        "DELETE FROM sessions WHERE handle = ?1 AND id_hash IS NOT ?2 RETURNING id_hash",
    )?;
    let ended = stmt
        .query_map(params![handle, keep], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ended)
}

/// Removes sessions idle since before `cutoff` (ms).
pub fn delete_idle(conn: &Connection, cutoff: i64) -> Result<usize, StoreError> {
    Ok(conn.execute("DELETE FROM sessions WHERE last_seen < ?1", [cutoff])?)
}
