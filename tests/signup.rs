//! Sign-up from the login page (issue 15, point 2): off by default; with
//! `approval` the account waits, disabled, for an admin (who approves or
//! rejects it, told by a hook); with `open` it works at once; every
//! sign-up counts toward a per-address limit; taken handles are refused.

mod common;

use common::Server;
use innkeeper::config::SignupMode;
use reqwest::StatusCode;
use serde_json::json;

const SIGNUP_HOOK: &str = r#"
innkeeper.on("signup_requested", function(ev)
  innkeeper.admin_file_append("signups.log", ev.handle .. " " .. tostring(ev.pending))
end)
"#;

async fn with_mode(mode: SignupMode) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
    std::fs::write(dir.path().join("scripts/signups.lua"), SIGNUP_HOOK).unwrap();
    let mut c = common::test_config(dir.path());
    c.signup.mode = mode;
    common::forwarding(&mut c);
    Server::start_in(dir, c).await
}

async fn sign_up(s: &Server, handle: &str, ip: &str) -> (common::Client, common::Answer) {
    let mut c = s.client();
    let a = c
        .send(
            "/api/signup",
            json!({ "handle": handle, "name": format!("{handle} person"), "password": "pw-1" }),
            &[("X-Forwarded-For", ip)],
        )
        .await;
    (c, a)
}

#[tokio::test]
async fn sign_up_is_off_unless_configured() {
    let s = with_mode(SignupMode::Off).await;
    let (_, a) = sign_up(&s, "alice", "10.1.0.1").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.error().contains("closed"), "{}", a.body);
    assert!(s.user_row("alice").await.is_none());
    let c = s.client();
    let info = c.fetch("/api/server-info").await;
    assert_eq!(info.body["signup"], "off");
    let page = c.fetch("/signup").await;
    assert_eq!(page.status, StatusCode::FOUND);
    assert_eq!(page.header("location"), Some("/login"));
    s.stop().await;
}

#[tokio::test]
async fn with_approval_an_account_waits_for_an_admin() {
    let s = with_mode(SignupMode::Approval).await;
    s.create_user("boss", Some("pw"), true).await;
    let visitor = s.client();
    assert_eq!(
        visitor.fetch("/api/server-info").await.body["signup"],
        "approval"
    );
    let page = visitor.fetch("/signup").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.as_str().unwrap().contains("signup.js"));

    let (alice, a) = sign_up(&s, "Alice", "10.1.0.1").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body, json!({ "handle": "alice", "pending": true }));
    assert_eq!(
        alice.fetch("/api/users/me").await.status,
        StatusCode::FORBIDDEN
    );
    // Its login says why it does not work yet.
    let mut c = s.client();
    let a = c
        .send(
            "/api/users/login",
            json!({ "handle": "alice", "password": "pw-1" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.error().contains("waiting for an admin"), "{}", a.body);
    // It is not on the public account list, and the hook was told.
    let list = c.send("/api/users/list", json!({}), &[]).await;
    assert!(!list.body.to_string().contains("alice"));
    let hook_log = s.dir.path().join("scripts/private/signups.log");
    let mut waited = 0;
    while !std::fs::read_to_string(&hook_log)
        .unwrap_or_default()
        .contains("alice true")
    {
        assert!(waited < 200, "no signup_requested hook line");
        waited += 1;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Taken handles, in any spelling, are refused.
    let (_, a) = sign_up(&s, "ALICE", "10.1.0.2").await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    let (_, a) = sign_up(&s, "boss", "10.1.0.2").await;
    assert_eq!(a.status, StatusCode::CONFLICT);

    // The admin sees it waiting and approves it.
    let mut admin = s.login("boss", "pw").await;
    let users = admin.send("/api/users/get", json!({}), &[]).await;
    let row = users
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["handle"] == "alice")
        .cloned()
        .unwrap();
    assert_eq!(row["pending"], true);
    assert_eq!(row["enabled"], false);
    let a = admin
        .send("/api/users/approve", json!({ "handle": "alice" }), &[])
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    s.login("alice", "pw-1").await;
    let a = admin
        .send("/api/users/approve", json!({ "handle": "alice" }), &[])
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "not waiting any more");
    let a = admin
        .send("/api/users/reject", json!({ "handle": "alice" }), &[])
        .await;
    assert_eq!(
        a.status,
        StatusCode::CONFLICT,
        "an approved account is not rejected"
    );

    // Or rejects it: the account and its folder go.
    let (_, a) = sign_up(&s, "bob", "10.1.0.3").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(s.user_dir("bob").is_dir());
    let a = admin
        .send("/api/users/reject", json!({ "handle": "bob" }), &[])
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(s.user_row("bob").await.is_none());
    assert!(!s.user_dir("bob").exists());
    let a = admin
        .send("/api/users/reject", json!({ "handle": "nobody" }), &[])
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    // Enabling a waiting account approves it too.
    sign_up(&s, "carol", "10.1.0.4").await;
    let a = admin
        .send("/api/users/enable", json!({ "handle": "carol" }), &[])
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(!s.user_row("carol").await.unwrap().pending);

    // Only admins approve and reject.
    let mut alice = s.login("alice", "pw-1").await;
    for path in ["/api/users/approve", "/api/users/reject"] {
        let a = alice.send(path, json!({ "handle": "carol" }), &[]).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
    }
    let log = admin
        .send("/api/audit/list", json!({}), &[])
        .await
        .body
        .to_string();
    for action in ["user.signup", "user.approve", "user.reject"] {
        assert!(log.contains(action), "{action}: {log}");
    }
    s.stop().await;
}

#[tokio::test]
async fn open_sign_up_logs_in_at_once_and_is_limited_per_address() {
    let s = with_mode(SignupMode::Open).await;
    let (first, a) = sign_up(&s, "first", "10.2.0.1").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["pending"], false);
    assert_eq!(first.fetch("/api/users/me").await.body["handle"], "first");

    // Empty passwords are refused (and count).
    let mut c = s.client();
    let a = c
        .send(
            "/api/signup",
            json!({ "handle": "nopass", "password": "" }),
            &[("X-Forwarded-For", "10.2.0.1")],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    for i in 0..3 {
        let (_, a) = sign_up(&s, &format!("more-{i}"), "10.2.0.1").await;
        assert_eq!(a.status, StatusCode::OK, "{i}: {}", a.body);
    }
    // The sixth from one address within the hour is refused...
    let (_, a) = sign_up(&s, "sixth", "10.2.0.1").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    assert!(a.header("retry-after").is_some());
    assert!(s.user_row("sixth").await.is_none());
    // ...another address still signs up.
    let (_, a) = sign_up(&s, "sixth", "10.2.0.2").await;
    assert_eq!(a.status, StatusCode::OK);
    s.stop().await;
}
