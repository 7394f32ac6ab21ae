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
}

pub fn insert(conn: &Connection, s: &SessionRow) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR REPLACE INTO sessions (id_hash, handle, csrf, created, last_seen, persistent)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            s.id_hash,
            s.handle,
            s.csrf,
            s.created,
            s.last_seen,
            s.persistent
        ],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id_hash: &str) -> Result<Option<SessionRow>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT id_hash, handle, csrf, created, last_seen, persistent FROM sessions WHERE id_hash = ?1",
            [id_hash],
            |r| {
                Ok(SessionRow {
                    id_hash: r.get(0)?,
                    handle: r.get(1)?,
                    csrf: r.get(2)?,
                    created: r.get(3)?,
                    last_seen: r.get(4)?,
                    persistent: r.get(5)?,
                })
            },
        )
        .optional()?)
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

/// Ends every session of `handle` except `keep` (when given).
pub fn delete_for_user(
    conn: &Connection,
    handle: &str,
    keep: Option<&str>,
) -> Result<usize, StoreError> {
    Ok(conn.execute(
        "DELETE FROM sessions WHERE handle = ?1 AND id_hash IS NOT ?2",
        params![handle, keep],
    )?)
}

/// Removes sessions idle since before `cutoff` (ms).
pub fn delete_idle(conn: &Connection, cutoff: i64) -> Result<usize, StoreError> {
    Ok(conn.execute("DELETE FROM sessions WHERE last_seen < ?1", [cutoff])?)
}
