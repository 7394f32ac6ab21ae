//! Sign-up with approval in Chromium (issue 15, point 2), and the admin's
//! invitation links card (point 1): a visitor signs up from the login
//! page and is told the account waits; the admin sees the waiting count,
//! approves it, and the account logs in.

use innkeeper::config::SignupMode;

use crate::common::Server;
use crate::support::{in_row, t, Browser};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_waits_for_an_admin_who_approves_it() {
    let s = Server::start_with(|c| c.signup.mode = SignupMode::Approval).await;
    s.create_user("boss", Some("pw"), true).await;
    let (visitor, admin) = Browser::start_two(
        "sign_up_waits_for_an_admin_who_approves_it",
        "sign_up_waits_for_an_admin_who_approves_it_admin",
        &s.base,
    )
    .await;

    // From the login page to the sign-up form.
    visitor.goto("/login").await;
    visitor.wait_login_page().await;
    visitor.click(&format!("{} a", t("signup-link"))).await;
    visitor.wait_visible(&t("signup-form")).await;
    visitor.wait_idle().await;
    visitor.fill(&t("signup-handle"), "Robin").await;
    visitor.fill(&t("signup-name"), "Robin of Loxley").await;
    visitor.fill(&t("signup-password"), "sherwood-1").await;
    visitor
        .fill(&t("signup-password-confirm"), "sherwood-1")
        .await;
    visitor.click(&t("signup-submit")).await;
    visitor.wait_visible(&t("signup-waiting")).await;
    assert!(visitor.text(&t("signup-waiting")).await.contains("robin"));
    let robin = s.user_row("robin").await.unwrap();
    assert!(robin.pending && !robin.enabled);
    visitor.goto("/login").await;
    visitor.wait_login_page().await;
    visitor.wait_visible(&t("login-pending")).await;

    // The admin sees one waiting and approves it.
    admin.goto("/login").await;
    admin.wait_login_page().await;
    admin
        .click(&format!("{}[data-handle=\"boss\"]", t("login-user-card")))
        .await;
    admin
        .wait_attr(&t("login-chosen"), "data-handle", "boss")
        .await;
    admin.fill(&t("login-password"), "pw").await;
    admin.click(&t("login-submit")).await;
    admin.wait_view("home").await;
    admin.open_view("admin").await;
    admin.wait_visible(&t("admin-pending-count")).await;
    assert_eq!(admin.text(&t("admin-pending-count")).await, "1");
    assert_eq!(
        admin
            .attr(&in_row("robin", "admin-enabled"), "data-state")
            .await
            .as_deref(),
        Some("pending")
    );
    admin.shot_test().await;
    let msg = admin.act_ok(&in_row("robin", "admin-approve")).await;
    assert_eq!(msg, "robin is approved and can log in.");
    assert!(!admin.visible(&t("admin-pending-count")).await);
    s.login("robin", "sherwood-1").await;

    // The visitor's login page now lists the account, without the note.
    visitor.goto("/login").await;
    visitor.wait_login_page().await;
    assert_eq!(
        visitor
            .count(&format!("{}[data-handle=\"robin\"]", t("login-user-card")))
            .await,
        1
    );
    assert_eq!(visitor.count(&t("login-pending")).await, 0);

    // Invitation links: made, shown once, listed, withdrawn.
    admin.click(&t("admin-tab-create")).await;
    admin.wait_visible(&t("invites-card")).await;
    admin.fill(&t("invite-uses"), "2").await;
    let msg = admin.act_ok(&t("invite-create")).await;
    assert!(msg.starts_with("Invitation "), "{msg}");
    let link = admin
        .prop(&t("invite-link"), "value")
        .await
        .as_str()
        .unwrap()
        .to_string();
    assert!(link.starts_with(&format!("{}/invite/", s.base)), "{link}");
    admin.wait_attr(&t("invites-card"), "data-count", "1").await;
    assert_eq!(
        admin.attr(&t("invite-row"), "data-state").await.as_deref(),
        Some("active")
    );
    admin.act_ok(&t("invite-revoke")).await;
    admin
        .wait_attr(&t("invite-row"), "data-state", "revoked")
        .await;
    visitor.goto_url(&link).await;
    visitor.wait_visible(&t("invite-problem")).await;
    assert!(visitor
        .text(&t("invite-problem"))
        .await
        .contains("withdrawn"));
    visitor.close().await;
    admin.close().await;
    s.stop().await;
}
