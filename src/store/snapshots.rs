//! The `snapshots` table: an index of each user's settings snapshots, so
//! listing them and keeping at most `numberOfBackups` needs no folder scan.

use rusqlite::{params, Connection};

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRow {
    pub handle: String,
    pub name: String,
    pub created: i64,
    pub size: i64,
    pub sha256: String,
}

pub fn insert(conn: &Connection, s: &SnapshotRow) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR REPLACE INTO snapshots (handle, name, created, size, sha256) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![s.handle, s.name, s.created, s.size, s.sha256],
    )?;
    Ok(())
}

/// A user's snapshots, newest first.
pub fn list(conn: &Connection, handle: &str) -> Result<Vec<SnapshotRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT handle, name, created, size, sha256 FROM snapshots WHERE handle = ?1
         ORDER BY created DESC, name DESC",
    )?;
    let rows = stmt.query_map([handle], |r| {
        Ok(SnapshotRow {
            handle: r.get(0)?,
            name: r.get(1)?,
            created: r.get(2)?,
            size: r.get(3)?,
            sha256: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn delete(conn: &Connection, handle: &str, name: &str) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM snapshots WHERE handle = ?1 AND name = ?2",
        params![handle, name],
    )?;
    Ok(())
}

pub fn delete_all(conn: &Connection, handle: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM snapshots WHERE handle = ?1", [handle])?;
    Ok(())
}
