//! The scripts folder kept in step with what is loaded: which files
//! exist, which changed (by stamp, then by content), loading new and
//! edited ones within an event's budget, and keeping the last good
//! version of a file whose edit fails.

use super::*;

#[derive(Default)]
pub(super) struct Registry {
    /// By file name, so iteration is file-name order.
    pub(super) files: BTreeMap<String, Entry>,
}

pub(super) struct Entry {
    pub(super) stamp: Stamp,
    /// Hash of what was last read (or of the read error), to tell a real
    /// edit from a mere touch.
    pub(super) digest: u64,
    /// The running version. When an edit fails to load, the previous
    /// version stays here: a typo in a policy script should not quietly
    /// switch the policy off.
    pub(super) loaded: Option<Loaded>,
    /// `file:line: message` of the last failed load, for
    /// [`Hooks::load_errors`]; `None` once the file loads cleanly.
    pub(super) error: Option<String>,
}

#[derive(Clone)]
pub(super) struct Loaded {
    pub(super) script: Arc<Mutex<Script>>,
    pub(super) kinds: BTreeSet<EventKind>,
    pub(super) stale: Arc<AtomicBool>,
}

/// What the directory listing says about a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    pub(super) len: u64,
    pub(super) modified: Option<SystemTime>,
}

impl Stamp {
    pub(super) fn is_racy(&self) -> bool {
        match self.modified {
            None => true,
            Some(modified) => SystemTime::now()
                .duration_since(modified)
                .map_or(true, |age| age < RACY_WINDOW),
        }
    }
}

pub(super) struct Listed {
    pub(super) name: String,
    pub(super) path: PathBuf,
    pub(super) stamp: Stamp,
}

/// A listed file compared with what is loaded.
pub(super) enum Check {
    Unchanged,
    /// Same content, new timestamp: remember the stamp, keep the state.
    Touched,
    /// New or edited (or due for reload): the content read, or why not.
    Changed(Result<Vec<u8>, String>),
}

/// Why a changed file was not loaded.
pub(super) enum LoadError {
    /// It failed; `file:line: message`.
    Failed(String),
    /// It ran out of what was left of an event's budget; try again later.
    Deferred,
}

impl Inner {
    /// Brings the loaded states in line with the folder: loads new and
    /// edited files, reloads states marked stale, drops removed files.
    ///
    /// With an event's `deadline`, loading shares that event's budget: a
    /// file that times out because little of the budget was left is not
    /// marked as failed but left for a later event (it then comes first).
    /// Returns false when a changed file was left that way. At start
    /// (`None`), every file gets a whole `timeout_ms`.
    pub(super) fn refresh(&self, deadline: Option<Instant>) -> bool {
        // The lock guards no data, only the right to reload; a panic during
        // an earlier reload must not stop all later ones.
        self.reload.clear_poison();
        let wait = match deadline {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
            None => self.lock_wait(),
        };
        let Ok(_reload) = lock_within(&self.reload, wait) else {
            tracing::warn!("hook scripts not re-checked: another reload is still running");
            return true;
        };
        let Some(listing) = self.list_dir() else {
            return true;
        };

        let mut complete = true;
        let mut touched = Vec::new();
        let mut changed = Vec::new();
        for listed in &listing {
            let result = {
                let registry = self.registry();
                check(listed, registry.files.get(&listed.name))
            };
            match result {
                Check::Unchanged => {}
                Check::Touched => touched.push((listed.name.clone(), listed.stamp)),
                Check::Changed(content) => {
                    let now = Instant::now();
                    let (load_deadline, deferrable) = match deadline {
                        None => (now + self.limits.timeout, false),
                        Some(deadline) => {
                            let left = deadline.saturating_duration_since(now);
                            if left.is_zero() {
                                complete = false;
                                continue;
                            }
                            (deadline, left < self.limits.timeout / 2)
                        }
                    };
                    let digest = digest_of(&content);
                    let entry = match self.load(&listed.name, content, load_deadline, deferrable) {
                        Ok(loaded) => Entry {
                            stamp: listed.stamp,
                            digest,
                            loaded: Some(loaded),
                            error: None,
                        },
                        Err(LoadError::Deferred) => {
                            complete = false;
                            continue;
                        }
                        Err(LoadError::Failed(message)) => {
                            let previous = self.previous_version(&listed.name);
                            if previous.is_some() {
                                tracing::warn!(
                                    script = %listed.name,
                                    "the previous version of this hook script stays active until it loads"
                                );
                            }
                            Entry {
                                stamp: listed.stamp,
                                digest,
                                loaded: previous,
                                error: Some(message),
                            }
                        }
                    };
                    changed.push((listed.name.clone(), entry));
                }
            }
        }

        // Old states are dropped after the registry lock is released:
        // closing a Lua state runs its finalizers.
        let mut dropped = Vec::new();
        {
            let mut registry = self.registry();
            let present: BTreeSet<&str> = listing.iter().map(|l| l.name.as_str()).collect();
            let removed: Vec<String> = registry
                .files
                .keys()
                .filter(|name| !present.contains(name.as_str()))
                .cloned()
                .collect();
            for name in removed {
                tracing::info!(script = %name, "hook script removed; its handlers are gone");
                dropped.extend(registry.files.remove(&name));
            }
            for (name, stamp) in touched {
                if let Some(entry) = registry.files.get_mut(&name) {
                    entry.stamp = stamp;
                }
            }
            for (name, entry) in changed {
                dropped.extend(registry.files.insert(name, entry));
            }
        }
        drop(dropped);
        complete
    }

    /// The version of `name` to keep running when its new content fails to
    /// load: the current one, unless it is being replaced because it broke
    /// (then it would only fail again).
    pub(super) fn previous_version(&self, name: &str) -> Option<Loaded> {
        self.registry()
            .files
            .get(name)
            .and_then(|entry| entry.loaded.clone())
            .filter(|loaded| !loaded.stale.load(Ordering::Relaxed))
    }

    /// Loads one file into a fresh state, logging the result. The error is
    /// `file:line: message`. When `deferrable`, a timeout is not the file's
    /// fault (it was given only what was left of an event's budget) and
    /// comes back as [`LoadError::Deferred`].
    pub(super) fn load(
        &self,
        name: &str,
        content: Result<Vec<u8>, String>,
        deadline: Instant,
        deferrable: bool,
    ) -> Result<Loaded, LoadError> {
        let source = match content {
            Ok(source) => source,
            Err(why) => {
                let message = format!("{name}: {why}");
                tracing::error!(script = %name, "hook script not loaded: {message}");
                return Err(LoadError::Failed(message));
            }
        };
        let ctx = ApiContext {
            file: name.to_owned(),
            config: Arc::clone(&self.config),
            hooks_dir: self.settings.dir.clone(),
        };
        let loaded = catch_unwind(AssertUnwindSafe(|| {
            Script::load(name, &source, self.limits, ctx, deadline)
        }));
        match loaded {
            Ok(Ok(script)) => {
                let kinds: BTreeSet<EventKind> = script.kinds().collect();
                let handlers = script.handler_count();
                let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                tracing::info!(
                    script = %name,
                    "hook script loaded: {handlers} handler(s) for {}",
                    if names.is_empty() { "no events".to_owned() } else { names.join(", ") }
                );
                Ok(Loaded {
                    stale: script.stale_flag(),
                    script: Arc::new(Mutex::new(script)),
                    kinds,
                })
            }
            Ok(Err(failure)) if deferrable && failure.kind == FailureKind::Timeout => {
                tracing::warn!(
                    script = %name,
                    "hook script not loaded yet: the event's hook time ran out; it loads on a \
                     later event"
                );
                Err(LoadError::Deferred)
            }
            Ok(Err(failure)) => {
                tracing::error!(
                    script = %name,
                    "hook script failed to load: {}",
                    clean_log_text(&failure.message)
                );
                Err(LoadError::Failed(failure.message))
            }
            Err(_) => {
                let message = format!("{name}: internal error while loading the script");
                tracing::error!(script = %name, "{message}");
                Err(LoadError::Failed(message))
            }
        }
    }

    /// The top-level `*.lua` files, sorted by name. `None` when the folder
    /// exists but cannot be read (keep what is loaded); an empty list when
    /// it does not exist (no hooks).
    pub(super) fn list_dir(&self) -> Option<Vec<Listed>> {
        let dir = &self.settings.dir;
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Some(Vec::new()),
            Err(err) => {
                tracing::warn!(dir = %dir.display(), "cannot list the hook scripts folder: {err}");
                return None;
            }
        };
        let mut listing = Vec::new();
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if !name.ends_with(".lua") || name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            // Follows a symlink: the admin may link a script in.
            let Ok(meta) = fs::metadata(&path) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            listing.push(Listed {
                name,
                path,
                stamp: Stamp {
                    len: meta.len(),
                    modified: meta.modified().ok(),
                },
            });
        }
        listing.sort_by(|a, b| a.name.cmp(&b.name));
        Some(listing)
    }
}

pub(super) fn handles(entry: &Entry, kind: EventKind) -> bool {
    matches!(&entry.loaded, Some(l) if l.kinds.contains(&kind))
}

/// Compares a listed file with its registry entry. Reads the file only when
/// the stamp differs or cannot be trusted.
pub(super) fn check(listed: &Listed, entry: Option<&Entry>) -> Check {
    let Some(entry) = entry else {
        return Check::Changed(read_script(&listed.path));
    };
    let stale = matches!(&entry.loaded, Some(l) if l.stale.load(Ordering::Relaxed));
    if stale {
        return Check::Changed(read_script(&listed.path));
    }
    if entry.stamp == listed.stamp && !listed.stamp.is_racy() {
        return Check::Unchanged;
    }
    let content = read_script(&listed.path);
    if digest_of(&content) != entry.digest {
        Check::Changed(content)
    } else if entry.stamp == listed.stamp {
        Check::Unchanged
    } else {
        Check::Touched
    }
}

pub(super) fn read_script(path: &Path) -> Result<Vec<u8>, String> {
    let meta = fs::metadata(path).map_err(|e| format!("cannot read the script: {e}"))?;
    if meta.len() > MAX_SCRIPT_BYTES {
        return Err(format!(
            "script is larger than {} MiB and was not loaded",
            MAX_SCRIPT_BYTES >> 20
        ));
    }
    fs::read(path).map_err(|e| format!("cannot read the script: {e}"))
}

pub(super) fn digest_of(content: &Result<Vec<u8>, String>) -> u64 {
    let mut hasher = DefaultHasher::new();
    content.hash(&mut hasher);
    hasher.finish()
}
