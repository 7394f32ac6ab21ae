//! Import figures for a large SillyTavern root: 1,000 users and 50,000
//! files (about 170 MiB), imported once by copying into another folder and
//! once in place. Prints wall time and peak resident memory (VmHWM, which
//! only grows, so the second figure covers both runs). Asserts only that
//! the imports did what they report.

use std::path::Path;
use std::time::Instant;

use innkeeper::config;
use innkeeper::import::{self, records::key_file_name, ImportOptions};

mod support;
use support::vm_hwm_kib;

const USERS: usize = 1_000;
const FILES_PER_USER: usize = 50;
const SALT: &str = "q83vEjRWeJq8mJmZ3a7G1g==";
const HASH: &str =
    "Xp8jj9yb0c7KoaMMwEA4lNN80Rl6ki8DppzxUPeciPjU1CmGsL7LrbZFOszQ02w+lQ9ZfOWD/l+XTv8+YSEJFw==";

fn record(root: &Path, key: &str, value: serde_json::Value) {
    let text = serde_json::json!({ "key": key, "value": value }).to_string();
    std::fs::write(root.join("_storage").join(key_file_name(key)), text).expect("record");
}

/// Builds the root; returns (files, bytes) of the user folders.
fn build(root: &Path) -> (usize, u64) {
    std::fs::create_dir_all(root.join("_storage")).expect("storage");
    let mut files = 0;
    let mut bytes = 0u64;
    for u in 0..USERS {
        let handle = format!("user-{u:04}");
        record(
            root,
            &format!("user:{handle}"),
            serde_json::json!({"handle": handle, "name": format!("User {u}"),
                "created": 1_700_000_000_000i64 + u as i64, "password": HASH, "salt": SALT,
                "admin": u == 0, "enabled": true}),
        );
        if u % 10 == 0 {
            record(
                root,
                &format!("avatar:{handle}"),
                serde_json::json!(format!("data:image/png;base64,{}", "A".repeat(4000))),
            );
        }
        let dir = root.join(&handle);
        for sub in ["backups", "characters", "chats/Seraphina", "worlds"] {
            std::fs::create_dir_all(dir.join(sub)).expect("folder");
        }
        for f in 0..FILES_PER_USER {
            // Sizes from 64 bytes to 4 KiB, a few chats of 40 KiB.
            let size = if f % 25 == 0 {
                40 * 1024
            } else {
                64 + (u * 31 + f * 97) % 4000
            };
            let path = match f {
                0 => dir.join("settings.json"),
                1..=3 => dir.join(format!("backups/settings_{handle}_2024010{f}-120000.json")),
                _ if f % 3 == 0 => dir.join(format!("characters/char{f}.png")),
                _ if f % 3 == 1 => dir.join(format!("chats/Seraphina/chat{f}.jsonl")),
                _ => dir.join(format!("worlds/world{f}.json")),
            };
            std::fs::write(&path, vec![b'x'; size]).expect("file");
            files += 1;
            bytes += size as u64;
        }
    }
    (files, bytes)
}

fn main() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let source = tmp.path().join("sillytavern");
    let began = Instant::now();
    let (files, bytes) = build(&source);
    println!(
        "built {USERS} users, {files} files ({:.1} MiB) in {:.1} s",
        bytes as f64 / 1048576.0,
        began.elapsed().as_secs_f64()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (base, _) = config::parse("").expect("defaults");

    let mut copy_cfg = base.clone();
    copy_cfg.data_root = tmp.path().join("innkeeper");
    copy_cfg.hooks.dir = tmp.path().join("scripts");
    let opts = ImportOptions {
        source: source.clone(),
        dry_run: false,
        overwrite: false,
        progress: false,
    };
    let start = Instant::now();
    let report = runtime
        .block_on(import::run(&copy_cfg, &opts))
        .expect("copy import");
    let copy_secs = start.elapsed().as_secs_f64();
    assert_eq!(report.files_copied, files as u64);
    assert_eq!(report.bytes_copied, bytes);
    assert_eq!(report.count(import::Action::Create), USERS);
    println!(
        "copy into another folder: {copy_secs:.2} s ({:.0} files/s, {:.1} MiB/s), {} snapshots indexed; peak memory so far {} MiB",
        files as f64 / copy_secs,
        bytes as f64 / 1048576.0 / copy_secs,
        report.snapshots,
        vm_hwm_kib() / 1024
    );

    let mut in_place_cfg = base;
    in_place_cfg.data_root = source.clone();
    in_place_cfg.hooks.dir = tmp.path().join("scripts");
    let start = Instant::now();
    let report = runtime
        .block_on(import::run(&in_place_cfg, &opts))
        .expect("in-place import");
    let in_place_secs = start.elapsed().as_secs_f64();
    assert!(report.in_place);
    assert_eq!(report.count(import::Action::Create), USERS);
    println!(
        "in place: {in_place_secs:.2} s, {} snapshots indexed; peak memory (both runs) {} MiB",
        report.snapshots,
        vm_hwm_kib() / 1024
    );

    let start = Instant::now();
    let again = runtime
        .block_on(import::run(&in_place_cfg, &opts))
        .expect("second run");
    assert!(!again.changed());
    println!(
        "second in-place run (no-op): {:.2} s",
        start.elapsed().as_secs_f64()
    );
}
