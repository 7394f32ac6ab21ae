//! Importing a SillyTavern data root built on disk the way SillyTavern
//! writes it: accounts, flags, legacy passwords that log in through the
//! real HTTP API (and are upgraded), avatars, snapshots, files left in
//! place or copied byte for byte, dry runs, second runs, malformed records,
//! --overwrite, and the automatic import at a first start of the binary.

#[path = "common/child.rs"]
mod child;
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use child::{http_login, ChildServer};
use common::{test_config, Server};
use innkeeper::accounts::service::NewUser;
use innkeeper::app::{Actor, App};
use innkeeper::clock::Clock;
use innkeeper::config::Config;
use innkeeper::console::Console;
use innkeeper::import::{self, records::key_file_name, Action, ImportOptions, Report};
use innkeeper::store;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_innkeeper");
/// SPEC §10 test vector.
const SALT: &str = "q83vEjRWeJq8mJmZ3a7G1g==";
const PASSWORD: &str = "SecurePassword";
const HASH: &str =
    "Xp8jj9yb0c7KoaMMwEA4lNN80Rl6ki8DppzxUPeciPjU1CmGsL7LrbZFOszQ02w+lQ9ZfOWD/l+XTv8+YSEJFw==";
const AVATAR: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
/// An old modification time given to the source files, so a copy that
/// loses times cannot pass by luck.
const OLD: u64 = 1_600_000_000;

fn record(root: &Path, file: &str, key: &str, value: Value) {
    let text = serde_json::to_string(&json!({ "key": key, "value": value })).unwrap();
    std::fs::write(root.join("_storage").join(file), text).unwrap();
}

fn user(root: &Path, handle: &str, name: &str, password: bool, admin: bool, enabled: bool) {
    let (pw, salt) = if password { (HASH, SALT) } else { ("", "") };
    let key = format!("user:{handle}");
    record(
        root,
        &key_file_name(&key),
        &key,
        json!({ "handle": handle, "name": name, "created": 1_700_000_000_000i64 + handle.len() as i64,
                "password": pw, "salt": salt, "admin": admin, "enabled": enabled }),
    );
}

fn file(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(OLD))
        .unwrap();
}

/// Names of the files in `_storage/` that must be reported.
struct Bad {
    broken_json: String,
    bad_handle: String,
    duplicate: String,
}

/// A SillyTavern data root: six good accounts (one replaces default-user,
/// one has no password, one is disabled, two are admins, one sits in a
/// file not named by its key's hash), an avatar, three bad records, an
/// unrelated key, snapshots and user files.
fn sillytavern_root(root: &Path) -> Bad {
    std::fs::create_dir_all(root.join("_storage")).unwrap();
    user(root, "default-user", "Owner", true, true, true);
    user(root, "alice", "Alice", true, false, true);
    user(root, "bob", "Bob", false, false, true);
    user(root, "carol", "Carol", true, false, false);
    user(root, "dave", "Dave", true, true, true);
    record(
        root,
        "erin-by-hand",
        "user:erin",
        json!({"handle":"erin","name":"Erin","created":1_700_000_000_777i64,"password":"","salt":"","admin":false,"enabled":true}),
    );
    record(
        root,
        &key_file_name("avatar:alice"),
        "avatar:alice",
        json!(AVATAR),
    );
    record(
        root,
        &key_file_name("migration:v2"),
        "migration:v2",
        json!(true),
    );
    let broken_json = key_file_name("user:broken");
    std::fs::write(
        root.join("_storage").join(&broken_json),
        r#"{"key":"user:broken","value":{"handle":"#,
    )
    .unwrap();
    let bad_handle = key_file_name("user:Bad Name");
    record(
        root,
        &bad_handle,
        "user:Bad Name",
        json!({"handle":"Bad Name","name":"Bad","created":1,"password":"","salt":"","admin":true,"enabled":true}),
    );
    let duplicate = "alice-old-copy".to_string();
    record(
        root,
        &duplicate,
        "user:alice",
        json!({"handle":"alice","name":"Old Alice","created":1,"password":"","salt":"","admin":true,"enabled":true}),
    );

    file(
        root,
        "alice/settings.json",
        br#"{"username":"Alice","theme":"dark"}"#,
    );
    file(
        root,
        "alice/backups/settings_alice_20240101-120000.json",
        b"{\"v\":1}",
    );
    file(
        root,
        "alice/backups/settings_alice_20240102-120000.json",
        b"{\"v\":2}",
    );
    file(root, "alice/backups/notes.txt", b"not a snapshot");
    file(
        root,
        "alice/characters/Seraphina.png",
        &[0x89, b'P', b'N', b'G', 0, 1, 2, 3],
    );
    file(
        root,
        "alice/chats/Seraphina/Seraphina - 2024-01-01.jsonl",
        b"{\"mes\":\"hi\"}\n",
    );
    file(root, "bob/settings.json", br#"{"username":"Bob"}"#);
    file(root, "bob/backups/settings_bob_20240301-080000.json", b"{}");
    file(root, "bob/chats/x/y.jsonl", &vec![b'z'; 300_000]);
    file(
        root,
        "default-user/settings.json",
        br#"{"username":"Owner"}"#,
    );
    file(root, "default-user/characters/Default.png", b"png");
    Bad {
        broken_json,
        bad_handle,
        duplicate,
    }
}

/// SHA-256 and modification time of every file under `root`.
fn checksums(root: &Path) -> BTreeMap<PathBuf, (String, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                let bytes = std::fs::read(e.path()).unwrap();
                let mtime = e.metadata().unwrap().modified().unwrap();
                out.insert(
                    e.path().strip_prefix(root).unwrap().to_path_buf(),
                    (hex::encode(Sha256::digest(&bytes)), mtime),
                );
            }
        }
    }
    out
}

/// Every path (files and folders) under `root`.
fn all_paths(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            out.push(e.path());
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn opts(source: &Path) -> ImportOptions {
    ImportOptions {
        source: source.to_path_buf(),
        dry_run: false,
        overwrite: false,
        progress: false,
    }
}

async fn import_with(config: &Config, o: ImportOptions) -> Report {
    import::run(config, &o).await.expect("import runs")
}

fn action_of(report: &Report, handle: &str) -> Action {
    report
        .users
        .iter()
        .find(|u| u.handle == handle)
        .unwrap_or_else(|| panic!("{handle} not in the report"))
        .action
}

fn stored(root: &Path, handle: &str) -> store::users::UserRow {
    let s = store::Store::open(root).unwrap();
    s.run_blocking(|c| store::users::get(c, handle))
        .unwrap()
        .unwrap_or_else(|| panic!("{handle} not stored"))
}

#[tokio::test]
async fn in_place_import_keeps_every_file_and_the_passwords_work() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let root = config.data_root.clone();
    let bad = sillytavern_root(&root);
    let before = checksums(&root);

    let report = import_with(&config, opts(&root)).await;
    let text = report.to_string();
    assert!(report.in_place, "{text}");
    assert!(text.contains("user files stay where they are"), "{text}");
    for h in ["alice", "bob", "carol", "dave", "erin"] {
        assert_eq!(action_of(&report, h), Action::Create, "{h}: {text}");
    }
    assert_eq!(action_of(&report, "default-user"), Action::ReplaceDefault);
    assert!(
        text.contains("Users: 5 imported, 1 replaced, 0 already present, 0 skipped"),
        "{text}"
    );
    assert_eq!(report.avatars, 1);
    assert_eq!(report.snapshots, 3, "{text}");
    assert_eq!(report.ignored_records, 1);
    // Malformed records are named by file, and the rest went in.
    let skipped: Vec<&str> = report
        .skipped_records
        .iter()
        .map(|p| p.file.as_str())
        .collect();
    assert_eq!(skipped.len(), 3, "{text}");
    for f in [&bad.broken_json, &bad.bad_handle, &bad.duplicate] {
        assert!(skipped.contains(&f.as_str()), "{f} not reported: {text}");
        assert!(text.contains(&format!("_storage/{f}")), "{text}");
    }
    assert!(text.contains("not valid JSON"), "{text}");
    assert!(text.contains("breaks the handle rules"), "{text}");
    assert!(text.contains("duplicate"), "{text}");
    assert!(
        text.contains("_storage/erin-by-hand: the file name is not the SHA-256"),
        "{text}"
    );
    assert!(!text.contains("Bad Name\": imported"));

    // Nothing of the source changed; only missing layout folders and
    // settings files were added.
    let after = checksums(&root);
    for (path, sum) in &before {
        assert_eq!(after.get(path), Some(sum), "{} changed", path.display());
    }
    assert!(root.join("alice/vectors").is_dir());
    assert!(root.join("erin/settings.json").is_file());

    // Accounts and flags.
    let row = stored(&root, "default-user");
    assert_eq!((row.name.as_str(), row.admin), ("Owner", true));
    assert_eq!(row.password.as_deref(), Some(HASH));
    let alice = stored(&root, "alice");
    assert_eq!(alice.name, "Alice");
    assert_eq!(alice.created, 1_700_000_000_005);
    assert_eq!(alice.legacy_salt.as_deref(), Some(SALT));
    assert_eq!(alice.avatar.as_deref(), Some(AVATAR));
    assert!(!alice.admin && alice.enabled);
    let bob = stored(&root, "bob");
    assert_eq!((bob.password, bob.legacy_salt), (None, None));
    assert!(!stored(&root, "carol").enabled);
    assert!(stored(&root, "dave").admin);

    // A second run changes nothing and says so.
    let again = import_with(&config, opts(&root)).await;
    assert!(!again.changed(), "{again}");
    assert_eq!(again.count(Action::Present), 6);
    assert!(again.to_string().contains("Nothing changed"), "{again}");

    // The SillyTavern passwords log in through the API.
    let server = Server::start_in(dir, config.clone()).await;
    let snaps = server.app.snapshots().list("alice").await.unwrap();
    assert_eq!(snaps.len(), 2);
    let mut c = server.client();
    let (status, body) = c
        .post(
            "/api/users/login",
            json!({"handle":"alice","password":"wrong"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(stored(&root, "alice").password.as_deref(), Some(HASH));
    let (status, body) = c
        .post(
            "/api/users/login",
            json!({"handle":"alice","password":PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["handle"], "alice");
    // Upgraded to a PHC string on that login.
    let upgraded = stored(&root, "alice");
    assert!(
        upgraded
            .password
            .as_deref()
            .unwrap()
            .starts_with("$scrypt$"),
        "{upgraded:?}"
    );
    assert_eq!(upgraded.legacy_salt, None);
    // ... and the new hash works too.
    server.login("alice", PASSWORD).await;
    server.login("default-user", PASSWORD).await;
    server.login("bob", "").await;
    let (status, body) = server
        .client()
        .post(
            "/api/users/login",
            json!({"handle":"carol","password":PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "User is disabled");
    // After the upgrade, a third run (beside the running server) still
    // leaves alice alone.
    let third = import_with(&config, opts(&root)).await;
    assert!(!third.changed(), "{third}");
    assert!(stored(&root, "alice")
        .password
        .unwrap()
        .starts_with("$scrypt$"));
    server.stop().await;
}

#[tokio::test]
async fn another_folder_is_copied_byte_for_byte_with_times() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let source = dir.path().join("sillytavern");
    sillytavern_root(&source);
    let before = checksums(&source);

    let report = import_with(&config, opts(&source)).await;
    let text = report.to_string();
    assert!(!report.in_place);
    assert!(text.contains("copied into"), "{text}");
    assert_eq!(report.count(Action::Create), 5, "{text}");
    assert_eq!(report.snapshots, 3, "{text}");

    assert_eq!(checksums(&source), before, "the source changed");
    let copied = checksums(&config.data_root);
    let mut user_files = 0;
    for (path, sum) in &before {
        if path.starts_with("_storage") {
            assert!(!copied.contains_key(path), "{} copied", path.display());
            continue;
        }
        user_files += 1;
        let got = copied
            .get(path)
            .unwrap_or_else(|| panic!("{} not copied", path.display()));
        assert_eq!(got, sum, "{} differs (content or time)", path.display());
        assert_eq!(
            got.1,
            SystemTime::UNIX_EPOCH + Duration::from_secs(OLD),
            "{}",
            path.display()
        );
    }
    assert_eq!(report.files_copied, user_files as u64, "{text}");
    let bytes: u64 = before
        .keys()
        .filter(|p| !p.starts_with("_storage"))
        .map(|p| std::fs::metadata(source.join(p)).unwrap().len())
        .sum();
    assert_eq!(report.bytes_copied, bytes);
    // The first start's factory settings gave way to the user's own.
    assert_eq!(
        std::fs::read(config.data_root.join("default-user/settings.json")).unwrap(),
        br#"{"username":"Owner"}"#
    );

    let again = import_with(&config, opts(&source)).await;
    assert_eq!(again.files_copied, 0, "{again}");
    assert_eq!(again.files_present, user_files as u64);
    assert!(again.to_string().contains("Nothing changed"), "{again}");
}

#[tokio::test]
async fn a_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let root = config.data_root.clone();
    sillytavern_root(&root);
    let before = all_paths(dir.path());
    let sums = checksums(dir.path());

    let report = import_with(
        &config,
        ImportOptions {
            dry_run: true,
            ..opts(&root)
        },
    )
    .await;
    let text = report.to_string();
    assert!(text.contains("dry run: nothing was written"), "{text}");
    assert!(text.contains("alice: would be imported"), "{text}");
    assert!(
        text.contains("default-user: would be imported, replacing"),
        "{text}"
    );
    assert_eq!(report.snapshots, 3);
    assert!(report.folders_created > 0);
    assert_eq!(
        all_paths(dir.path()),
        before,
        "a dry run created or removed something"
    );
    assert_eq!(checksums(dir.path()), sums);
    assert!(!root.join("innkeeper.db").exists());

    // Against an existing database it reads without writing, too.
    import_with(&config, opts(&root)).await;
    let before = all_paths(dir.path());
    let sums = checksums(dir.path());
    let report = import_with(
        &config,
        ImportOptions {
            dry_run: true,
            ..opts(&root)
        },
    )
    .await;
    assert!(!report.changed(), "{report}");
    assert!(report.to_string().contains("Nothing to do"), "{report}");
    assert_eq!(all_paths(dir.path()), before);
    assert_eq!(checksums(dir.path()), sums);
}

#[tokio::test]
async fn an_existing_handle_is_skipped_unless_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let source = dir.path().join("st");
    sillytavern_root(&source);
    let app = App::open(config.clone(), Clock::default(), Console::default()).unwrap();
    app.accounts()
        .create_user(
            &Actor::console(),
            NewUser {
                handle: "alice".into(),
                name: "alice name".into(),
                password: Some("innkeeper-pw".into()),
                admin: false,
            },
        )
        .await
        .unwrap();
    std::fs::write(app.user_dir("alice").unwrap().join("mine.txt"), "kept").unwrap();
    drop(app);

    let report = import_with(&config, opts(&source)).await;
    let text = report.to_string();
    assert_eq!(action_of(&report, "alice"), Action::Conflict);
    assert!(
        text.contains("alice: skipped: an account with this handle already exists"),
        "{text}"
    );
    assert_eq!(stored(&config.data_root, "alice").name, "alice name");
    // A skipped account's folder is not touched.
    assert!(!config
        .data_root
        .join("alice/characters/Seraphina.png")
        .exists());
    assert_eq!(report.avatars, 0, "alice's avatar goes with her account");

    let report = import_with(
        &config,
        ImportOptions {
            overwrite: true,
            ..opts(&source)
        },
    )
    .await;
    assert_eq!(action_of(&report, "alice"), Action::Overwrite, "{report}");
    assert_eq!(report.count(Action::Overwrite), 1, "{report}");
    let alice = stored(&config.data_root, "alice");
    assert_eq!(alice.name, "Alice");
    assert_eq!(alice.password.as_deref(), Some(HASH));
    assert_eq!(alice.avatar.as_deref(), Some(AVATAR));
    // Files are added, never replaced.
    assert!(config
        .data_root
        .join("alice/characters/Seraphina.png")
        .exists());
    assert_eq!(
        std::fs::read_to_string(config.data_root.join("alice/mine.txt")).unwrap(),
        "kept"
    );
}

#[tokio::test]
async fn a_folder_without_storage_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let err = import::run(&config, &opts(&dir.path().join("nothing")))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("has no _storage folder"), "{err}");
}

fn write_config(dir: &Path, data: &str) {
    std::fs::write(
        dir.join("config.yaml"),
        format!("dataRoot: {data}\nport: 0\npasswordHash:\n  logN: 4\n  r: 8\n  p: 1\n"),
    )
    .unwrap();
}

#[tokio::test]
async fn the_first_start_of_the_binary_imports_automatically() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "data");
    let root = dir.path().join("data");
    let bad = sillytavern_root(&root);
    let before = checksums(&root);

    let server = ChildServer::start(dir.path()).expect("server starts");
    let out = server.output();
    let url = server.base.clone();
    assert!(out.contains("importing it first"), "{out}");
    assert!(
        out.contains("Users: 5 imported, 1 replaced, 0 already present, 0 skipped"),
        "{out}"
    );
    assert!(
        out.contains(&format!("_storage/{}", bad.broken_json)),
        "{out}"
    );
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(http_login(&url, "dave", PASSWORD).await, StatusCode::OK);
    assert_eq!(
        http_login(&url, "dave", "nope").await,
        StatusCode::FORBIDDEN
    );
    assert!(
        server.stop().is_some_and(|s| s.success()),
        "SIGTERM exits 0"
    );
    let after = checksums(&root);
    for (path, sum) in &before {
        assert_eq!(after.get(path), Some(sum), "{} changed", path.display());
    }

    // The database exists now: the next start imports nothing.
    let server = ChildServer::start(dir.path()).expect("server starts");
    let out = server.output();
    assert!(!out.contains("SillyTavern"), "{out}");
    assert!(
        server.stop().is_some_and(|s| s.success()),
        "SIGTERM exits 0"
    );
}

#[test]
fn the_command_prints_its_plan_and_report_and_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "data");
    let source = dir.path().join("st");
    sillytavern_root(&source);
    let run = |args: &[&str]| {
        Command::new(BIN)
            .current_dir(dir.path())
            .args(args)
            .output()
            .expect("binary runs")
    };

    let out = run(&["import-sillytavern", "st", "--dry-run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("would be imported"), "{text}");
    assert!(
        !dir.path().join("data").exists(),
        "a dry run made the data root"
    );

    let out = run(&["import-sillytavern", "st"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Users: 5 imported"), "{text}");
    assert!(text.contains("Files copied: 11"), "{text}");

    let out = run(&["import-sillytavern", "st"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Nothing changed"), "{text}");

    let out = run(&["import-sillytavern", "missing"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("import failed") && err.contains("no _storage folder"),
        "{err}"
    );
}
