//! SQLite storage: one connection behind a mutex, used off the async
//! executor. WAL mode, foreign keys on, a busy timeout so the console
//! commands can write while the server runs.

pub mod audit;
pub mod guards;
pub mod invites;
pub mod migrate;
pub mod permissions;
pub mod sessions;
pub mod snapshots;
pub mod two_factor;
pub mod users;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

/// File name of the database inside `dataRoot`; it cannot be a handle
/// because handles never contain a dot.
pub const DB_FILE: &str = "innkeeper.db";

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database task failed: {0}")]
    Task(String),
    #[error("database schema version {found} is newer than this program ({known})")]
    TooNew { found: i64, known: i64 },
}

/// Handle to the database, cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database in `data_root` and migrates it.
    pub fn open(data_root: &Path) -> Result<Store, StoreError> {
        Self::open_file(&data_root.join(DB_FILE))
    }

    /// Opens a database file and migrates it.
    pub fn open_file(path: &Path) -> Result<Store, StoreError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // In WAL mode NORMAL keeps every commit across a crash of the
        // process (the WAL is written before a commit returns); only a power
        // loss can drop the last commits, never corrupt the file. FULL would
        // add an fsync to every login, audit row and session.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate::migrate(&mut conn)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
        })
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn run<F, T>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.run_blocking(f))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Runs `f` at once on this thread when the connection is free, else on
    /// the blocking pool as [`Store::run`] does. For the few indexed reads
    /// and one-row writes every generation makes before it is passed on
    /// (profile, shared connections, usage): each hand-off to the pool costs
    /// 0.1–0.2 ms on a small machine, several times the query, and a
    /// streamed answer's first token waits for all of them. Never for
    /// anything that may take long: it holds up this async worker meanwhile.
    pub async fn run_quick<F, T>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        if let Some(mut conn) = self.free_now() {
            return f(&mut conn);
        }
        self.run(f).await
    }

    /// The connection when nobody holds it (see `run_blocking` on poison).
    fn free_now(&self) -> Option<std::sync::MutexGuard<'_, Connection>> {
        match self.conn.try_lock() {
            Ok(conn) => Some(conn),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// Runs `f` with the connection on the current thread (console commands,
    /// code already on the blocking pool).
    pub fn run_blocking<F, T>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<T, StoreError>,
    {
        // A panic while holding the lock poisons it; the connection itself is
        // still sound (SQLite rolls back an unfinished transaction), so go on.
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn)
    }

    /// `PRAGMA integrity_check` result ("ok" when sound).
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        self.run_blocking(|c| Ok(c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?))
    }

    /// SQLite's counter of commits by other connections (console commands
    /// writing while the server runs), used to drop stale caches.
    pub async fn data_version(&self) -> Result<i64, StoreError> {
        self.run(|c| Ok(c.query_row("PRAGMA data_version", [], |r| r.get(0))?))
            .await
    }
}
