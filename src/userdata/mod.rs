//! Per-user data folders: their layout, safe paths into them, atomic
//! writes, settings snapshots, streamed backups, restores, the data
//! root's lock and disk usage.

pub mod atomic;
pub mod backup;
pub mod json_text;
pub mod layout;
pub mod quota;
pub mod restore;
pub mod root_lock;
pub mod safe_path;
pub mod settings;
pub mod snapshots;
pub mod usage;
