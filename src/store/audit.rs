//! The `audit` table: who did what to which account, from where, when.

use rusqlite::{params, Connection};
use serde::Serialize;

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub time: i64,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

pub fn insert(
    conn: &Connection,
    time: i64,
    actor: Option<&str>,
    action: &str,
    target: Option<&str>,
    ip: Option<&str>,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO audit (time, actor, action, target, ip, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![time, actor, action, target, ip, detail],
    )?;
    Ok(())
}

/// Newest first, entries with id below `before` (all when None).
pub fn list(
    conn: &Connection,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<AuditEntry>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, time, actor, action, target, ip, detail FROM audit
         WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![before.unwrap_or(i64::MAX), limit], |r| {
        Ok(AuditEntry {
            id: r.get(0)?,
            time: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            target: r.get(4)?,
            ip: r.get(5)?,
            detail: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
