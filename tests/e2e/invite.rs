//! The invitation page in Chromium (issue 15, point 1): someone opens the
//! link, picks a handle, name and password, and lands logged in; a used
//! link says so.

use serde_json::json;

use crate::common::Server;
use crate::support::{t, Browser};

#[tokio::test]
async fn an_invited_person_creates_their_account_from_the_link() {
    let s = Server::start().await;
    s.create_user("boss", Some("pw"), true).await;
    let mut admin = s.login("boss", "pw").await;
    let a = admin
        .send("/api/invites/create", json!({ "name": "Robin" }), &[])
        .await;
    let link = a.body["link"].as_str().unwrap().to_string();

    let b = Browser::start(
        "an_invited_person_creates_their_account_from_the_link",
        &s.base,
    )
    .await;
    b.goto(&link).await;
    b.wait_visible(&t("invite-form")).await;
    b.wait_idle().await;
    assert_eq!(b.prop(&t("invite-name"), "value").await, "Robin");
    b.fill(&t("invite-handle"), "Robin Hood").await;
    b.fill(&t("invite-password"), "green-wood-42").await;
    b.fill(&t("invite-password-confirm"), "green-wood-4").await;
    b.click(&t("invite-submit")).await;
    b.wait_visible(&t("invite-error")).await;
    assert!(b.text(&t("invite-error")).await.contains("differ"));
    assert!(s.user_row("robin-hood").await.is_none());
    b.fill(&t("invite-password-confirm"), "green-wood-42").await;
    b.click(&t("invite-submit")).await;
    b.wait_view("home").await;
    assert_eq!(b.me().await["handle"], "robin-hood");
    b.shot_test().await;

    // The link is spent: opening it again says so.
    b.goto(&link).await;
    b.wait_visible(&t("invite-problem")).await;
    assert!(b
        .text(&t("invite-problem"))
        .await
        .contains("already been used"));
    b.close().await;
    s.stop().await;
}
