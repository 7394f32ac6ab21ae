//! An in-memory copy of the `users` table, so the hot paths (every
//! request's user, the login list, the admin list) read no database and no
//! files. Every write through `App::write_users` drops it; the server's
//! watch on SQLite's `data_version` drops it when a console command writes.
//! A generation counter keeps a reload that raced a write from installing
//! stale rows.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::store::users::UserRow;

/// All accounts at one moment, oldest first.
pub struct Snapshot {
    pub list: Vec<Arc<UserRow>>,
    by_handle: HashMap<String, usize>,
}

impl Snapshot {
    pub fn new(rows: Vec<UserRow>) -> Snapshot {
        let list: Vec<Arc<UserRow>> = rows.into_iter().map(Arc::new).collect();
        let by_handle = list
            .iter()
            .enumerate()
            .map(|(i, u)| (u.handle.clone(), i))
            .collect();
        Snapshot { list, by_handle }
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

    pub fn invalidate(&self) {
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        *current = None;
    }
}
