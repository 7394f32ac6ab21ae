//! Permissions over every private and admin route, and each admin and
//! profile action's answers, against SPEC §5 and Appendix A.

mod common;

use common::{Client, Server};
use innkeeper::app::Actor;
use reqwest::StatusCode;
use serde_json::{json, Value};

const PNG: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/// Private POST routes with a body a user sends for themself, and the
/// status that user gets.
fn private_routes(me: &str, pw: &str) -> Vec<(&'static str, Value, u16)> {
    let absent = format!("settings_{me}_nothing-here.json");
    vec![
        (
            "/api/users/change-name",
            json!({ "handle": me, "name": "New name" }),
            204,
        ),
        (
            "/api/users/change-avatar",
            json!({ "handle": me, "avatar": "" }),
            204,
        ),
        (
            "/api/users/change-password",
            json!({ "handle": me, "oldPassword": pw, "newPassword": pw }),
            204,
        ),
        ("/api/users/backup", json!({ "handle": me }), 200),
        ("/api/users/usage", json!({ "handle": me }), 200),
        ("/api/users/avatar-info", json!({ "handle": me }), 200),
        (
            "/api/users/choose-persona-avatar",
            json!({ "handle": me, "file": "none.png" }),
            400,
        ),
        ("/api/users/reset-settings", json!({ "password": pw }), 204),
        ("/api/users/reset-step1", json!({}), 204),
        (
            "/api/users/reset-step2",
            json!({ "code": "x", "password": pw }),
            400,
        ),
        ("/api/settings/get", json!({}), 200),
        ("/api/settings/save", json!({ "from": "matrix" }), 200),
        ("/api/settings/get-snapshots", json!({}), 200),
        ("/api/settings/make-snapshot", json!({}), 204),
        (
            "/api/settings/load-snapshot",
            json!({ "name": absent }),
            404,
        ),
        (
            "/api/settings/restore-snapshot",
            json!({ "name": absent }),
            404,
        ),
    ]
}

/// Admin routes with a body that succeeds for an admin, and the status.
fn admin_routes() -> Vec<(&'static str, Value, u16)> {
    vec![
        ("/api/users/get", json!({}), 200),
        (
            "/api/users/create",
            json!({ "handle": "newbie", "name": "Newbie" }),
            200,
        ),
        (
            "/api/users/delete",
            json!({ "handle": "never-existed" }),
            204,
        ),
        ("/api/users/enable", json!({ "handle": "spare" }), 204),
        ("/api/users/disable", json!({ "handle": "spare" }), 204),
        ("/api/users/promote", json!({ "handle": "spare" }), 204),
        ("/api/users/demote", json!({ "handle": "spare" }), 204),
        ("/api/users/slugify", json!({ "text": "A B" }), 200),
        ("/api/users/check-handle", json!({ "text": "A B" }), 200),
        ("/api/users/clear-limits", json!({ "handle": "spare" }), 204),
        ("/api/audit/list", json!({}), 200),
    ]
}

/// Routes where a user names a handle.
fn handle_routes(other: &str) -> Vec<(&'static str, Value)> {
    vec![
        (
            "/api/users/change-name",
            json!({ "handle": other, "name": "Hacked" }),
        ),
        (
            "/api/users/change-avatar",
            json!({ "handle": other, "avatar": PNG }),
        ),
        (
            "/api/users/change-password",
            json!({ "handle": other, "oldPassword": "x", "newPassword": "hacked" }),
        ),
        ("/api/users/backup", json!({ "handle": other })),
        ("/api/users/usage", json!({ "handle": other })),
        ("/api/users/avatar-info", json!({ "handle": other })),
    ]
}

const PRIVATE_GETS: &[&str] = &["/api/ping", "/api/users/me"];

async fn setup() -> Server {
    let s = Server::start().await;
    s.create_user("boss", Some("pw-boss"), true).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    s.create_user("bob", Some("pw-bob"), false).await;
    s.create_user("spare", Some("pw-spare"), false).await;
    s
}

/// Every private and admin route refuses `c` with 403.
async fn all_refused(s: &Server, c: &mut Client, who: &str) {
    for path in PRIVATE_GETS {
        assert_eq!(
            c.fetch(path).await.status,
            StatusCode::FORBIDDEN,
            "{who} GET {path}"
        );
    }
    let routes = private_routes("alice", "pw-alice")
        .into_iter()
        .chain(admin_routes())
        .chain([("/api/users/logout", json!({}), 204)]);
    for (path, body, _) in routes {
        let a = c.send(path, body, &[]).await;
        assert_eq!(
            a.status,
            StatusCode::FORBIDDEN,
            "{who} POST {path}: {}",
            a.body
        );
    }
    let users = s.app.accounts().list_users().await.unwrap();
    assert!(
        users.iter().all(|u| u.handle != "newbie"),
        "{who} created a user"
    );
    assert!(users.iter().find(|u| u.handle == "spare").unwrap().enabled);
}

#[tokio::test]
async fn anonymous_gets_403_everywhere() {
    let s = setup().await;
    let mut c = s.client();
    all_refused(&s, &mut c, "anonymous").await;
    // Without any token at all, too.
    for (path, body, _) in private_routes("alice", "pw")
        .into_iter()
        .chain(admin_routes())
    {
        let resp = c.http.post(s.url(path)).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
    }
    s.stop().await;
}

#[tokio::test]
async fn disabled_user_gets_403_everywhere() {
    let s = setup().await;
    let mut c = s.login("alice", "pw-alice").await;
    c.refresh_token().await;
    s.app
        .accounts()
        .set_enabled(&Actor::console(), "alice", false)
        .await
        .unwrap();
    all_refused(&s, &mut c, "disabled").await;
    s.stop().await;
}

#[tokio::test]
async fn user_may_use_private_routes_but_not_admin_ones() {
    let s = setup().await;
    let mut c = s.login("alice", "pw-alice").await;
    for path in PRIVATE_GETS {
        assert!(c.fetch(path).await.status.is_success(), "GET {path}");
    }
    for (path, body, want) in private_routes("alice", "pw-alice") {
        let a = c.send(path, body, &[]).await;
        assert_eq!(a.status.as_u16(), want, "POST {path}: {}", a.body);
    }
    for (path, body, _) in admin_routes() {
        let a = c.send(path, body, &[]).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "POST {path}: {}", a.body);
    }
    for (path, body) in handle_routes("bob") {
        let a = c.send(path, body, &[]).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "POST {path}");
        assert_eq!(a.error(), "Unauthorized", "POST {path}");
    }
    // Nothing happened to bob.
    let bob = s.user_row("bob").await.unwrap();
    assert_eq!(bob.name, "bob name");
    assert!(bob.avatar.is_none());
    s.login("bob", "pw-bob").await;
    let users = s.app.accounts().list_users().await.unwrap();
    assert!(users.iter().all(|u| u.handle != "newbie"));
    let a = c.send("/api/users/logout", json!({}), &[]).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    s.stop().await;
}

#[tokio::test]
async fn admin_may_use_every_route_and_act_on_others() {
    let s = setup().await;
    let mut c = s.login("boss", "pw-boss").await;
    for (path, body, want) in private_routes("boss", "pw-boss")
        .into_iter()
        .chain(admin_routes())
    {
        let a = c.send(path, body, &[]).await;
        assert_eq!(a.status.as_u16(), want, "POST {path}: {}", a.body);
    }
    for (path, body) in handle_routes("bob") {
        let a = c.send(path, body, &[]).await;
        assert!(
            a.status.is_success(),
            "POST {path}: {} {}",
            a.status,
            a.body
        );
    }
    let bob = s.user_row("bob").await.unwrap();
    assert_eq!(bob.name, "Hacked");
    assert_eq!(bob.avatar.as_deref(), Some(PNG));
    s.login("bob", "hacked").await;
    assert!(s.user_row("newbie").await.is_some());
    s.stop().await;
}

#[tokio::test]
async fn create_answers() {
    let s = setup().await;
    let mut c = s.login("boss", "pw-boss").await;
    for body in [
        json!({}),
        json!({ "handle": "x" }),
        json!({ "name": "X" }),
        json!({ "handle": "", "name": "X" }),
        json!({ "handle": "x", "name": "" }),
    ] {
        let (status, b) = c.post("/api/users/create", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(b["error"], "Missing required fields", "{body}");
    }
    for bad in ["!!!", "///", "Ω"] {
        let (status, b) = c
            .post("/api/users/create", json!({ "handle": bad, "name": "X" }))
            .await;
        if bad == "Ω" {
            // Transliterates to "o": a fine handle.
            assert_eq!(status, StatusCode::OK, "{b}");
            continue;
        }
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(b["error"], "Invalid handle", "{bad}");
    }
    // Too long: said so (still a 400), not "Invalid handle".
    let (status, b) = c
        .post(
            "/api/users/create",
            json!({ "handle": "a".repeat(65), "name": "X" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "Handle too long: at most 64 characters");
    for (input, slug) in [
        (json!("Hello World!"), "hello-world"),
        (json!("Дмитрий"), "dmitrii"),
        (json!("juan555"), "juan555"),
        (json!("../etc"), "etc"),
        (json!(12345), "12345"),
    ] {
        let (status, b) = c
            .post(
                "/api/users/create",
                json!({ "handle": input, "name": "Someone" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{input}: {b}");
        assert_eq!(b, json!({ "handle": slug }));
        assert!(
            s.user_dir(slug).join("characters").is_dir(),
            "{slug} folder"
        );
        let (status, b) = c
            .post(
                "/api/users/create",
                json!({ "handle": input, "name": "Again" }),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{input}");
        assert_eq!(b["error"], "User already exists");
    }
    let (status, _) = c
        .post(
            "/api/users/create",
            json!({ "handle": "ALICE", "name": "Dup" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Password and admin flag.
    let (status, _) = c
        .post(
            "/api/users/create",
            json!({ "handle": "chief", "name": "Chief", "password": "pw-chief", "admin": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut chief = s.login("chief", "pw-chief").await;
    let me = chief.fetch("/api/users/me").await.body;
    assert_eq!(me["admin"], true);
    assert_eq!(me["password"], true);
    assert_eq!(me["name"], "Chief");
    let (status, _) = chief.post("/api/users/get", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = c
        .post(
            "/api/users/create",
            json!({ "handle": "plain", "name": "Plain" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut plain = s.client();
    let (status, _) = plain
        .post("/api/users/login", json!({ "handle": "plain" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let me = plain.fetch("/api/users/me").await.body;
    assert_eq!(me["admin"], false);
    assert_eq!(me["password"], false);
    s.stop().await;
}

#[tokio::test]
async fn flag_answers() {
    let s = setup().await;
    let mut c = s.login("boss", "pw-boss").await;
    for route in ["promote", "demote", "enable", "disable"] {
        let path = format!("/api/users/{route}");
        let (status, b) = c.post(&path, json!({})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{route}");
        assert_eq!(b["error"], "Missing required fields", "{route}");
        for unknown in ["nobody", "../x"] {
            let (status, b) = c.post(&path, json!({ "handle": unknown })).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{route} {unknown}");
            assert_eq!(b["error"], "User not found", "{route}");
        }
        // Success, also when nothing changes.
        for _ in 0..2 {
            let (status, _) = c.post(&path, json!({ "handle": "spare" })).await;
            assert_eq!(status, StatusCode::NO_CONTENT, "{route}");
        }
        let spare = s.user_row("spare").await.unwrap();
        match route {
            "promote" => assert!(spare.admin),
            "demote" => assert!(!spare.admin),
            "enable" => assert!(spare.enabled),
            _ => assert!(!spare.enabled),
        }
    }
    let (status, b) = c
        .post("/api/users/demote", json!({ "handle": "boss" }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "Cannot demote yourself");
    let (status, b) = c
        .post("/api/users/disable", json!({ "handle": "boss" }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "Cannot disable yourself");
    let me = c.fetch("/api/users/me").await.body;
    assert_eq!(me["admin"], true);
    // A promoted user reaches admin routes; demoted, no longer.
    let mut a = s.login("alice", "pw-alice").await;
    c.post("/api/users/promote", json!({ "handle": "alice" }))
        .await;
    assert_eq!(a.post("/api/users/get", json!({})).await.0, StatusCode::OK);
    c.post("/api/users/demote", json!({ "handle": "alice" }))
        .await;
    assert_eq!(
        a.post("/api/users/get", json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    s.stop().await;
}

#[tokio::test]
async fn delete_answers_and_the_folder() {
    let s = setup().await;
    let mut c = s.login("boss", "pw-boss").await;
    let (status, b) = c.post("/api/users/delete", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "Missing required fields");
    let (status, b) = c
        .post("/api/users/delete", json!({ "handle": "boss" }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "Cannot delete yourself");
    let (status, b) = c
        .post("/api/users/delete", json!({ "handle": "default-user" }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        b["error"],
        "Sorry, but the default user cannot be deleted. It is required as a fallback."
    );
    let (status, _) = c
        .post("/api/users/delete", json!({ "handle": "nobody" }))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // A handle outside the rules never reaches the disk.
    std::fs::create_dir_all(s.dir.path().join("x")).unwrap();
    std::fs::write(s.dir.path().join("x/keep.txt"), "keep").unwrap();
    for bad in ["../x", "..", "/", "a/../../x", "A"] {
        let (status, _) = c
            .post("/api/users/delete", json!({ "handle": bad, "purge": true }))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    assert!(s.dir.path().join("x/keep.txt").exists());
    assert!(s.data_root().join("default-user").is_dir());

    // Delete keeps the folder; creating the handle again reuses it.
    let dir = s.user_dir("alice");
    std::fs::write(dir.join("characters/hero.png"), "hero").unwrap();
    let (status, _) = c
        .post("/api/users/delete", json!({ "handle": "alice" }))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(s.user_row("alice").await.is_none());
    assert_eq!(
        std::fs::read(dir.join("characters/hero.png")).unwrap(),
        b"hero"
    );
    let list = c.post("/api/users/list", json!({})).await.1;
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["handle"] != "alice"));
    let (status, _) = c
        .post(
            "/api/users/create",
            json!({ "handle": "alice", "name": "Alice 2" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        std::fs::read(dir.join("characters/hero.png")).unwrap(),
        b"hero"
    );

    // With purge the folder goes.
    let (status, _) = c
        .post(
            "/api/users/delete",
            json!({ "handle": "alice", "purge": true }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!dir.exists());
    s.stop().await;
}

#[tokio::test]
async fn slugify_answers() {
    let s = setup().await;
    let mut c = s.login("boss", "pw-boss").await;
    let (status, b) = c.post("/api/users/slugify", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "Missing required fields");
    for (text, want) in [
        ("Hello World!", "hello-world"),
        ("juan555", "juan555"),
        ("Дмитрий", "dmitrii"),
        ("../etc", "etc"),
        ("flux-the-cat", "flux-the-cat"),
        ("cool-guy1337", "cool-guy1337"),
        ("9x", "9x"),
    ] {
        let resp = c
            .post_raw("/api/users/slugify", json!({ "text": text }))
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/plain"), "{ct}");
        assert_eq!(resp.text().await.unwrap(), want, "{text}");
    }
    s.stop().await;
}

/// Issue 14, point 5: what `create` would make of a text, asked before
/// creating: the handle (cut to 64), whether it was cut, taken, or has a
/// data folder kept from a deleted account.
#[tokio::test]
async fn check_handle_answers() {
    let s = setup().await;
    let mut c = s.login("boss", "pw-boss").await;
    let (status, b) = c.post("/api/users/check-handle", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "Missing required fields");
    let mut alice = s.login("alice", "pw-alice").await;
    let (status, _) = alice
        .post("/api/users/check-handle", json!({ "text": "x" }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins only");

    let check = |b: &Value| {
        (
            b["handle"].as_str().unwrap().to_string(),
            b["tooLong"].as_bool().unwrap(),
            b["taken"].as_bool().unwrap(),
            b["folderExists"].as_bool().unwrap(),
        )
    };
    let (status, b) = c
        .post("/api/users/check-handle", json!({ "text": "Zoë Quinn" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(check(&b), ("zoe-quinn".into(), false, false, false));
    let (_, b) = c
        .post("/api/users/check-handle", json!({ "text": "!!!" }))
        .await;
    assert_eq!(check(&b), (String::new(), false, false, false));
    let long = "Princess Consuela Banana-Hammock of the Far Northern Reaches, Third of Her Name";
    let (_, b) = c
        .post("/api/users/check-handle", json!({ "text": long }))
        .await;
    let (cut, too_long, _, _) = check(&b);
    assert!(too_long && cut.len() <= 64, "{b}");
    assert!(long
        .to_lowercase()
        .replace([' ', ','], "-")
        .starts_with(&cut[..20]));
    // What it suggests is what create takes.
    let (status, created) = c
        .post("/api/users/create", json!({ "handle": cut, "name": long }))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let (_, b) = c
        .post("/api/users/check-handle", json!({ "text": "Alice" }))
        .await;
    assert_eq!(check(&b), ("alice".into(), false, true, false));
    // Deleted without purge: the folder stays and a new account takes it over.
    let (status, _) = c
        .post("/api/users/delete", json!({ "handle": "bob" }))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, b) = c
        .post("/api/users/check-handle", json!({ "text": "Bob" }))
        .await;
    assert_eq!(check(&b), ("bob".into(), false, false, true));
    let (status, _) = c
        .post(
            "/api/users/delete",
            json!({ "handle": "spare", "purge": true }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, b) = c
        .post("/api/users/check-handle", json!({ "text": "spare" }))
        .await;
    assert_eq!(check(&b), ("spare".into(), false, false, false));
    s.stop().await;
}

/// Issue 14, point 6: where a picture comes from, choosing a persona
/// picture without editing JSON, and disabled accounts' pictures for admins.
#[tokio::test]
async fn persona_avatar_answers() {
    let s = setup().await;
    let pics = s.user_dir("bob").join("User Avatars");
    std::fs::write(pics.join("b.png"), b"\x89PNG not really").unwrap();
    std::fs::write(pics.join("a.webp"), b"RIFF").unwrap();
    std::fs::write(pics.join("notes.txt"), b"text").unwrap();
    let mut bob = s.login("bob", "pw-bob").await;
    let (status, info) = bob
        .post("/api/users/avatar-info", json!({ "handle": "bob" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        info,
        json!({ "source": "default", "persona": null, "pictures": ["a.webp", "b.png"] })
    );
    for bad in [
        "notes.txt",
        "../alice/User Avatars/x.png",
        "missing.png",
        "",
    ] {
        let (status, b) = bob
            .post(
                "/api/users/choose-persona-avatar",
                json!({ "handle": "bob", "file": bad }),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {b}");
    }
    // A custom picture first: choosing a persona picture replaces it.
    let (status, _) = bob
        .post(
            "/api/users/change-avatar",
            json!({ "handle": "bob", "avatar": PNG }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let info = bob
        .post("/api/users/avatar-info", json!({ "handle": "bob" }))
        .await
        .1;
    assert_eq!(info["source"], "custom");
    let (status, _) = bob
        .post(
            "/api/users/choose-persona-avatar",
            json!({ "handle": "bob", "file": "b.png" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let info = bob
        .post("/api/users/avatar-info", json!({ "handle": "bob" }))
        .await
        .1;
    assert_eq!(
        (info["source"].clone(), info["persona"].clone()),
        (json!("persona"), json!("b.png"))
    );
    let settings: Value = serde_json::from_str(
        &std::fs::read_to_string(s.user_dir("bob").join("settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(settings["user_avatar"], "b.png");
    // Not someone else's.
    let mut alice = s.login("alice", "pw-alice").await;
    let (status, b) = alice
        .post(
            "/api/users/choose-persona-avatar",
            json!({ "handle": "bob", "file": "a.webp" }),
        )
        .await;
    assert_eq!(
        (status, b["error"].clone()),
        (StatusCode::FORBIDDEN, json!("Unauthorized"))
    );
    // Disabled: off the public list, still in the admin's.
    s.app
        .accounts()
        .set_enabled(&Actor::console(), "bob", false)
        .await
        .unwrap();
    assert_eq!(
        s.client().fetch("/avatars/bob").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        alice.fetch("/avatars/bob").await.status,
        StatusCode::NOT_FOUND
    );
    let admin = s.login("boss", "pw-boss").await;
    assert_eq!(admin.fetch("/avatars/bob").await.status, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn change_name_answers() {
    let s = setup().await;
    let mut admin = s.login("boss", "pw-boss").await;
    let mut c = s.login("alice", "pw-alice").await;
    for body in [
        json!({}),
        json!({ "name": "X" }),
        json!({ "handle": "alice" }),
        json!({ "handle": "alice", "name": "" }),
        json!({ "handle": "alice", "name": "   " }),
    ] {
        let (status, _) = c.post("/api/users/change-name", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    let (status, b) = admin
        .post(
            "/api/users/change-name",
            json!({ "handle": "nobody", "name": "X" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(b["error"], "User not found");
    let (status, _) = c
        .post(
            "/api/users/change-name",
            json!({ "handle": "alice", "name": "Alice A." }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(c.fetch("/api/users/me").await.body["name"], "Alice A.");
    let list = c.post("/api/users/list", json!({})).await.1;
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["handle"] == "alice")
        .cloned();
    assert_eq!(row.unwrap()["name"], "Alice A.");
    s.stop().await;
}

#[tokio::test]
async fn change_avatar_answers() {
    let s = setup().await;
    let mut admin = s.login("boss", "pw-boss").await;
    let mut c = s.login("alice", "pw-alice").await;
    let (status, b) = c
        .post("/api/users/change-avatar", json!({ "avatar": PNG }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "Missing required fields");
    for bad in [
        json!({ "handle": "alice" }),
        json!({ "handle": "alice", "avatar": null }),
        json!({ "handle": "alice", "avatar": 5 }),
        json!({ "handle": "alice", "avatar": "http://example.com/a.png" }),
        json!({ "handle": "alice", "avatar": "data:text/html;base64,PGI+" }),
        json!({ "handle": "alice", "avatar": "data:image/png;base64," }),
        json!({ "handle": "alice", "avatar": "data:image/svg+xml,<svg onload=alert(1)>" }),
        json!({ "handle": "alice", "avatar": "javascript:alert(1)" }),
    ] {
        let (status, b) = c.post("/api/users/change-avatar", bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(b["error"], "Invalid data URL", "{bad}");
    }
    let (status, b) = admin
        .post(
            "/api/users/change-avatar",
            json!({ "handle": "nobody", "avatar": PNG }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(b["error"], "User not found");

    let (status, _) = c
        .post(
            "/api/users/change-avatar",
            json!({ "handle": "alice", "avatar": PNG }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // The picture is a URL (SPEC §6), served with an ETag; not the data.
    let url = c.fetch("/api/users/me").await.body["avatar"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(url.starts_with("/avatars/alice?v="), "{url}");
    let pic = c.get(&url).await;
    assert_eq!(pic.status(), StatusCode::OK);
    assert_eq!(pic.headers()["content-type"], "image/png");
    let etag = pic.headers()["etag"].to_str().unwrap().to_string();
    let bytes = pic.bytes().await.unwrap();
    use base64::Engine;
    let want = base64::engine::general_purpose::STANDARD
        .decode(PNG.split_once(',').unwrap().1)
        .unwrap();
    assert_eq!(&bytes[..], &want[..]);
    let again = c
        .http
        .get(s.url(&url))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let find = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|u| u["handle"] == "alice")
            .unwrap()["avatar"]
            .clone()
    };
    assert_eq!(find(&c.post("/api/users/list", json!({})).await.1), url);
    assert_eq!(find(&admin.post("/api/users/get", json!({})).await.1), url);

    let (status, _) = c
        .post(
            "/api/users/change-avatar",
            json!({ "handle": "alice", "avatar": "" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        c.fetch("/api/users/me").await.body["avatar"],
        "/img/default-user.png"
    );
    assert_eq!(
        find(&c.post("/api/users/list", json!({})).await.1),
        "/img/default-user.png"
    );
    assert_eq!(
        c.fetch("/img/default-user.png").await.status,
        StatusCode::OK
    );
    s.stop().await;
}

#[tokio::test]
async fn avatar_body_limit_is_its_own() {
    let s = Server::start_with(|c| c.limits.avatar_mb = 3).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let mut c = s.login("alice", "pw-alice").await;
    // Bigger than the 1 MB JSON limit, within the 3 MB avatar limit, and
    // a picture of exactly the 1 MiB a picture may have.
    let big = format!("data:image/png;base64,{}", "A".repeat(1024 * 1024 / 3 * 4));
    let (status, b) = c
        .post(
            "/api/users/change-avatar",
            json!({ "handle": "alice", "avatar": big }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(s.user_row("alice").await.unwrap().avatar, Some(big.clone()));
    let huge = format!("data:image/png;base64,{}", "A".repeat(3 * 1024 * 1024 + 4));
    let a = c
        .send(
            "/api/users/change-avatar",
            json!({ "handle": "alice", "avatar": huge }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(!a.error().is_empty(), "{}", a.body);
    // Within the body limit but over 1 MiB of picture: refused, said why.
    let over = format!(
        "data:image/png;base64,{}",
        "A".repeat(1024 * 1024 / 3 * 4 + 8)
    );
    let a = c
        .send(
            "/api/users/change-avatar",
            json!({ "handle": "alice", "avatar": over }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(a.error().contains("1024 KiB"), "{}", a.body);
    // Six big pictures do not make the public list big.
    for i in 0..6 {
        let h = format!("user{i}");
        s.create_user(&h, Some("pw"), false).await;
        let mut u = s.login(&h, "pw").await;
        let (status, _) = u
            .post(
                "/api/users/change-avatar",
                json!({ "handle": h, "avatar": big }),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let resp = c.post_raw("/api/users/list", json!({})).await;
    let size = resp.bytes().await.unwrap().len();
    assert!(size < 4096, "the public list is {size} bytes");
    s.stop().await;
}

#[tokio::test]
async fn change_password_answers() {
    let s = setup().await;
    s.create_user("nopw", None, false).await;
    let mut admin = s.login("boss", "pw-boss").await;
    let mut c = s.login("alice", "pw-alice").await;
    let (status, b) = c
        .post("/api/users/change-password", json!({ "newPassword": "x" }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "Missing required fields");
    let (status, b) = admin
        .post(
            "/api/users/change-password",
            json!({ "handle": "nobody", "newPassword": "x" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(b["error"], "User not found");
    admin
        .post("/api/users/disable", json!({ "handle": "spare" }))
        .await;
    let (status, b) = admin
        .post(
            "/api/users/change-password",
            json!({ "handle": "spare", "newPassword": "x" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(b["error"], "User is disabled");
    for body in [
        json!({ "handle": "alice", "newPassword": "x" }),
        json!({ "handle": "alice", "oldPassword": "wrong", "newPassword": "x" }),
        json!({ "handle": "alice", "oldPassword": null, "newPassword": "x" }),
        json!({ "handle": "alice", "oldPassword": "", "newPassword": "x" }),
    ] {
        let (status, b) = c.post("/api/users/change-password", body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(b["error"], "Incorrect password", "{body}");
    }
    s.login("alice", "pw-alice").await;
    // Removing the password with an empty new one.
    let (status, _) = c
        .post(
            "/api/users/change-password",
            json!({ "handle": "alice", "oldPassword": "pw-alice", "newPassword": "" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(c.fetch("/api/users/me").await.body["password"], false);
    let mut fresh = s.client();
    assert_eq!(
        fresh
            .post("/api/users/login", json!({ "handle": "alice" }))
            .await
            .0,
        StatusCode::OK
    );
    // Without a password, no old one is needed.
    let (status, _) = c
        .post(
            "/api/users/change-password",
            json!({ "handle": "alice", "newPassword": "again" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(c.fetch("/api/users/me").await.body["password"], true);
    s.login("alice", "again").await;
    let mut n = s.client();
    n.post("/api/users/login", json!({ "handle": "nopw" }))
        .await;
    let (status, _) = n
        .post(
            "/api/users/change-password",
            json!({ "handle": "nopw", "newPassword": "set" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    s.login("nopw", "set").await;
    s.stop().await;
}

#[tokio::test]
async fn users_get_lists_everyone_with_flags() {
    let s = setup().await;
    s.app
        .accounts()
        .set_enabled(&Actor::console(), "spare", false)
        .await
        .unwrap();
    let mut c = s.login("boss", "pw-boss").await;
    let (status, list) = c.post("/api/users/get", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().unwrap();
    let handles: Vec<_> = list.iter().map(|u| u["handle"].as_str().unwrap()).collect();
    for h in ["default-user", "boss", "alice", "bob", "spare"] {
        assert!(handles.contains(&h), "{h} in {handles:?}");
    }
    for u in list {
        for key in [
            "handle", "name", "avatar", "admin", "enabled", "password", "created",
        ] {
            assert!(u.get(key).is_some(), "{key} in {u}");
        }
    }
    let get = |h: &str| list.iter().find(|u| u["handle"] == h).unwrap().clone();
    assert_eq!(get("spare")["enabled"], false);
    assert_eq!(get("boss")["admin"], true);
    assert_eq!(get("alice")["admin"], false);
    assert_eq!(get("alice")["password"], true);
    assert_eq!(get("default-user")["password"], false);
    assert!(get("alice")["created"].as_i64().unwrap() > 1_600_000_000_000);
    // The public list: enabled users only, without the flags.
    let public = c.post("/api/users/list", json!({})).await.1;
    let public = public.as_array().unwrap();
    assert!(public.iter().all(|u| u["handle"] != "spare"));
    assert!(public.iter().all(|u| u.get("admin").is_none()));
    let created: Vec<i64> = public
        .iter()
        .map(|u| u["created"].as_i64().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]), "{created:?}");
    s.stop().await;
}

#[tokio::test]
async fn audit_log_newest_first_and_paged() {
    let s = Server::start_with(common::forwarding).await;
    s.create_user("boss", Some("pw-boss"), true).await;
    let mut c = s.login("boss", "pw-boss").await;
    c.post(
        "/api/users/create",
        json!({ "handle": "temp", "name": "Temp" }),
    )
    .await;
    c.post("/api/users/delete", json!({ "handle": "temp" }))
        .await;
    let mut x = s.client();
    x.post_from(
        "10.9.9.9",
        "/api/users/login",
        json!({ "handle": "boss", "password": "wrong" }),
    )
    .await;
    x.post_from(
        "10.9.9.9",
        "/api/users/recover-step1",
        json!({ "handle": "boss" }),
    )
    .await;
    x.post_from(
        "10.9.9.9",
        "/api/users/recover-step2",
        json!({ "handle": "boss", "code": "wrong", "newPassword": "x" }),
    )
    .await;
    let code = s.last_code("Password recovery code:", "boss");
    x.post_from(
        "10.9.9.9",
        "/api/users/recover-step2",
        json!({ "handle": "boss", "code": code, "newPassword": "pw-boss" }),
    )
    .await;
    let mut c = s.login("boss", "pw-boss").await;

    let (status, all) = c.post("/api/audit/list", json!({ "limit": 500 })).await;
    assert_eq!(status, StatusCode::OK);
    let entries = all["entries"].as_array().unwrap().clone();
    assert_eq!(all["next"], Value::Null);
    let ids: Vec<i64> = entries.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Oldest to newest, these happened in this order.
    let expected = [
        "user.create",
        "login.success",
        "user.create",
        "user.delete",
        "login.failure",
        "recovery.request",
        "recovery.failure",
        "recovery.success",
        "login.success",
    ];
    let mut oldest_first: Vec<&str> = actions.clone();
    oldest_first.reverse();
    assert_eq!(oldest_first, expected, "{entries:?}");
    let failure = entries
        .iter()
        .find(|e| e["action"] == "login.failure")
        .unwrap();
    assert_eq!(failure["ip"], "10.9.9.9");
    assert_eq!(failure["target"], "boss");
    let delete = entries
        .iter()
        .find(|e| e["action"] == "user.delete")
        .unwrap();
    assert_eq!(delete["actor"], "boss");
    assert_eq!(delete["target"], "temp");
    for e in &entries {
        for key in ["id", "time", "actor", "action", "target", "ip", "detail"] {
            assert!(e.get(key).is_some(), "{key} in {e}");
        }
    }

    // Paged by `next`.
    let mut paged = Vec::new();
    let mut before: Option<i64> = None;
    for _ in 0..20 {
        let body = match before {
            Some(b) => json!({ "limit": 2, "before": b }),
            None => json!({ "limit": 2 }),
        };
        let (status, page) = c.post("/api/audit/list", body).await;
        assert_eq!(status, StatusCode::OK);
        let page_entries = page["entries"].as_array().unwrap();
        assert!(page_entries.len() <= 2);
        paged.extend(page_entries.iter().cloned());
        match page["next"].as_i64() {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    // The one login since the full listing is not in `entries`: compare ids.
    let paged_ids: Vec<i64> = paged.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(paged_ids, ids);
    s.stop().await;
}
