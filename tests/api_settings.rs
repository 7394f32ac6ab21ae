//! Settings, snapshots, the user file routes (with every traversal trick),
//! backups and body limits, against SPEC §5, §7 and Appendix A.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use common::{raw_get, Client, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};

const SECRET: &str = "TOP-SECRET-CONTENTS-7f3a";
const INVALID: &str = "Invalid snapshot name";

async fn alice() -> (Server, Client) {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let c = s.login("alice", "pw-alice").await;
    (s, c)
}

async fn settings_get(c: &mut Client) -> Value {
    let (status, v) = c.post("/api/settings/get", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

async fn snapshots(c: &mut Client) -> Vec<Value> {
    let (status, v) = c.post("/api/settings/get-snapshots", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v.as_array().expect("a list").clone()
}

async fn save(c: &mut Client, v: Value) {
    let (status, b) = c.post("/api/settings/save", v).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b, json!({ "result": "ok" }));
}

async fn make(c: &mut Client) {
    let (status, b) = c.post("/api/settings/make-snapshot", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{b}");
}

fn names(list: &[Value]) -> Vec<String> {
    list.iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

const LIST_KEYS: &[&str] = &[
    "koboldai_settings",
    "koboldai_setting_names",
    "novelai_settings",
    "novelai_setting_names",
    "openai_settings",
    "openai_setting_names",
    "textgenerationwebui_presets",
    "textgenerationwebui_preset_names",
    "world_names",
    "themes",
    "movingUIPresets",
    "quickReplyPresets",
    "instruct",
    "context",
    "sysprompt",
];

#[tokio::test]
async fn settings_get_with_and_without_a_file() {
    let (s, mut c) = alice().await;
    let v = settings_get(&mut c).await;
    for key in LIST_KEYS {
        assert_eq!(v[key], json!([]), "{key}");
    }
    assert!(v["enable_extensions"].is_boolean());
    assert!(v["enable_extensions_auto_update"].is_boolean());
    assert_eq!(v["enable_accounts"], true);
    let text = v["settings"].as_str().expect("settings as text");
    let parsed: Value = serde_json::from_str(text).expect("valid JSON");
    assert!(parsed.is_object());
    let file = s.user_dir("alice").join("settings.json");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);

    // The file's text comes back verbatim.
    std::fs::write(&file, "{ \"mine\" :  1 }").unwrap();
    assert_eq!(settings_get(&mut c).await["settings"], "{ \"mine\" :  1 }");

    // No settings.json: the factory default, not an error.
    std::fs::remove_file(&file).unwrap();
    let v = settings_get(&mut c).await;
    let parsed: Value = serde_json::from_str(v["settings"].as_str().unwrap()).unwrap();
    assert!(parsed.is_object());
    assert_eq!(v["koboldai_settings"], json!([]));
    s.stop().await;
}

#[tokio::test]
async fn settings_get_lists_presets_from_the_folders() {
    let (s, mut c) = alice().await;
    let dir = s.user_dir("alice");
    let w = |rel: &str, text: &str| std::fs::write(dir.join(rel), text).unwrap();
    w("KoboldAI Settings/Beta.json", "{\"temp\": 0.9}");
    w("KoboldAI Settings/alpha.json", "{\"temp\": 0.7}\n");
    w("KoboldAI Settings/readme.txt", "not a preset");
    w("OpenAI Settings/Default.json", "{\"model\": \"x\"}");
    w("TextGen Settings/tg.json", "{\"top_p\": 1}");
    w("NovelAI Settings/nai.json", "{\"a\": 1}");
    w("themes/Dark.json", "{\"name\": \"Dark\", \"blur\": 5}");
    w("worlds/Lore.json", "{\"entries\": {}}");
    w("worlds/Other World.json", "{}");
    w("worlds/notes.txt", "x");
    w("instruct/Alpaca.json", "{\"name\": \"Alpaca\"}");
    w("context/Default.json", "{\"name\": \"Default\"}");
    w("sysprompt/Neutral.json", "{\"name\": \"Neutral\"}");
    w("movingUI/Mine.json", "{\"name\": \"Mine\"}");
    w("QuickReplies/Set.json", "{\"name\": \"Set\"}");
    let v = settings_get(&mut c).await;
    assert_eq!(v["koboldai_setting_names"], json!(["alpha", "Beta"]));
    assert_eq!(
        v["koboldai_settings"],
        json!(["{\"temp\": 0.7}\n", "{\"temp\": 0.9}"])
    );
    assert_eq!(v["openai_setting_names"], json!(["Default"]));
    assert_eq!(v["openai_settings"], json!(["{\"model\": \"x\"}"]));
    assert_eq!(v["textgenerationwebui_preset_names"], json!(["tg"]));
    assert_eq!(v["textgenerationwebui_presets"], json!(["{\"top_p\": 1}"]));
    assert_eq!(v["novelai_setting_names"], json!(["nai"]));
    assert_eq!(v["themes"], json!([{ "name": "Dark", "blur": 5 }]));
    let mut worlds: Vec<String> = serde_json::from_value(v["world_names"].clone()).unwrap();
    worlds.sort();
    assert_eq!(worlds, ["Lore", "Other World"]);
    assert_eq!(v["instruct"], json!([{ "name": "Alpaca" }]));
    assert_eq!(v["context"], json!([{ "name": "Default" }]));
    assert_eq!(v["sysprompt"], json!([{ "name": "Neutral" }]));
    assert_eq!(v["movingUIPresets"], json!([{ "name": "Mine" }]));
    assert_eq!(v["quickReplyPresets"], json!([{ "name": "Set" }]));
    s.stop().await;
}

#[tokio::test]
async fn settings_save_answers_and_limits() {
    let s = Server::start_with(|c| c.limits.settings_mb = 1).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let mut c = s.login("alice", "pw-alice").await;
    let file = s.user_dir("alice").join("settings.json");
    let before = std::fs::read(&file).unwrap();
    for bad in ["not json", "{\"a\":", "{'a': 1}"] {
        let a = c
            .post_body("/api/settings/save", "application/json", bad.into())
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(!a.error().is_empty());
    }
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "a bad body changes nothing"
    );

    let value = json!({ "username": "Alice", "power_user": { "theme": "Dark" }, "n": [1, 2, 3] });
    save(&mut c, value.clone()).await;
    let written: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(written, value);
    let got: Value =
        serde_json::from_str(settings_get(&mut c).await["settings"].as_str().unwrap()).unwrap();
    assert_eq!(got, value);

    // 30 KB: fine (bigger than SillyTavern's old default body limit).
    let big = json!({ "blob": "x".repeat(30 * 1024) });
    save(&mut c, big.clone()).await;
    let written: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(written, big);
    // Over 1 MB (and over the JSON limit, under settingsMb it would pass).
    let huge = json!({ "blob": "x".repeat(1024 * 1024 + 10) });
    let a = c.send("/api/settings/save", huge, &[]).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(!a.error().is_empty(), "{}", a.body);
    let written: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(written, big);
    s.stop().await;
}

#[tokio::test]
async fn settings_limit_is_above_the_json_limit() {
    let s = Server::start_with(|c| c.limits.settings_mb = 3).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let mut c = s.login("alice", "pw-alice").await;
    let two_mb = json!({ "blob": "y".repeat(2 * 1024 * 1024) });
    save(&mut c, two_mb).await;
    // The same size on an ordinary JSON route is too large.
    let a = c
        .send(
            "/api/users/change-name",
            json!({ "handle": "alice", "name": "n".repeat(2 * 1024 * 1024) }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        a.header("content-type"),
        Some("application/json"),
        "JSON error"
    );
    assert!(!a.error().is_empty());
    // Public routes too.
    let mut anon = s.client();
    let a = anon
        .send(
            "/api/users/login",
            json!({ "handle": "alice", "password": "p".repeat(1024 * 1024 + 1) }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(!a.error().is_empty());
    s.stop().await;
}

#[tokio::test]
async fn snapshots_make_list_skip_identical_and_name_uniquely() {
    let (s, mut c) = alice().await;
    assert!(snapshots(&mut c).await.is_empty());
    make(&mut c).await;
    let list = snapshots(&mut c).await;
    assert_eq!(list.len(), 1);
    let name = list[0]["name"].as_str().unwrap();
    let stamp = name
        .strip_prefix("settings_alice_")
        .and_then(|r| r.strip_suffix(".json"))
        .unwrap_or_else(|| panic!("{name}"));
    assert_eq!(stamp.len(), 15, "{name}");
    assert!(stamp.as_bytes()[8] == b'-', "{name}");
    let file = s.user_dir("alice").join("backups").join(name);
    assert_eq!(
        list[0]["size"].as_u64().unwrap(),
        std::fs::metadata(&file).unwrap().len()
    );
    let date = list[0]["date"].as_i64().unwrap();
    assert!((s.app.clock.now_ms() - date).abs() < 60_000, "{date}");

    // Identical to the newest: skipped.
    make(&mut c).await;
    assert_eq!(snapshots(&mut c).await.len(), 1);

    // Different content within one second: distinct names, none overwritten.
    let dir = s.user_dir("alice");
    let mut contents = vec![std::fs::read(&file).unwrap()];
    for i in 0..3 {
        let text = format!("{{\"i\":{i}}}");
        std::fs::write(dir.join("settings.json"), &text).unwrap();
        make(&mut c).await;
        contents.push(text.into_bytes());
    }
    let list = snapshots(&mut c).await;
    assert_eq!(list.len(), 4);
    let mut ns = names(&list);
    ns.sort();
    ns.dedup();
    assert_eq!(ns.len(), 4, "{ns:?}");
    // Every content is still there, each in its own file.
    let mut on_disk: Vec<Vec<u8>> = ns
        .iter()
        .map(|n| std::fs::read(dir.join("backups").join(n)).unwrap())
        .collect();
    on_disk.sort();
    contents.sort();
    assert_eq!(on_disk, contents);
    // Newest first.
    let dates: Vec<i64> = list.iter().map(|s| s["date"].as_i64().unwrap()).collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "{dates:?}");
    s.stop().await;
}

#[tokio::test]
async fn two_snapshots_in_one_second_get_distinct_names() {
    let (s, mut c) = alice().await;
    let dir = s.user_dir("alice");
    // Park the clock at the start of a second so both land in it.
    let now = s.app.clock.now_ms();
    s.app.clock.advance(1000 - now.rem_euclid(1000) + 100);
    std::fs::write(dir.join("settings.json"), "{\"a\":1}").unwrap();
    make(&mut c).await;
    std::fs::write(dir.join("settings.json"), "{\"a\":2}").unwrap();
    make(&mut c).await;
    let ns = names(&snapshots(&mut c).await);
    assert_eq!(ns.len(), 2);
    assert_ne!(ns[0], ns[1]);
    let stamp = |n: &str| n["settings_alice_".len().."settings_alice_".len() + 15].to_string();
    if stamp(&ns[0]) == stamp(&ns[1]) {
        assert!(ns.iter().any(|n| n.ends_with("_2.json")), "{ns:?}");
    }
    for n in &ns {
        assert!(
            innkeeper::userdata::snapshots::valid_name("alice", n),
            "{n}"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn snapshots_are_pruned_to_number_of_backups() {
    let s = Server::start_with(|c| c.number_of_backups = 3).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let mut c = s.login("alice", "pw-alice").await;
    for n in 0..6 {
        save(&mut c, json!({ "n": n })).await;
        make(&mut c).await;
        s.app.clock.advance(1_000);
    }
    let list = snapshots(&mut c).await;
    assert_eq!(list.len(), 3, "{list:?}");
    let backups = s.user_dir("alice").join("backups");
    let mut files: Vec<String> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut listed = names(&list);
    listed.sort();
    assert_eq!(files, listed);
    let mut kept: Vec<i64> = listed
        .iter()
        .map(|n| {
            let v: Value =
                serde_json::from_slice(&std::fs::read(backups.join(n)).unwrap()).unwrap();
            v["n"].as_i64().unwrap()
        })
        .collect();
    kept.sort();
    assert_eq!(kept, [3, 4, 5], "the newest are kept");
    s.stop().await;
}

#[tokio::test]
async fn load_and_restore_snapshots() {
    let (s, mut c) = alice().await;
    let file = s.user_dir("alice").join("settings.json");
    save(&mut c, json!({ "version": 1 })).await;
    make(&mut c).await;
    let list = snapshots(&mut c).await;
    let v1_name = list[0]["name"].as_str().unwrap().to_string();
    let v1_text = std::fs::read_to_string(&file).unwrap();
    let resp = c
        .post_raw("/api/settings/load-snapshot", json!({ "name": v1_name }))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.unwrap(), v1_text);

    save(&mut c, json!({ "version": 2 })).await;
    let v2_text = std::fs::read_to_string(&file).unwrap();
    let before = snapshots(&mut c).await.len();
    let (status, b) = c
        .post("/api/settings/restore-snapshot", json!({ "name": v1_name }))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), v1_text);
    // The current file was snapshotted first.
    let after = snapshots(&mut c).await;
    assert_eq!(after.len(), before + 1);
    let newest = after[0]["name"].as_str().unwrap();
    let resp = c
        .post_raw("/api/settings/load-snapshot", json!({ "name": newest }))
        .await;
    assert_eq!(resp.text().await.unwrap(), v2_text);
    let got = settings_get(&mut c).await;
    assert_eq!(got["settings"], v1_text);
    s.stop().await;
}

#[tokio::test]
async fn snapshot_names_are_checked() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    s.create_user("bob", Some("pw-bob"), false).await;
    let mut bob = s.login("bob", "pw-bob").await;
    make(&mut bob).await;
    let bobs = names(&snapshots(&mut bob).await)[0].clone();
    let mut c = s.login("alice", "pw-alice").await;
    make(&mut c).await;
    let mine = names(&snapshots(&mut c).await)[0].clone();
    // Secrets one and two levels up.
    std::fs::write(s.data_root().join("secret.json"), SECRET).unwrap();
    std::fs::write(s.dir.path().join("secret.json"), SECRET).unwrap();
    let bad: Vec<Value> = vec![
        json!(null),
        json!(""),
        json!(5),
        json!({ "a": 1 }),
        json!(bobs),
        json!(bobs.replace("bob", "alice/../bob")),
        json!("settings_alice_/../../secret.json"),
        json!("settings_alice_/../../../secret.json"),
        json!("settings_alice_x/../../../secret.json"),
        json!("settings_alice_..json"),
        json!("settings_alice_.json"),
        json!("settings_alice_x.txt"),
        json!("settings_alice_x.json/.."),
        json!("settings_alice_%2e%2e.json"),
        json!("settings_alice_x\\..\\..\\secret.json"),
        json!("settings_alice_x\u{0}.json"),
        json!("../settings_alice_x.json"),
        json!("../../secret.json"),
        json!("/etc/passwd"),
        json!(format!("{}/../../secret.json", mine)),
        json!(format!("./{mine}")),
        json!(format!("backups/{mine}")),
        json!(mine.replace(".json", ".JSON")),
        json!(format!(" {mine}")),
        json!("settings_bob_20240101-120000.json"),
        json!("settings_ALICE_20240101-120000.json"),
    ];
    for route in ["load-snapshot", "restore-snapshot"] {
        let path = format!("/api/settings/{route}");
        let (status, b) = c.post(&path, json!({})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{route} without a name");
        assert_eq!(b["error"], INVALID);
        for name in &bad {
            let (status, b) = c.post(&path, json!({ "name": name })).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{route} {name}: {b}");
            assert_eq!(b["error"], INVALID, "{route} {name}");
            assert!(!b.to_string().contains(SECRET));
        }
        let (status, b) = c
            .post(
                &path,
                json!({ "name": "settings_alice_20000101-000000.json" }),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{route}: {b}");
    }
    // Bob's snapshot is untouched and still his.
    let resp = bob
        .post_raw("/api/settings/load-snapshot", json!({ "name": bobs }))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    s.stop().await;
}

#[cfg(unix)]
#[tokio::test]
async fn a_snapshot_symlink_leading_out_is_not_followed() {
    let (s, mut c) = alice().await;
    let secret = s.dir.path().join("secret.json");
    std::fs::write(&secret, SECRET).unwrap();
    let name = "settings_alice_20200101-000000.json";
    std::os::unix::fs::symlink(&secret, s.user_dir("alice").join("backups").join(name)).unwrap();
    let a = c
        .send("/api/settings/load-snapshot", json!({ "name": name }), &[])
        .await;
    assert!(
        a.status == StatusCode::NOT_FOUND || a.status == StatusCode::BAD_REQUEST,
        "{}",
        a.status
    );
    assert!(!a.body.to_string().contains(SECRET));
    let a = c
        .send(
            "/api/settings/restore-snapshot",
            json!({ "name": name }),
            &[],
        )
        .await;
    assert!(a.status.is_client_error(), "{}", a.status);
    let settings = std::fs::read_to_string(s.user_dir("alice").join("settings.json")).unwrap();
    assert!(!settings.contains(SECRET));
    s.stop().await;
}

/// URL prefix → folder inside the user's data folder.
const FILE_ROUTES: &[(&str, &str)] = &[
    ("/characters/", "characters"),
    ("/backgrounds/", "backgrounds"),
    ("/User%20Avatars/", "User Avatars"),
    ("/assets/", "assets"),
    ("/user/images/", "user/images"),
    ("/user/files/", "user/files"),
    ("/scripts/extensions/third-party/", "extensions"),
];

#[tokio::test]
async fn user_files_are_served_to_their_owner_only() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    s.create_user("bob", Some("pw-bob"), false).await;
    let alice_dir = s.user_dir("alice");
    let bob_dir = s.user_dir("bob");
    for (_, folder) in FILE_ROUTES {
        std::fs::create_dir_all(alice_dir.join(folder).join("sub dir")).unwrap();
        std::fs::write(
            alice_dir.join(folder).join("mine.txt"),
            format!("alice {folder}"),
        )
        .unwrap();
        std::fs::write(
            alice_dir.join(folder).join("sub dir/deep file.json"),
            "{\"deep\":true}",
        )
        .unwrap();
        std::fs::write(bob_dir.join(folder).join("bobs.txt"), SECRET).unwrap();
    }
    let c = s.login("alice", "pw-alice").await;
    let anon = s.client();
    for (prefix, folder) in FILE_ROUTES {
        let a = c.fetch(&format!("{prefix}mine.txt")).await;
        assert_eq!(a.status, StatusCode::OK, "{prefix}");
        assert_eq!(a.body, json!(format!("alice {folder}")));
        let a = c
            .fetch(&format!("{prefix}sub%20dir/deep%20file.json"))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{prefix} deep");
        assert_eq!(a.body, json!({ "deep": true }));
        assert_eq!(a.header("content-type"), Some("application/json"));
        // Bob's file is not in alice's folder.
        let a = c.fetch(&format!("{prefix}bobs.txt")).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{prefix}");
        let a = c.fetch(&format!("{prefix}missing.png")).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{prefix}");
        // Anonymous: 403.
        let a = anon.fetch(&format!("{prefix}mine.txt")).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{prefix} anonymous");
        assert!(!a.body.to_string().contains("alice"));
    }
    s.stop().await;
}

#[tokio::test]
async fn user_file_routes_resist_traversal() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    s.create_user("bob", Some("pw-bob"), false).await;
    let root = s.data_root();
    std::fs::write(root.join("secret.txt"), SECRET).unwrap();
    std::fs::write(s.dir.path().join("secret.txt"), SECRET).unwrap();
    std::fs::write(s.user_dir("bob").join("characters/bobs.txt"), SECRET).unwrap();
    std::fs::write(s.user_dir("alice").join("settings.json"), SECRET).unwrap();
    let alice_dir = s.user_dir("alice");
    #[cfg(unix)]
    for (_, folder) in FILE_ROUTES {
        let d = alice_dir.join(folder);
        std::os::unix::fs::symlink(root.join("secret.txt"), d.join("link.txt")).unwrap();
        std::os::unix::fs::symlink(&root, d.join("rootdir")).unwrap();
        std::os::unix::fs::symlink("../../../secret.txt", d.join("rel.txt")).unwrap();
    }
    let (_c, cookie) = s.login_with_cookie("alice", "pw-alice").await;
    let tricks = [
        "../secret.txt",
        "../../secret.txt",
        "../../../secret.txt",
        "../../../../secret.txt",
        "../settings.json",
        "../../bob/characters/bobs.txt",
        "..%2fsettings.json",
        "..%2f..%2fsecret.txt",
        "..%2F..%2F..%2Fsecret.txt",
        "%2e%2e/%2e%2e/secret.txt",
        "%2e%2e%2f%2e%2e%2fsecret.txt",
        "%2E%2E%2F%2E%2E%2F%2E%2E%2Fsecret.txt",
        ".%2e/.%2e/secret.txt",
        "%252e%252e%252f%252e%252e%252fsecret.txt",
        "..%5c..%5csecret.txt",
        "..%5C..%5C..%5Csecret.txt",
        "%5c..%5c..%5csecret.txt",
        "..\\..\\secret.txt",
        "/etc/passwd",
        "%2fetc%2fpasswd",
        "%2F..%2F..%2Fsecret.txt",
        "//../../secret.txt",
        "./../../secret.txt",
        "sub/../../../secret.txt",
        "mine.txt%00../../secret.txt",
        "..%00/..%00/secret.txt",
        "%00",
        "..%c0%af..%c0%afsecret.txt",
        "..%ef%bc%8f..%ef%bc%8fsecret.txt",
        "link.txt",
        "rel.txt",
        "rootdir/secret.txt",
        "rootdir/bob/characters/bobs.txt",
        "rootdir%2fsecret.txt",
        "C:%5cWindows%5cwin.ini",
        "",
        ".",
        "..",
    ];
    for (prefix, _) in FILE_ROUTES {
        for trick in tricks {
            let path = format!("{prefix}{trick}");
            let (status, text) = raw_get(&s.base, &path, Some(&cookie)).await;
            assert!(!text.contains(SECRET), "{path} leaked: {text}");
            assert!([400, 403, 404].contains(&status), "{path}: {status} {text}");
        }
    }
    // Traversal that climbs out of a prefix before it is matched.
    for path in [
        "/characters/../../secret.txt",
        "/characters/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "/User Avatars/../../secret.txt",
        "/User%20Avatars/..%2f..%2fsecret.txt",
        "/img/../../secret.txt",
        "/img/..%2f..%2fsecret.txt",
        "/static/../../../secret.txt",
        "/avatars/../secret.txt",
        "/avatars/..%2fsecret.txt",
        "/../secret.txt",
        "/..%2fsecret.txt",
        "/secret.txt",
        "/data/secret.txt",
    ] {
        let (status, text) = raw_get(&s.base, path, Some(&cookie)).await;
        assert!(!text.contains(SECRET), "{path} leaked: {text}");
        assert!([400, 403, 404].contains(&status), "{path}: {status}");
    }
    // The same files are fine by their honest names.
    std::fs::write(alice_dir.join("characters/ok.txt"), "fine").unwrap();
    let (status, text) = raw_get(&s.base, "/characters/ok.txt", Some(&cookie)).await;
    assert_eq!(status, 200);
    assert!(text.ends_with("fine"), "{text}");
    s.stop().await;
}

/// Every file under `dir`, by its path relative to `dir` with `/`.
fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let t = e.file_type().unwrap();
        if t.is_dir() {
            walk(&p, base, out);
        } else if t.is_file() {
            let rel = p
                .strip_prefix(base)
                .unwrap()
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.insert(rel, std::fs::read(&p).unwrap());
        }
    }
}

fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a zip");
    let mut out = BTreeMap::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        if f.is_dir() {
            continue;
        }
        let name = f.name().expect("utf-8 name").to_string();
        assert!(!name.starts_with('/') && !name.contains(".."), "{name}");
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        assert!(out.insert(name.clone(), data).is_none(), "{name} twice");
    }
    out
}

#[tokio::test]
async fn backup_answers_and_the_zip_matches_the_folder() {
    let s = Server::start().await;
    s.create_user("boss", Some("pw-boss"), true).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    s.create_user("bob", Some("pw-bob"), false).await;
    let dir = s.user_dir("alice");
    std::fs::write(
        dir.join("characters/hero.png"),
        [0x89u8, b'P', b'N', b'G', 0, 1, 2, 255],
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("chats/hero")).unwrap();
    std::fs::write(
        dir.join("chats/hero/2024-01-01.jsonl"),
        "{\"a\":1}\n".repeat(5000),
    )
    .unwrap();
    let noise: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("user/files/noise.bin"), &noise).unwrap();
    std::fs::write(dir.join("worlds/Ünïcode world.json"), "{}").unwrap();
    std::fs::write(dir.join("user/files/empty.txt"), "").unwrap();

    let mut c = s.login("alice", "pw-alice").await;
    let (status, b) = c.post("/api/users/backup", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "Missing required fields");
    let (status, b) = c
        .post("/api/users/backup", json!({ "handle": "bob" }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(b["error"], "Unauthorized");
    let mut admin = s.login("boss", "pw-boss").await;
    let (status, b) = admin
        .post("/api/users/backup", json!({ "handle": "nobody" }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(b["error"], "User not found");
    let mut anon = s.client();
    let (status, _) = anon
        .post("/api/users/backup", json!({ "handle": "alice" }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    for client in [&mut c, &mut admin] {
        let resp = client
            .post_raw("/api/users/backup", json!({ "handle": "alice" }))
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        let cd = resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        let file = cd
            .strip_prefix("attachment; filename=\"")
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or_else(|| panic!("{cd}"));
        let stamp = file
            .strip_prefix("alice-")
            .and_then(|r| r.strip_suffix(".zip"))
            .unwrap_or_else(|| panic!("{file}"));
        assert_eq!(stamp.len(), 15, "{file}");
        assert!(
            stamp.char_indices().all(|(i, ch)| if i == 8 {
                ch == '-'
            } else {
                ch.is_ascii_digit()
            }),
            "{file}"
        );
        assert_eq!(resp.headers()["content-type"], "application/zip");
        let bytes = resp.bytes().await.unwrap();
        let mut want = BTreeMap::new();
        walk(&dir, &dir, &mut want);
        let got = unzip(&bytes);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>()
        );
        for (name, data) in &want {
            assert!(got[name] == *data, "{name} differs");
        }
    }
    s.stop().await;
}

#[tokio::test]
async fn settings_save_refuses_a_body_that_is_not_json_whatever_its_type() {
    let (s, mut c) = alice().await;
    let file = s.user_dir("alice").join("settings.json");
    save(&mut c, json!({ "keep": "me" })).await;
    let before = std::fs::read(&file).unwrap();
    for ct in ["text/plain", "application/x-www-form-urlencoded"] {
        let a = c
            .post_body("/api/settings/save", ct, b"keep=nothing".to_vec())
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{ct}: {}", a.body);
        assert_eq!(std::fs::read(&file).unwrap(), before, "{ct} wiped settings");
    }
    for not_object in ["[1,2]", "\"text\"", "42", "null"] {
        let a = c
            .post_body("/api/settings/save", "application/json", not_object.into())
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{not_object}");
    }
    assert_eq!(std::fs::read(&file).unwrap(), before);
    s.stop().await;
}

#[tokio::test]
async fn reset_settings_answers_and_keeps_other_data() {
    let (s, mut c) = alice().await;
    let dir = s.user_dir("alice");
    save(&mut c, json!({ "custom": true })).await;
    std::fs::write(dir.join("characters/hero.png"), "hero").unwrap();
    for body in [
        json!({}),
        json!({ "password": "wrong" }),
        json!({ "password": "" }),
    ] {
        let (status, b) = c.post("/api/users/reset-settings", body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(b["error"], "Incorrect password", "{body}");
    }
    let custom = std::fs::read_to_string(dir.join("settings.json")).unwrap();
    assert!(custom.contains("custom"));
    let before = snapshots(&mut c).await.len();
    let (status, b) = c
        .post(
            "/api/users/reset-settings",
            json!({ "password": "pw-alice" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{b}");
    let now = std::fs::read_to_string(dir.join("settings.json")).unwrap();
    assert!(!now.contains("custom"));
    assert!(serde_json::from_str::<Value>(&now).unwrap().is_object());
    assert_eq!(
        std::fs::read(dir.join("characters/hero.png")).unwrap(),
        b"hero"
    );
    // The old settings were kept as a snapshot.
    let list = snapshots(&mut c).await;
    assert!(list.len() >= before);
    let newest = list[0]["name"].as_str().unwrap();
    let text = std::fs::read_to_string(dir.join("backups").join(newest)).unwrap();
    assert_eq!(text, custom);
    // A user without a password needs none.
    s.create_user("nopw", None, false).await;
    let mut n = s.client();
    n.post("/api/users/login", json!({ "handle": "nopw" }))
        .await;
    let (status, _) = n.post("/api/users/reset-settings", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    s.stop().await;
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413() {
    let (s, _c) = alice().await;
    let (_, cookie) = s.login_with_cookie("alice", "pw-alice").await;
    // The CSRF token of the session behind `cookie`.
    let t: Value = common::Replay::new(&s.base, &cookie)
        .get("/csrf-token")
        .await
        .body;
    let token = t["token"].as_str().unwrap().to_string();
    let chunk = "a".repeat(64 * 1024);
    let mut body = String::from("{\"handle\":\"alice\",\"name\":\"");
    let mut req = format!(
        "POST /api/users/change-name HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: innkeeper_sid={cookie}\r\n\
         X-CSRF-Token: {token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n"
    );
    for _ in 0..18 {
        body.push_str(&chunk);
    }
    body.push_str("\"}");
    for part in body.as_bytes().chunks(64 * 1024) {
        req.push_str(&format!("{:x}\r\n", part.len()));
        req.push_str(std::str::from_utf8(part).unwrap());
        req.push_str("\r\n");
    }
    req.push_str("0\r\n\r\n");
    let (status, text) = common::raw_request(&s.base, &req).await;
    assert_eq!(status, 413, "{}", &text[..text.len().min(300)]);
    assert!(text.contains("\"error\""), "{text}");
    assert_eq!(s.user_row("alice").await.unwrap().name, "alice name");
    s.stop().await;
}
