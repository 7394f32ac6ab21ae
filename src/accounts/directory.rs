//! An in-memory copy of the `users` table, so the hot paths (every
//! request's user, the login list, the admin list) read no database and no
//! files. A write to one account (`App::write_user`) patches that account
//! in a copy; bulk writes (`App::write_users`) drop it; the server's
//! watch on SQLite's `data_version` drops it when a console command writes.
//! A generation counter keeps a reload that raced a write from installing
//! stale rows.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use crate::store::users::UserRow;

/// All accounts at one moment, oldest first.
pub struct Snapshot {
    pub list: Vec<Arc<UserRow>>,
    by_handle: HashMap<String, usize>,
    /// Serialized answers built from this snapshot (the login list, the
    /// admin list), made once and dropped with it.
    pub public_json: OnceLock<bytes::Bytes>,
    pub admin_json: OnceLock<bytes::Bytes>,
}

impl Snapshot {
    pub fn new(rows: Vec<UserRow>) -> Snapshot {
        Self::from_shared(rows.into_iter().map(Arc::new).collect())
    }

    fn from_shared(list: Vec<Arc<UserRow>>) -> Snapshot {
        let by_handle = list
            .iter()
            .enumerate()
            .map(|(i, u)| (u.handle.clone(), i))
            .collect();
        Snapshot {
            list,
            by_handle,
            public_json: OnceLock::new(),
            admin_json: OnceLock::new(),
        }
    }

    /// This snapshot with one account replaced, added or (None) removed,
    /// keeping the order by creation time.
    fn with(&self, handle: &str, row: Option<UserRow>) -> Snapshot {
        let mut list: Vec<Arc<UserRow>> = self
            .list
            .iter()
            .filter(|u| u.handle != handle)
            .cloned()
            .collect();
        if let Some(row) = row {
            let at = list.partition_point(|u| {
                (u.created, u.handle.as_str()) < (row.created, row.handle.as_str())
            });
            list.insert(at, Arc::new(row));
        }
        Self::from_shared(list)
    }

    pub fn get(&self, handle: &str) -> Option<&Arc<UserRow>> {
        self.by_handle.get(handle).map(|&i| &self.list[i])
    }
}

#[derive(Default)]
pub struct Directory {
    current: RwLock<Option<Arc<Snapshot>>>,
    generation: AtomicU64,
}

impl Directory {
    pub fn get(&self) -> Option<Arc<Snapshot>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The generation to pass to [`Directory::install`] after loading.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Installs a snapshot loaded at generation `seen`, unless a write has
    /// happened since.
    pub fn install(&self, seen: u64, snapshot: Arc<Snapshot>) {
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) == seen {
            *current = Some(snapshot);
        }
    }

    /// Applies a change to one account; a reload in flight is discarded.
    pub fn patch(&self, handle: &str, row: Option<UserRow>) {
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Some(old) = current.as_ref() {
            *current = Some(Arc::new(old.with(handle, row)));
        }
    }

    pub fn invalidate(&self) {
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        *current = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(handle: &str, created: i64) -> UserRow {
        UserRow::new(handle, handle, created)
    }

    #[test]
    fn patches_keep_order_and_races_lose() {
        let d = Directory::default();
        let seen = d.generation();
        d.install(
            seen,
            Arc::new(Snapshot::new(vec![row("a", 1), row("c", 3)])),
        );
        d.patch("b", Some(row("b", 2)));
        let s = d.get().unwrap();
        let handles: Vec<_> = s.list.iter().map(|u| u.handle.as_str()).collect();
        assert_eq!(handles, ["a", "b", "c"]);
        assert_eq!(s.get("b").unwrap().created, 2);
        d.patch("a", None);
        assert!(d.get().unwrap().get("a").is_none());
        // A reload that started before a write does not install.
        let stale = d.generation();
        d.patch("c", Some(row("c", 3)));
        d.install(stale, Arc::new(Snapshot::new(vec![])));
        assert_eq!(d.get().unwrap().list.len(), 2);
    }
}
