//! The session list in Chromium (issue 15, point 4): the account page
//! shows where the account is signed in and ends another session, or all
//! of them but this one.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::Server;
use crate::support::{login_list, t, Browser};

async fn ping(c: &crate::common::Client) -> StatusCode {
    c.http
        .get(format!("{}/api/ping", c.base))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_page_lists_sessions_and_ends_them() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let mut phone = s.client();
    let a = phone
        .send(
            "/api/users/login",
            json!({ "handle": "alice", "password": "pw-alice" }),
            &[("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Mobile/15E148 Safari/604.1")],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);

    let b = Browser::start("the_account_page_lists_sessions_and_ends_them", &s.base).await;
    login_list(&b, "alice", Some("pw-alice")).await;
    b.open_view("account").await;
    b.wait_attr(&t("sessions-card"), "data-count", "2").await;
    let current = format!("{}[data-current=\"1\"]", t("session-row"));
    let other = format!("{}[data-current=\"0\"]", t("session-row"));
    assert!(b
        .text(&format!("{current} {}", t("session-device")))
        .await
        .contains("Chrome"));
    assert_eq!(
        b.text(&format!("{other} {}", t("session-device"))).await,
        "Safari on iPhone"
    );
    assert_eq!(b.count(&format!("{current} {}", t("session-end"))).await, 0);
    b.shot_test().await;

    // End the phone's session from here.
    let msg = b.act_ok(&format!("{other} {}", t("session-end"))).await;
    assert!(msg.contains("Safari on iPhone"), "{msg}");
    b.wait_attr(&t("sessions-card"), "data-count", "1").await;
    assert_eq!(ping(&phone).await, StatusCode::FORBIDDEN);

    // Two more elsewhere, then everywhere else at once.
    let one = s.login("alice", "pw-alice").await;
    let two = s.login("alice", "pw-alice").await;
    b.open_view("home").await;
    b.open_view("account").await;
    b.wait_attr(&t("sessions-card"), "data-count", "3").await;
    let msg = b.act_ok(&t("sessions-end-others")).await;
    assert_eq!(msg, "Signed out 2 other sessions.");
    b.wait_attr(&t("sessions-card"), "data-count", "1").await;
    assert_eq!(ping(&one).await, StatusCode::FORBIDDEN);
    assert_eq!(ping(&two).await, StatusCode::FORBIDDEN);
    assert!(!b.visible(&t("sessions-end-others")).await);
    assert_eq!(b.me().await["handle"], "alice", "this one stays");
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sees_and_ends_anyones_sessions() {
    let s = Server::start().await;
    s.create_user("boss", Some("pw-boss"), true).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let laptop = s.login("alice", "pw-alice").await;
    let phone = s.login("alice", "pw-alice").await;
    let b = Browser::start("an_admin_sees_and_ends_anyones_sessions", &s.base).await;
    login_list(&b, "boss", Some("pw-boss")).await;
    b.open_view("admin").await;
    let st = b.act_in_row("alice", "admin-sessions").await;
    assert_eq!(st.text, "Sessions of alice: 2.");
    b.wait_dialog("admin-sessions").await;
    // The account page's own card is in the page too (hidden): the
    // dialog's ids are scoped to it.
    let dialog = t("confirm-dialog");
    assert_eq!(b.count(&format!("{dialog} {}", t("session-row"))).await, 2);
    assert_eq!(
        b.count(&format!(
            "{dialog} {}[data-current=\"1\"]",
            t("session-row")
        ))
        .await,
        0,
        "none of them is the admin's"
    );
    let msg = b
        .act_ok(&format!("{dialog} {}", t("sessions-end-others")))
        .await;
    assert_eq!(msg, "Signed alice out of 2 sessions.");
    assert_eq!(ping(&laptop).await, StatusCode::FORBIDDEN);
    assert_eq!(ping(&phone).await, StatusCode::FORBIDDEN);
    assert_eq!(b.me().await["handle"], "boss");
    b.close().await;
    s.stop().await;
}
