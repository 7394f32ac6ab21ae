//! Symlinks never lead out of a user's folder (issue 13, point 1): a layout
//! folder or settings.json that is itself a link to somewhere else (an
//! extension cloned with a symlink does it) exposes nothing through the
//! file routes, `settings/get`, snapshots, persona pictures or the backup.

mod common;

use std::io::Read;

use common::Server;
use reqwest::StatusCode;
use serde_json::json;

const SECRET: &str = "top-secret-marker-5d1c";

#[tokio::test]
async fn links_out_of_the_users_folder_expose_nothing() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw"), false).await;
    let outside = s.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.png"), SECRET).unwrap();
    std::fs::write(
        outside.join("secret.json"),
        format!("{{\"name\":\"{SECRET}\"}}"),
    )
    .unwrap();
    let home = s.user_dir("alice");
    for folder in [
        "characters",
        "User Avatars",
        "OpenAI Settings",
        "themes",
        "worlds",
    ] {
        std::fs::remove_dir_all(home.join(folder)).unwrap();
        std::os::unix::fs::symlink(&outside, home.join(folder)).unwrap();
    }
    std::fs::remove_file(home.join("settings.json")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.json"), home.join("settings.json")).unwrap();
    let mut alice = s.login("alice", "pw").await;

    for path in ["/characters/secret.png", "/User%20Avatars/secret.png"] {
        let a = alice.fetch(path).await;
        assert_ne!(a.status, StatusCode::OK, "{path}");
        assert!(!a.body.to_string().contains(SECRET), "{path}");
    }
    let (status, body) = alice.post("/api/settings/get", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.to_string().contains(SECRET), "{body}");
    assert!(body["openai_settings"].as_array().unwrap().is_empty());
    assert!(body["world_names"].as_array().unwrap().is_empty());

    let (status, _) = alice.post("/api/settings/make-snapshot", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = alice.post("/api/settings/get-snapshots", json!({})).await;
    for snap in list.as_array().unwrap() {
        let (_, text) = alice
            .post(
                "/api/settings/load-snapshot",
                json!({ "name": snap["name"] }),
            )
            .await;
        assert!(!text.to_string().contains(SECRET), "snapshot {snap}");
    }

    // A persona picture named in settings cannot come from outside either.
    let (status, _) = alice
        .post(
            "/api/settings/save",
            json!({ "user_avatar": "secret.png", "power_user": { "default_persona": "secret.png" } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let me = alice.fetch("/api/users/me").await;
    assert_eq!(me.body["avatar"], "/img/default-user.png", "{}", me.body);
    assert_ne!(alice.fetch("/avatars/alice").await.status, StatusCode::OK);

    let resp = alice
        .post_raw("/api/users/backup", json!({ "handle": "alice" }))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = resp.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let mut text = String::new();
        let _ = entry.read_to_string(&mut text);
        assert!(!text.contains(SECRET), "backup entry {:?}", entry.name());
    }
    // The data outside is untouched.
    assert!(std::fs::read_to_string(outside.join("secret.json"))
        .unwrap()
        .contains(SECRET));
    s.stop().await;
}
