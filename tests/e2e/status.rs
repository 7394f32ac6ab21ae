//! The status message (issue 14, point 3): it hides itself after a
//! success, goes when the view or a field changes, never repeats an inline
//! error, never covers a field or a button, and screen readers hear it
//! through live regions that are always there.

use innkeeper::app::Actor;
use serde_json::{json, Value};

use crate::common::Server;
use crate::support::{login_list, t, Browser, WAIT};

/// Waits (bounded) until the status box is hidden.
async fn wait_status_hidden(b: &Browser) {
    b.wait_for(
        "the status message to hide",
        "const s = document.querySelector('[data-test=\"status\"]'); return !!s && s.hidden;",
    )
    .await;
}

/// Waits (bounded) until the live region `test` says `text`.
async fn wait_announced(b: &Browser, test: &str, text: &str) {
    let script = format!(
        "const e = document.querySelector('[data-test=\"{test}\"]'); \
         return !!e && e.textContent === {};",
        json!(text)
    );
    b.wait_for(&format!("{test} to say {text:?}"), &script)
        .await;
}

/// Marks every control (field, button, link) that is wholly in view below
/// the top bar, so `covered` can check them after the message appears.
async fn mark_visible_controls(b: &Browser) -> u64 {
    b.js("const bar = document.getElementById('topbar').getBoundingClientRect(); \
          window.__seen = [...document.querySelectorAll('input, select, textarea, button, a[href]')] \
            .filter(e => { const r = e.getBoundingClientRect(); \
              return r.width > 0 && r.height > 0 && r.top >= bar.bottom && r.bottom <= innerHeight \
                && !e.closest('#topbar'); }); \
          return window.__seen.length;")
        .await
        .as_u64()
        .unwrap()
}

/// The marked controls the status box now overlaps, and where it is.
async fn covered(b: &Browser) -> Value {
    b.js("const s = document.querySelector('[data-test=\"status\"]').getBoundingClientRect(); \
          const hit = (r) => r.left < s.right && r.right > s.left && r.top < s.bottom && r.bottom > s.top; \
          return { status: [s.top, s.bottom], inView: s.top >= 0 && s.bottom <= innerHeight, \
            covered: window.__seen.filter(e => hit(e.getBoundingClientRect())) \
              .map(e => e.dataset.test || e.tagName) };")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_messages_behave() {
    let s = Server::start().await;
    s.create_user("boss", Some("pw-boss"), true).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let b = Browser::start("status_messages_behave", &s.base).await;
    login_list(&b, "boss", Some("pw-boss")).await;

    // Live regions are mounted (and never hidden) before anything is said.
    let live = b
        .js("const p = document.querySelector('[data-test=\"status-live\"]'); \
             const a = document.querySelector('[data-test=\"status-alert\"]'); \
             return [p && p.getAttribute('role'), p && p.getAttribute('aria-live'), \
                     !!p && !p.closest('[hidden]'), a && a.getAttribute('role'), !!a && !a.closest('[hidden]'), \
                     document.querySelector('[data-test=\"status\"]').getAttribute('role')];")
        .await;
    assert_eq!(
        live,
        json!(["status", "polite", true, "alert", true, null]),
        "the visible box is no live region itself: nothing is said twice"
    );

    // An error only the status tells: shown, said as an alert, and it stays.
    b.open_view("admin").await;
    s.app
        .accounts()
        .delete_user(&Actor::console(), "alice", false)
        .await
        .expect("deleted behind the page's back");
    let st = b.act_in_row("alice", "admin-disable").await;
    assert_eq!(
        (st.kind.as_str(), st.text.as_str()),
        ("error", "User not found")
    );
    assert!(b.visible(&t("status")).await);
    assert_eq!(b.attr(&t("status"), "data-auto-hide").await, None);
    wait_announced(&b, "status-alert", "User not found").await;
    assert_eq!(b.text(&t("status-live")).await, "");
    // Typing in a field makes it old news.
    b.fill(&t("admin-filter"), "a").await;
    wait_status_hidden(&b).await;
    assert_eq!(b.text(&t("status-alert")).await, "");
    // So does another view.
    let st = b.act_in_row("alice", "admin-disable").await;
    assert_eq!(st.kind, "error");
    assert!(b.visible(&t("status")).await);
    b.open_view("account").await;
    wait_status_hidden(&b).await;
    // Hidden, the last message is still on the element for tests.
    let st = b.status().await;
    assert_eq!(
        (st.kind.as_str(), st.text.as_str()),
        ("error", "User not found")
    );

    // A success is said politely and hides itself.
    b.fill(&t("account-name"), "Boss B.").await;
    let before = b.seq().await;
    let msg = b.act_ok(&t("account-name-save")).await;
    assert_eq!(msg, "Display name saved.");
    assert!(b.visible(&t("status")).await);
    wait_announced(&b, "status-live", &msg).await;
    assert_eq!(b.text(&t("status-alert")).await, "");
    let hide_ms: u64 = b
        .attr(&t("status"), "data-auto-hide")
        .await
        .expect("a success hides itself")
        .parse()
        .unwrap();
    assert!(
        hide_ms >= 4000 && hide_ms < WAIT.as_millis() as u64,
        "{hide_ms}"
    );
    wait_status_hidden(&b).await;
    let st = b.status().await;
    assert_eq!((st.kind.as_str(), st.seq), ("ok", before + 1));

    // An error the form shows inline is not repeated, on screen or aloud.
    b.fill(&t("account-name"), "").await;
    let st = b.act(&t("account-name-save")).await;
    let said = "The display name cannot be empty.";
    assert_eq!((st.kind.as_str(), st.text.as_str()), ("error", said));
    assert_eq!(b.text(&t("account-name-error")).await, said);
    assert!(b.visible(&t("account-name-error")).await);
    assert!(!b.visible(&t("status")).await, "said once, inline");
    assert_eq!(
        b.attr(&t("status"), "data-inline").await.as_deref(),
        Some("1")
    );
    assert_eq!(b.text(&t("status-alert")).await, "");
    assert_eq!(b.text(&t("status-live")).await, "");

    // Never over a field or a button: a button at the bottom edge of the
    // screen, clicked, at 1280 and at 390 px.
    for (w, h) in [(1280, 900), (390, 844)] {
        b.viewport(w, h).await;
        b.js("const e = document.querySelector('[data-test=\"snapshot-refresh\"]'); \
              window.scrollTo(0, e.getBoundingClientRect().bottom + scrollY - innerHeight + 4); return true;")
            .await;
        let seen = mark_visible_controls(&b).await;
        assert!(seen > 3, "{seen} controls in view at {w} px");
        let msg = b.act_ok(&t("snapshot-refresh")).await;
        assert_eq!(msg, "Snapshot list updated.");
        let c = covered(&b).await;
        assert!(
            c["covered"] == json!([]) && c["inView"] == json!(true),
            "the message at {w} px covers {c}"
        );
        b.shot(&format!("status_messages_behave-{w}")).await;
    }
    b.close().await;
    s.stop().await;
}
