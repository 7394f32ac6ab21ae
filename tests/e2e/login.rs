//! The login page: list and discreet styles, a wrong password, recovery
//! with the code from the server console, auto-login, and accounts off.

use serde_json::json;

use crate::common::Server;
use crate::support::{t, Browser};

fn card(handle: &str) -> String {
    format!("{}[data-handle=\"{handle}\"]", t("login-user-card"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_login_with_a_password() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let b = Browser::start("list_login_with_a_password", &s.base).await;

    b.goto("/login").await;
    b.wait_login_page().await;
    assert!(b.visible(&t("login-user-list")).await);
    assert_eq!(
        b.count(&t("login-user-card")).await,
        2,
        "default-user and alice"
    );
    assert_eq!(
        b.attr(&card("alice"), "data-password").await.as_deref(),
        Some("1")
    );
    assert_eq!(
        b.count(&format!("{} {}", card("alice"), t("login-user-lock")))
            .await,
        1
    );
    assert_eq!(
        b.attr(&card("default-user"), "data-password")
            .await
            .as_deref(),
        Some("0")
    );
    assert!(b.text(&card("alice")).await.contains("alice name"));

    b.click(&card("alice")).await;
    b.wait_attr(&t("login-chosen"), "data-handle", "alice")
        .await;
    assert!(b.visible(&t("login-password")).await);
    assert!(!b.visible(&t("login-user-list")).await);
    b.fill(&t("login-password"), "pw-alice").await;
    b.click(&t("login-submit")).await;
    b.wait_view("home").await;

    assert_eq!(b.text(&t("header-name")).await, "alice name");
    assert_eq!(
        b.js("return document.body.dataset.role;").await,
        json!("user")
    );
    assert_eq!(b.me().await["handle"], "alice");
    b.shot_test().await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discreet_login_with_handle_and_password() {
    let s = Server::start_with(|c| c.enable_discreet_login = true).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let b = Browser::start("discreet_login_with_handle_and_password", &s.base).await;

    b.goto("/login").await;
    b.wait_login_page().await;
    assert_eq!(b.count(&t("login-user-list")).await, 0, "no account list");
    assert_eq!(b.count(&t("login-user-card")).await, 0);
    assert!(b.visible(&t("discreet-handle")).await);
    assert!(b.visible(&t("login-password")).await);
    assert!(
        !b.text("body").await.contains("alice name"),
        "no name is revealed"
    );

    // Handles are lowercase: what people type is cleaned up.
    b.fill(&t("discreet-handle"), " Alice ").await;
    b.fill(&t("login-password"), "pw-alice").await;
    b.click(&t("login-submit")).await;
    b.wait_view("home").await;
    assert_eq!(b.text(&t("header-name")).await, "alice name");
    assert_eq!(b.me().await["handle"], "alice");
    b.shot_test().await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_shown_inline() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let b = Browser::start("wrong_password_is_shown_inline", &s.base).await;

    b.goto("/login").await;
    b.wait_login_page().await;
    assert!(
        !b.visible(&t("login-error")).await,
        "no error before trying"
    );
    b.click(&card("alice")).await;
    b.fill(&t("login-password"), "not-it").await;
    let st = b.act(&t("login-submit")).await;
    assert_eq!(st.kind, "error");
    assert_eq!(st.text, "Incorrect credentials");
    assert!(b.visible(&t("login-error")).await);
    assert_eq!(b.text(&t("login-error")).await, "Incorrect credentials");
    assert_eq!(b.js("return location.pathname;").await, json!("/login"));
    b.shot_test().await;

    // The right one still works from the same form.
    b.fill(&t("login-password"), "pw-alice").await;
    b.click(&t("login-submit")).await;
    b.wait_view("home").await;
    assert_eq!(b.me().await["handle"], "alice");
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_with_the_code_from_the_console() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let b = Browser::start("recovery_with_the_code_from_the_console", &s.base).await;

    b.goto("/login").await;
    b.wait_login_page().await;
    b.click(&card("alice")).await;
    b.click(&t("forgot-link")).await;
    b.wait_visible(&t("recover-handle")).await;
    assert_eq!(b.prop(&t("recover-handle"), "value").await, json!("alice"));
    assert_eq!(
        b.attr(&t("recover-hint"), "data-state").await.as_deref(),
        Some("idle")
    );

    let st = b.act(&t("recover-request")).await;
    assert_eq!(st.kind, "ok", "{st:?}");
    assert_eq!(
        b.attr(&t("recover-hint"), "data-state").await.as_deref(),
        Some("sent")
    );
    let code = s.last_code("Password recovery code:", "alice");
    assert_eq!(code.len(), 4, "a 4-digit code: {code}");

    // A wrong code first: the message shows inline and nothing changes.
    let wrong = format!("{:04}", (code.parse::<u32>().unwrap() + 1) % 10_000);
    b.fill(&t("recover-code"), &wrong).await;
    b.fill(&t("recover-new-password"), "pw-new").await;
    b.fill(&t("recover-new-password-confirm"), "pw-new").await;
    let st = b.act(&t("recover-submit")).await;
    assert_eq!(st.kind, "error");
    assert_eq!(b.text(&t("recover-error")).await, "Incorrect code");

    b.fill(&t("recover-code"), &code).await;
    b.click(&t("recover-submit")).await;
    b.wait_view("home").await;
    assert_eq!(b.me().await["handle"], "alice");
    b.shot_test().await;

    // The server agrees: the new password works.
    s.login("alice", "pw-new").await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_login_with_one_passwordless_user() {
    let s = Server::start().await;
    let b = Browser::start("auto_login_with_one_passwordless_user", &s.base).await;
    b.goto("/login").await;
    b.wait_view("home").await;
    assert_eq!(b.me().await["handle"], "default-user");
    assert_eq!(b.text(&t("home-greeting")).await, "Welcome, User.");
    assert_eq!(b.count(&t("login-user-list")).await, 0);
    b.shot_test().await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_off_hides_login_and_explains() {
    let s = Server::start_with(|c| c.enable_user_accounts = false).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let b = Browser::start("accounts_off_hides_login_and_explains", &s.base).await;

    // The login page sends people straight into the app.
    b.goto("/login").await;
    b.wait_view("home").await;
    assert_eq!(
        b.js("return document.body.dataset.accounts;").await,
        json!("off")
    );
    assert_eq!(
        b.count(&t("logout")).await,
        0,
        "no log out without accounts"
    );
    assert_eq!(b.count(&t("login-password")).await, 0);

    b.open_view("account").await;
    assert_eq!(b.count(&t("account-logout")).await, 0);
    assert_eq!(b.count(&t("password-card")).await, 0, "no password box");
    assert!(b.visible(&t("accounts-off-hint")).await);
    assert!(!b.text(&t("accounts-off-hint")).await.is_empty());
    // The cards single-user mode has not leave no trace (they were once
    // written as the text "undefined").
    assert_eq!(
        b.js("return document.querySelector('[data-test=\"view-account\"]').textContent.includes('undefined');")
            .await,
        json!(false)
    );
    b.shot_test().await;
    b.close().await;
    s.stop().await;
}

/// `?next=` cannot send a logged-in user to another site (issue 13, point
/// 5): the browser drops tabs and reads backslashes as slashes, so each of
/// these names another origin once resolved; only same-origin paths count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_parameter_never_leaves_the_site() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let b = Browser::start("the_next_parameter_never_leaves_the_site", &s.base).await;
    for (next, lands) in [
        ("%2F%09%2Fevil.example", "/"),
        ("%2F%2Fevil.example", "/"),
        ("%2F%5Cevil.example", "/"),
        ("%2F%0A%2Fevil.example%2Fx", "/"),
        ("https%3A%2F%2Fevil.example%2F", "/"),
        ("%2Finnkeeper%2F%23account", "/innkeeper/"),
    ] {
        b.goto(&format!("/login?next={next}")).await;
        b.wait_login_page().await;
        b.click(&format!("{}[data-handle=\"alice\"]", t("login-user-card")))
            .await;
        b.wait_attr(&t("login-chosen"), "data-handle", "alice")
            .await;
        b.fill(&t("login-password"), "pw-alice").await;
        b.click(&t("login-submit")).await;
        b.wait_for(
            "the page after the login",
            "return location.pathname !== '/login' && document.readyState === 'complete';",
        )
        .await;
        let here = b.js("return [location.origin, location.pathname];").await;
        assert_eq!(here[0], json!(s.base), "next={next}");
        assert_eq!(here[1], json!(lands), "next={next}");
        // Log out for the next round.
        b.js("return fetch('/csrf-token').then(r => r.json()).then(t => fetch('/api/users/logout', { method: 'POST', headers: { 'X-CSRF-Token': t.token } })).then(r => r.status);")
            .await;
    }
    b.close().await;
    s.stop().await;
}

/// Issue 14, point 1: a recovery ends the lockout it was needed for. Seven
/// wrong passwords lock the account and this address out; the recovery
/// then sets a new password and the automatic login after it gets in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_ends_the_lockout() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let b = Browser::start("recovery_ends_the_lockout", &s.base).await;
    b.goto("/login").await;
    b.wait_login_page().await;
    b.click(&card("alice")).await;
    let mut limited = false;
    for i in 0..7 {
        b.fill(&t("login-password"), &format!("guess-{i}")).await;
        let st = b.act(&t("login-submit")).await;
        assert_eq!(st.kind, "error");
        limited = st.text.starts_with("Too many attempts");
    }
    assert!(limited, "seven wrong passwords end in the limit");
    b.click(&t("forgot-link")).await;
    b.wait_visible(&t("recover-handle")).await;
    let st = b.act(&t("recover-request")).await;
    assert_eq!(st.kind, "ok", "{st:?}");
    let code = s.last_code("Password recovery code:", "alice");
    b.fill(&t("recover-code"), &code).await;
    b.fill(&t("recover-new-password"), "pw-new").await;
    b.fill(&t("recover-new-password-confirm"), "pw-new").await;
    b.click(&t("recover-submit")).await;
    b.wait_view("home").await;
    assert_eq!(b.me().await["handle"], "alice");
    b.close().await;
    s.stop().await;
}

/// Issue 14, point 7: in discreet mode a disabled handle answers as an
/// unknown one does, in the login form and in recovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discreet_mode_reveals_nothing() {
    let s = Server::start_with(|c| c.enable_discreet_login = true).await;
    s.create_user("carol", Some("pw-carol"), false).await;
    s.app
        .accounts()
        .set_enabled(&innkeeper::app::Actor::console(), "carol", false)
        .await
        .unwrap();
    let b = Browser::start("discreet_mode_reveals_nothing", &s.base).await;
    let mut seen = Vec::new();
    for handle in ["carol", "nobody"] {
        b.goto("/login").await;
        b.wait_login_page().await;
        b.fill(&t("discreet-handle"), handle).await;
        // The right password of the disabled account changes nothing.
        b.fill(&t("login-password"), "pw-carol").await;
        let login = b.act(&t("login-submit")).await;
        b.click(&t("forgot-link")).await;
        b.wait_visible(&t("recover-handle")).await;
        b.fill(&t("recover-handle"), handle).await;
        let request = b.act(&t("recover-request")).await;
        b.fill(&t("recover-code"), "0000").await;
        b.fill(&t("recover-new-password"), "x").await;
        b.fill(&t("recover-new-password-confirm"), "x").await;
        let submit = b.act(&t("recover-submit")).await;
        seen.push((
            handle,
            (login.kind, login.text),
            (request.kind, request.text),
            (submit.kind, submit.text),
        ));
    }
    assert_eq!(
        (&seen[0].1, &seen[0].2, &seen[0].3),
        (&seen[1].1, &seen[1].2, &seen[1].3),
        "{seen:?}"
    );
    assert_eq!(seen[0].1 .1, "Incorrect credentials");
    assert!(s.console_lines().is_empty(), "{:?}", s.console_lines());
    b.close().await;
    s.stop().await;
}

/// Issue 14, point 10: a browser that navigates to an address that does
/// not exist gets a page with a way back; API calls still get JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_pages_answer_with_a_page() {
    let s = Server::start().await;
    let b = Browser::start("unknown_pages_answer_with_a_page", &s.base).await;
    b.goto("/no/such/page").await;
    b.wait_visible(&t("not-found")).await;
    assert_eq!(
        b.js("return document.title;").await,
        json!("Page not found · Innkeeper")
    );
    b.click(&t("not-found-home")).await;
    b.wait_view("home").await;
    let http = reqwest::Client::new();
    let page = http
        .get(s.url("/no/such/page"))
        .header("Accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let api = http
        .get(s.url("/api/no-such-route"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 404);
    assert_eq!(
        api.json::<serde_json::Value>().await.unwrap(),
        json!({ "error": "Not found" })
    );
    b.close().await;
    s.stop().await;
}

/// Issue 14, point 8: the first run on the defaults. The lone admin has no
/// password: a banner says what that means and leads to setting one;
/// "Log out" is not offered while the login page would log straight back
/// in, and is once a password is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_is_friendly() {
    let s = Server::start().await;
    let b = Browser::start("first_run_is_friendly", &s.base).await;
    b.goto("/login").await;
    b.wait_view("home").await;
    assert!(b.visible(&t("no-password-banner")).await);
    assert_eq!(b.count(&t("logout")).await, 0, "nothing to log out of");
    b.open_view("account").await;
    assert_eq!(b.count(&t("account-logout")).await, 0);
    b.click(&t("no-password-set")).await;
    b.wait_view("account").await;
    b.wait_for(
        "the new password field focused",
        "return document.activeElement?.dataset?.test === 'password-new';",
    )
    .await;
    b.fill(&t("password-new"), "first-pw").await;
    b.fill(&t("password-new-confirm"), "first-pw").await;
    b.act_ok(&t("password-save")).await;
    b.wait_for(
        "the banner gone",
        "return !document.querySelector('[data-test=\"no-password-banner\"]');",
    )
    .await;
    b.goto("/innkeeper/").await;
    b.wait_view("home").await;
    assert_eq!(
        b.count(&t("logout")).await,
        1,
        "a password makes log out useful"
    );
    assert_eq!(b.count(&t("no-password-banner")).await, 0);
    b.close().await;
    s.stop().await;
}

#[tokio::test]
async fn a_temporary_password_leads_to_choosing_ones_own() {
    let s = Server::start().await;
    s.create_user("boss", Some("pw"), true).await;
    s.create_user("alice", Some("old"), false).await;
    let mut admin = s.login("boss", "pw").await;
    let a = admin
        .send(
            "/api/users/change-password",
            json!({ "handle": "alice", "newPassword": "temp-1", "temporary": true }),
            &[],
        )
        .await;
    assert_eq!(a.status, reqwest::StatusCode::NO_CONTENT);

    let b = Browser::start("a_temporary_password_leads_to_choosing_ones_own", &s.base).await;
    b.goto("/login").await;
    b.wait_login_page().await;
    b.click(&format!("{}[data-handle=\"alice\"]", t("login-user-card")))
        .await;
    b.wait_attr(&t("login-chosen"), "data-handle", "alice")
        .await;
    b.fill(&t("login-password"), "temp-1").await;
    b.click(&t("login-submit")).await;
    // Only the form to choose a password, nothing else of the app.
    b.wait_visible(&t("must-change-form")).await;
    b.wait_idle().await;
    assert_eq!(b.count(&t("nav-home")).await, 0);
    b.shot_test().await;
    b.fill(&t("must-change-old"), "temp-1").await;
    b.fill(&t("must-change-new"), "alice-own-1").await;
    b.fill(&t("must-change-new-confirm"), "alice-own-2").await;
    b.click(&t("must-change-submit")).await;
    b.wait_visible(&t("must-change-error")).await;
    assert!(b.text(&t("must-change-error")).await.contains("differ"));
    b.fill(&t("must-change-new-confirm"), "alice-own-1").await;
    b.click(&t("must-change-submit")).await;
    b.wait_view("home").await;
    assert_eq!(b.me().await["mustChangePassword"], false);
    s.login("alice", "alice-own-1").await;
    b.close().await;
    s.stop().await;
}
