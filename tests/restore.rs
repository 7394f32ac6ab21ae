//! `innkeeper restore` driven as an admin would, with crafted archives:
//! zip bombs, corrupt entries, names the disk refuses, links already in the
//! target, `./` entries, a live server holding the data root, a database
//! that is not one, stale `-wal`/`-shm` files. Also the snapshot index,
//! mended at start after a crash between a snapshot's file and its row.

#[path = "common/child.rs"]
mod child;
mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::Output;

use child::{run, ChildServer, FAST_CONFIG};
use serde_json::json;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

/// The lock file a running server holds in its data root (named in the
/// messages an admin reads, so part of the contract).
const LOCK_FILE: &str = ".innkeeper.lock";

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A folder with the test config; the data root is `data/` inside it.
fn admin_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), FAST_CONFIG).unwrap();
    dir
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = run(dir, args);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    text(&o)
}

/// A refused command's output.
fn refused(dir: &Path, args: &[&str]) -> String {
    let o = run(dir, args);
    assert!(!o.status.success(), "{args:?} succeeded: {}", text(&o));
    text(&o)
}

/// What a data root holds, the lock file left out.
fn holds(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != LOCK_FILE)
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn options(method: CompressionMethod) -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(method)
}

/// Writes a zip of `(name, bytes, method)` entries (a name ending in `/`
/// is a folder).
fn write_zip(path: &Path, entries: &[(&str, &[u8], CompressionMethod)]) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, data, method) in entries {
        if let Some(dir) = name.strip_suffix('/') {
            z.add_directory(dir, options(*method)).unwrap();
        } else {
            z.start_file(*name, options(*method)).unwrap();
            z.write_all(data).unwrap();
        }
    }
    z.finish().unwrap();
}

const STORED: CompressionMethod = CompressionMethod::Stored;
const DEFLATED: CompressionMethod = CompressionMethod::Deflated;

#[test]
fn zip_bombs_are_refused_before_they_fill_the_disk() {
    let dir = admin_dir();
    let root = dir.path().join("data");
    // One entry: 16 MiB of zeros deflate to about 16 KiB.
    let zeros = vec![0u8; 16 << 20];
    write_zip(
        &dir.path().join("one.zip"),
        &[
            ("bob/settings.json", b"{}", DEFLATED),
            ("bob/chats/zeros.bin", &zeros, DEFLATED),
        ],
    );
    let out = refused(dir.path(), &["restore", "one.zip"]);
    assert!(
        out.contains("bob/chats/zeros.bin") && out.contains("zip bomb"),
        "{out}"
    );
    assert!(holds(&root).is_empty(), "{:?}", holds(&root));

    // Many entries, each under the size held to the ratio: 100 MiB from
    // about 100 KiB. The compressed 1 MiB is made once and copied raw.
    write_zip(
        &dir.path().join("mib.zip"),
        &[("z.bin", &zeros[..1 << 20], DEFLATED)],
    );
    let mut src =
        zip::ZipArchive::new(std::fs::File::open(dir.path().join("mib.zip")).unwrap()).unwrap();
    let mut many = zip::ZipWriter::new(std::fs::File::create(dir.path().join("many.zip")).unwrap());
    for i in 0..100 {
        many.raw_copy_file_rename(src.by_index_raw(0).unwrap(), format!("bob/z{i}.bin"))
            .unwrap();
    }
    many.finish().unwrap();
    let out = refused(dir.path(), &["restore", "many.zip"]);
    assert!(out.contains("zip bomb"), "{out}");
    assert!(holds(&root).is_empty(), "{:?}", holds(&root));

    // An entry that declares 1000 bytes and holds 16 MiB: counted as
    // written, stopped, and nothing of it is left.
    write_zip(
        &dir.path().join("liar.zip"),
        &[
            ("bob/settings.json", b"{}", DEFLATED),
            ("bob/liar.bin", &zeros, DEFLATED),
        ],
    );
    let mut bytes = std::fs::read(dir.path().join("liar.zip")).unwrap();
    let declared = (16u32 << 20).to_le_bytes();
    let mut patched = 0;
    for at in 0..bytes.len().saturating_sub(32) {
        let local = bytes[at..].starts_with(b"PK\x03\x04") && bytes[at + 22..at + 26] == declared;
        let central = bytes[at..].starts_with(b"PK\x01\x02") && bytes[at + 24..at + 28] == declared;
        if local {
            bytes[at + 22..at + 26].copy_from_slice(&1000u32.to_le_bytes());
            patched += 1;
        } else if central {
            bytes[at + 24..at + 28].copy_from_slice(&1000u32.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "both size fields of the entry patched");
    std::fs::write(dir.path().join("liar.zip"), &bytes).unwrap();
    let out = refused(dir.path(), &["restore", "liar.zip"]);
    assert!(out.contains("bob/liar.bin"), "{out}");
    assert!(holds(&root).is_empty(), "{:?}", holds(&root));
}

#[test]
fn a_bad_entry_leaves_nothing_half_restored() {
    let dir = admin_dir();
    let root = dir.path().join("data");
    // A CRC error in the second file: the first must not stay behind.
    let body = b"0123456789abcdef".repeat(64);
    write_zip(
        &dir.path().join("crc.zip"),
        &[
            ("alice/settings.json", b"{\"first\":1}", STORED),
            ("alice/chats/b.jsonl", &body, STORED),
        ],
    );
    let mut bytes = std::fs::read(dir.path().join("crc.zip")).unwrap();
    let at = bytes
        .windows(16)
        .position(|w| w == b"0123456789abcdef")
        .unwrap();
    bytes[at + 5] ^= 0x55;
    std::fs::write(dir.path().join("crc.zip"), &bytes).unwrap();
    let out = refused(dir.path(), &["restore", "crc.zip"]);
    assert!(out.contains("alice/chats/b.jsonl"), "{out}");
    assert!(holds(&root).is_empty(), "{:?}", holds(&root));

    // A name the file system refuses (over 255 bytes).
    let long = format!("alice/{}.json", "n".repeat(300));
    write_zip(
        &dir.path().join("long.zip"),
        &[
            ("alice/settings.json", b"{}", DEFLATED),
            (&long, b"{}", DEFLATED),
        ],
    );
    let out = refused(dir.path(), &["restore", "long.zip"]);
    assert!(out.contains("nnnnnnnnnn"), "{out}");
    assert!(holds(&root).is_empty(), "{:?}", holds(&root));

    // A file and a folder of one name.
    write_zip(
        &dir.path().join("clash.zip"),
        &[
            ("alice/settings.json", b"{}", DEFLATED),
            ("alice/chats", b"a file", DEFLATED),
            ("alice/chats/c.jsonl", b"line", DEFLATED),
        ],
    );
    let out = refused(dir.path(), &["restore", "clash.zip"]);
    assert!(out.contains("alice/chats"), "{out}");
    assert!(holds(&root).is_empty(), "{:?}", holds(&root));
}

#[test]
fn restore_never_writes_through_a_link_in_the_target() {
    let dir = admin_dir();
    let root = dir.path().join("data");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(outside.join("victim")).unwrap();
    std::fs::create_dir_all(outside.join("chats")).unwrap();
    std::fs::write(outside.join("victim/settings.json"), "mine").unwrap();
    std::fs::create_dir_all(root.join("carol")).unwrap();
    std::os::unix::fs::symlink(outside.join("victim"), root.join("bob")).unwrap();
    std::os::unix::fs::symlink(outside.join("chats"), root.join("carol/chats")).unwrap();
    write_zip(
        &dir.path().join("links.zip"),
        &[
            ("bob/settings.json", b"restored", DEFLATED),
            ("carol/chats/c.jsonl", b"line", DEFLATED),
        ],
    );
    ok(dir.path(), &["restore", "links.zip", "--force"]);
    assert_eq!(
        std::fs::read_to_string(outside.join("victim/settings.json")).unwrap(),
        "mine"
    );
    assert_eq!(std::fs::read_dir(outside.join("chats")).unwrap().count(), 0);
    assert!(!root.join("bob").is_symlink() && root.join("bob").is_dir());
    assert_eq!(
        std::fs::read_to_string(root.join("bob/settings.json")).unwrap(),
        "restored"
    );
    assert!(!root.join("carol/chats").is_symlink());
    assert_eq!(
        std::fs::read_to_string(root.join("carol/chats/c.jsonl")).unwrap(),
        "line"
    );
}

#[test]
fn dot_slash_entries_restore_like_plain_ones() {
    let dir = admin_dir();
    write_zip(
        &dir.path().join("dots.zip"),
        &[
            ("./", b"", DEFLATED),
            ("./gil/", b"", DEFLATED),
            ("./gil/chats/c.jsonl", b"line\n", DEFLATED),
        ],
    );
    let out = ok(dir.path(), &["restore", "dots.zip"]);
    assert!(out.contains("Restored 1 files"), "{out}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("data/gil/chats/c.jsonl")).unwrap(),
        "line\n"
    );
}

#[tokio::test]
async fn restore_is_refused_while_a_server_holds_the_data_root() {
    let dir = admin_dir();
    let chat = dir.path().join("data/gil/chats/c.jsonl");
    ok(dir.path(), &["user", "create", "gil", "--password", "pw"]);
    std::fs::write(&chat, "in the backup\n").unwrap();
    ok(dir.path(), &["backup", "--all", "-o", "all.zip"]);
    std::fs::write(&chat, "written since\n").unwrap();

    let server = ChildServer::start(dir.path()).expect("the server starts");
    let out = refused(dir.path(), &["restore", "all.zip", "--force"]);
    assert!(out.contains(LOCK_FILE) && out.contains("running"), "{out}");
    assert_eq!(std::fs::read_to_string(&chat).unwrap(), "written since\n");
    // Nor may a second server share the root.
    let second = ChildServer::start(dir.path());
    let Err(second) = second else {
        panic!("a second server started on the same data root");
    };
    assert!(second.contains(LOCK_FILE), "{second}");
    assert!(server.stop().is_some_and(|s| s.success()));

    ok(dir.path(), &["restore", "all.zip", "--force"]);
    assert_eq!(std::fs::read_to_string(&chat).unwrap(), "in the backup\n");
    let server = ChildServer::start(dir.path()).expect("starts on the restored root");
    assert_eq!(child::http_login(&server.base, "gil", "pw").await, 200);
    assert!(server.stop().is_some_and(|s| s.success()));
}

#[test]
fn a_database_that_is_not_sound_is_refused() {
    let dir = admin_dir();
    let root = dir.path().join("data");
    write_zip(
        &dir.path().join("text.zip"),
        &[
            ("gil/settings.json", b"{}", DEFLATED),
            (
                "innkeeper.db",
                &b"not a database at all ".repeat(100),
                DEFLATED,
            ),
        ],
    );
    let out = refused(dir.path(), &["restore", "text.zip"]);
    assert!(
        out.contains("innkeeper.db") && out.contains("SQLite"),
        "{out}"
    );
    assert!(holds(&root).is_empty(), "{:?}", holds(&root));

    // A real database with a page overwritten.
    let other = admin_dir();
    ok(other.path(), &["user", "create", "gil", "--password", "pw"]);
    let mut db = std::fs::read(other.path().join("data/innkeeper.db")).unwrap();
    assert!(db.len() > 3 * 4096, "{} bytes", db.len());
    for b in &mut db[4096..3 * 4096] {
        *b = 0xA5;
    }
    write_zip(
        &dir.path().join("torn.zip"),
        &[
            ("gil/settings.json", b"{}", DEFLATED),
            ("innkeeper.db", &db, DEFLATED),
        ],
    );
    let out = refused(dir.path(), &["restore", "torn.zip"]);
    assert!(out.contains("innkeeper.db"), "{out}");
    assert!(holds(&root).is_empty(), "{:?}", holds(&root));
}

#[test]
fn force_replaces_the_database_with_its_wal_and_shm() {
    let dir = admin_dir();
    let root = dir.path().join("data");
    ok(dir.path(), &["user", "create", "gil", "--password", "pw"]);
    ok(dir.path(), &["backup", "--all", "-o", "all.zip"]);
    ok(dir.path(), &["user", "create", "zed", "--password", "pw"]);
    // What a killed server leaves next to its database.
    std::fs::write(root.join("innkeeper.db-wal"), vec![7u8; 8192]).unwrap();
    std::fs::write(root.join("innkeeper.db-shm"), vec![7u8; 32768]).unwrap();
    ok(dir.path(), &["restore", "all.zip", "--force"]);
    assert!(!root.join("innkeeper.db-wal").exists());
    assert!(!root.join("innkeeper.db-shm").exists());
    let list = ok(dir.path(), &["user", "list"]);
    assert!(list.contains("gil") && !list.contains("zed"), "{list}");
}

#[tokio::test]
async fn snapshot_files_and_their_index_agree_after_a_crash() {
    let s = common::Server::start().await;
    s.create_user("bob", Some("pw"), false).await;
    let settings = s.user_dir("bob").join("settings.json");
    let backups = s.user_dir("bob").join("backups");
    std::fs::write(&settings, r#"{"n":1}"#).unwrap();
    let kept = s.app.snapshots().make("bob").await.unwrap().expect("made");
    std::fs::write(&settings, r#"{"n":2}"#).unwrap();
    let lost = s.app.snapshots().make("bob").await.unwrap().expect("made");
    // A crash between a snapshot's file and its row, both ways round: a
    // whole file whose row was never written, a row whose file is gone.
    let orphan = "settings_bob_20200101-000000.json";
    std::fs::write(backups.join(orphan), r#"{"n":0}"#).unwrap();
    std::fs::remove_file(backups.join(&lost)).unwrap();

    let s = s.restart().await;
    let mut bob = s.login("bob", "pw").await;
    let (_, list) = bob.post("/api/settings/get-snapshots", json!({})).await;
    let mut names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    let mut want = vec![kept, orphan.to_string()];
    want.sort();
    assert_eq!(names, want, "lost: {lost}");
    let resp = bob
        .post_raw("/api/settings/load-snapshot", json!({ "name": orphan }))
        .await;
    assert_eq!(resp.status(), 200);
    let mut text = String::new();
    std::io::Cursor::new(resp.bytes().await.unwrap().to_vec())
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, r#"{"n":0}"#);
    s.stop().await;
}
