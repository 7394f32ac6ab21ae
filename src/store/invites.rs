//! The `invites` table: invitation links an admin made. Only a SHA-256 of
//! each token is stored, so reading the database hands out no working link.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InviteRow {
    pub id: i64,
    #[serde(skip)]
    pub token_hash: String,
    pub created: i64,
    pub created_by: Option<String>,
    pub expires: i64,
    /// Accounts it may create in all.
    pub uses: i64,
    pub uses_left: i64,
    /// The role of the accounts it creates.
    pub admin: bool,
    /// A handle set by the admin (the person cannot pick another).
    pub handle: Option<String>,
    pub name: Option<String>,
    pub revoked: bool,
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InviteState {
    Active,
    Expired,
    Used,
    Revoked,
}

impl InviteRow {
    pub fn state(&self, now: i64) -> InviteState {
        if self.revoked {
            InviteState::Revoked
        } else if self.uses_left <= 0 {
            InviteState::Used
        } else if now >= self.expires {
            InviteState::Expired
        } else {
            InviteState::Active
        }
    }
}

const COLUMNS: &str =
    "id, token_hash, created, created_by, expires, uses, uses_left, admin, handle, name, revoked";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<InviteRow> {
    Ok(InviteRow {
        id: r.get(0)?,
        token_hash: r.get(1)?,
        created: r.get(2)?,
        created_by: r.get(3)?,
        expires: r.get(4)?,
        uses: r.get(5)?,
        uses_left: r.get(6)?,
        admin: r.get(7)?,
        handle: r.get(8)?,
        name: r.get(9)?,
        revoked: r.get(10)?,
    })
}

/// Stores a new invitation; returns its id.
pub fn insert(conn: &Connection, i: &InviteRow) -> Result<i64, StoreError> {
    conn.execute(
        "INSERT INTO invites (token_hash, created, created_by, expires, uses, uses_left, admin, handle, name, revoked)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0)",
        params![
            i.token_hash,
            i.created,
            i.created_by,
            i.expires,
            i.uses,
            i.uses_left,
            i.admin,
            i.handle,
            i.name
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn by_token(conn: &Connection, token_hash: &str) -> Result<Option<InviteRow>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM invites WHERE token_hash = ?1"),
            [token_hash],
            from_row,
        )
        .optional()?)
}

/// Every invitation, newest first.
pub fn list(conn: &Connection) -> Result<Vec<InviteRow>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM invites ORDER BY created DESC, id DESC"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Marks an invitation revoked; false when there is none with that id.
pub fn revoke(conn: &Connection, id: i64) -> Result<bool, StoreError> {
    Ok(conn.execute("UPDATE invites SET revoked = 1 WHERE id = ?1", [id])? > 0)
}

/// Takes one use of a live invitation, in one statement so two people
/// cannot both take the last one; the row as it was, or None when the
/// token names no live invitation.
pub fn take_use(
    conn: &Connection,
    token_hash: &str,
    now: i64,
) -> Result<Option<InviteRow>, StoreError> {
    let taken = conn.execute(
        "UPDATE invites SET uses_left = uses_left - 1
         WHERE token_hash = ?1 AND revoked = 0 AND uses_left > 0 AND expires > ?2",
        params![token_hash, now],
    )?;
    if taken == 0 {
        return Ok(None);
    }
    by_token(conn, token_hash)
}

/// Gives back a use taken for an account that could not be created.
pub fn give_back(conn: &Connection, id: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE invites SET uses_left = MIN(uses, uses_left + 1) WHERE id = ?1",
        [id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(hash: &str, uses: i64, expires: i64) -> InviteRow {
        InviteRow {
            id: 0,
            token_hash: hash.into(),
            created: 0,
            created_by: Some("boss".into()),
            expires,
            uses,
            uses_left: uses,
            admin: false,
            handle: None,
            name: None,
            revoked: false,
        }
    }

    #[test]
    fn uses_are_taken_once_each_and_only_while_live() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::migrate::migrate(&mut conn).unwrap();
        let id = insert(&conn, &row("a", 2, 100)).unwrap();
        assert!(take_use(&conn, "a", 10).unwrap().is_some());
        assert!(take_use(&conn, "a", 10).unwrap().is_some());
        assert!(take_use(&conn, "a", 10).unwrap().is_none());
        give_back(&conn, id).unwrap();
        give_back(&conn, id).unwrap();
        give_back(&conn, id).unwrap();
        let r = by_token(&conn, "a").unwrap().unwrap();
        assert_eq!(r.uses_left, 2, "never more than it had");
        assert!(take_use(&conn, "a", 100).unwrap().is_none(), "expired");
        assert_eq!(r.state(100), InviteState::Expired);
        assert!(revoke(&conn, id).unwrap());
        assert!(take_use(&conn, "a", 10).unwrap().is_none(), "revoked");
        assert!(take_use(&conn, "nope", 10).unwrap().is_none());
        assert!(!revoke(&conn, 999).unwrap());
    }
}
