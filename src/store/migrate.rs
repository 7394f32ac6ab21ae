//! Forward-only schema migrations, tracked in `PRAGMA user_version`; each
//! step runs in one transaction so a crash mid-migration changes nothing.

use rusqlite::Connection;

use super::StoreError;

/// Migration steps in order; step i brings the schema to version i + 1.
const STEPS: &[&str] = &[
    // 1: the initial schema.
    "CREATE TABLE users (
        handle TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        created INTEGER NOT NULL,
        password TEXT,
        legacy_salt TEXT,
        admin INTEGER NOT NULL DEFAULT 0,
        enabled INTEGER NOT NULL DEFAULT 1,
        avatar TEXT,
        persona_avatar TEXT
    );
    CREATE INDEX users_created ON users(created, handle);
    CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY NOT NULL,
        handle TEXT NOT NULL REFERENCES users(handle) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        created INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        persistent INTEGER NOT NULL
    );
    CREATE INDEX sessions_handle ON sessions(handle);
    CREATE TABLE snapshots (
        handle TEXT NOT NULL,
        name TEXT NOT NULL,
        created INTEGER NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        PRIMARY KEY (handle, name)
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time INTEGER NOT NULL,
        actor TEXT,
        action TEXT NOT NULL,
        target TEXT,
        ip TEXT,
        detail TEXT
    );
    CREATE TABLE recovery_guards (
        handle TEXT PRIMARY KEY NOT NULL,
        total_wrong INTEGER NOT NULL DEFAULT 0,
        day_start INTEGER NOT NULL DEFAULT 0,
        day_wrong INTEGER NOT NULL DEFAULT 0
    );",
    // 2: where each session signed in from, for the user's session list.
    "ALTER TABLE sessions ADD COLUMN ip TEXT;
    ALTER TABLE sessions ADD COLUMN device TEXT;",
    // 3: invitations; only a hash of each token is kept.
    "CREATE TABLE invites (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        token_hash TEXT NOT NULL UNIQUE,
        created INTEGER NOT NULL,
        created_by TEXT,
        expires INTEGER NOT NULL,
        uses INTEGER NOT NULL,
        uses_left INTEGER NOT NULL,
        admin INTEGER NOT NULL DEFAULT 0,
        handle TEXT,
        name TEXT,
        revoked INTEGER NOT NULL DEFAULT 0
    );",
    // 4: a password the admin set for one use ("change at next login"),
    // and accounts that signed up and wait for an admin's approval.
    "ALTER TABLE users ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;",
    // 5: a per-account storage quota that overrides `quotas.defaultMb`
    // (NULL: the default; 0: none).
    "ALTER TABLE users ADD COLUMN quota_mb INTEGER;",
    // 6: two-factor login. `secret` is the TOTP secret sealed with the key
    // file beside the database (see accounts::two_factor), `enabled` is 0
    // while an enrolment waits for its first code, `last_step` the newest
    // time step a code was used for (never accepted again). Recovery codes
    // are kept only as hashes.
    "CREATE TABLE two_factor (
        handle TEXT PRIMARY KEY NOT NULL REFERENCES users(handle) ON DELETE CASCADE,
        secret TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 0,
        created INTEGER NOT NULL,
        last_step INTEGER
    );
    CREATE TABLE recovery_codes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        handle TEXT NOT NULL REFERENCES users(handle) ON DELETE CASCADE,
        code_hash TEXT NOT NULL
    );
    CREATE INDEX recovery_codes_handle ON recovery_codes(handle);",
    // 7: permission profiles, shared API connections and usage limits.
    // A profile's `allow` lists its switches (comma-separated names, see
    // permissions::Switch); limits of 0 or NULL mean none. A user's row
    // picks a profile (NULL: `permissions.defaultProfile`) and may
    // override each limit (NULL: the profile's). A connection's `value`
    // is sealed (see `sealing`); `placed_secrets` records which shared
    // values were written into which user's secrets.json, so a revoke
    // knows what to take out. `generations` counts each user's forwarded
    // generations per clock hour (hours since the epoch, UTC).
    "CREATE TABLE profiles (
        name TEXT PRIMARY KEY NOT NULL,
        builtin INTEGER NOT NULL DEFAULT 0,
        allow TEXT NOT NULL,
        per_hour INTEGER,
        per_day INTEGER,
        at_once INTEGER,
        created INTEGER NOT NULL
    );
    INSERT INTO profiles (name, builtin, allow, created) VALUES
        ('admin', 1, 'extensions.manage,secrets.own,content.importUrl,backup.download,plugins,generate', 0),
        ('member', 1, 'extensions.manage,secrets.own,content.importUrl,backup.download,plugins,generate', 0),
        ('guest', 1, 'plugins,generate', 0);
    CREATE TABLE user_permissions (
        handle TEXT PRIMARY KEY NOT NULL REFERENCES users(handle) ON DELETE CASCADE,
        profile TEXT,
        per_hour INTEGER,
        per_day INTEGER,
        at_once INTEGER
    );
    CREATE TABLE connections (
        name TEXT PRIMARY KEY NOT NULL,
        secret_key TEXT NOT NULL,
        value TEXT NOT NULL,
        endpoint TEXT,
        models TEXT,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL
    );
    CREATE TABLE connection_grants (
        connection TEXT NOT NULL REFERENCES connections(name) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('profile', 'user')),
        target TEXT NOT NULL,
        PRIMARY KEY (connection, kind, target)
    );
    CREATE TABLE placed_secrets (
        handle TEXT NOT NULL REFERENCES users(handle) ON DELETE CASCADE,
        secret_key TEXT NOT NULL,
        connection TEXT NOT NULL,
        PRIMARY KEY (handle, secret_key)
    );
    CREATE TABLE generations (
        handle TEXT NOT NULL,
        hour INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (handle, hour)
    );",
];

/// The schema version this program writes.
pub const VERSION: i64 = STEPS.len() as i64;

/// Applies every step newer than the database's version.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > VERSION {
        return Err(StoreError::TooNew {
            found: current,
            known: VERSION,
        });
    }
    for (i, step) in STEPS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_newer() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, VERSION);
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(StoreError::TooNew { .. })));
    }
}
