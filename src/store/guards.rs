//! The `recovery_guards` table: per-handle counts of wrong recovery codes,
//! kept on disk so a restart does not hand an attacker fresh guesses.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Guard {
    pub total_wrong: i64,
    pub day_start: i64,
    pub day_wrong: i64,
}

pub fn get(conn: &Connection, handle: &str) -> Result<Guard, StoreError> {
    Ok(conn
        .query_row(
            "SELECT total_wrong, day_start, day_wrong FROM recovery_guards WHERE handle = ?1",
            [handle],
            |r| {
                Ok(Guard {
                    total_wrong: r.get(0)?,
                    day_start: r.get(1)?,
                    day_wrong: r.get(2)?,
                })
            },
        )
        .optional()?
        .unwrap_or_default())
}

pub fn put(conn: &Connection, handle: &str, g: &Guard) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR REPLACE INTO recovery_guards (handle, total_wrong, day_start, day_wrong)
         VALUES (?1, ?2, ?3, ?4)",
        params![handle, g.total_wrong, g.day_start, g.day_wrong],
    )?;
    Ok(())
}

pub fn clear(conn: &Connection, handle: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM recovery_guards WHERE handle = ?1", [handle])?;
    Ok(())
}
