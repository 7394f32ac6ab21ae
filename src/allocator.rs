//! The server's malloc setting. glibc raises its mmap threshold after a
//! large block is freed, so from then on the 16–32 MiB scratch buffer of
//! every password hash comes from the heap and stays in the process after
//! the hash (up to two per hashing thread). With a fixed threshold such
//! blocks stay mmapped, and freeing one gives the memory back at once: RSS
//! returns to idle after a login. The threshold can be fixed without unsafe
//! code only before malloc starts, through `GLIBC_TUNABLES`, so `serve`
//! executes itself again once with it set. An admin's own
//! `glibc.malloc.mmap_threshold` is left alone.

use std::ffi::OsString;

const TUNABLES: &str = "GLIBC_TUNABLES";
const TUNABLE: &str = "glibc.malloc.mmap_threshold";
/// Blocks from 4 MiB up are mmapped: hash buffers, not everyday ones.
const THRESHOLD: usize = 4 * 1024 * 1024;
/// Set on the re-executed process: its value is the `GLIBC_TUNABLES`
/// Innkeeper started with, handed back to the processes it runs.
pub const ORIGINAL: &str = "INNKEEPER_ORIGINAL_GLIBC_TUNABLES";

/// Re-executes the running binary with the threshold set, unless it is set
/// already (or this is not glibc). Returns only when nothing was done or
/// the exec failed; the server then runs with glibc's defaults.
pub fn fix_mmap_threshold() {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) || std::env::var_os(ORIGINAL).is_some() {
        return;
    }
    let current = std::env::var(TUNABLES).unwrap_or_default();
    if current.contains(TUNABLE) {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let tuned = if current.is_empty() {
        format!("{TUNABLE}={THRESHOLD}")
    } else {
        format!("{current}:{TUNABLE}={THRESHOLD}")
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| OsString::from("innkeeper"));
    use std::os::unix::process::CommandExt;
    let _failed = std::process::Command::new(exe)
        .arg0(arg0)
        .args(args)
        .env(TUNABLES, tuned)
        .env(ORIGINAL, current)
        .exec();
}

/// Gives a child process the `GLIBC_TUNABLES` Innkeeper itself started
/// with, so the setting above stays Innkeeper's own.
pub fn restore_for_child(cmd: &mut tokio::process::Command) {
    if let Some(original) = std::env::var_os(ORIGINAL) {
        if original.is_empty() {
            cmd.env_remove(TUNABLES);
        } else {
            cmd.env(TUNABLES, original);
        }
        cmd.env_remove(ORIGINAL);
    }
}
