//! Permission profiles, shared connections and usage limits in the browser
//! (issue 16): the admin's Permissions tab and per-account dialog, the
//! account page's Permissions card, and proof that a shared key's value
//! never comes back to the browser.

use innkeeper::permissions::profiles::Limits;
use serde_json::{json, Value};

use crate::common::Server;
use crate::support::{login_list, t, Browser};

/// A key value nobody could mistake for anything else on the page.
const SECRET: &str = "sk-e2e-house-Vq8Zr2Lm4Tx7Nc5W";

/// Records the text of every answer `fetch` gets, in `window.__answers`,
/// before the page's own scripts run (installed on every new page).
/// `window.__reading` counts bodies still being read.
const RECORDER: &str = r#"(() => {
  if (window.__answers) return;
  const answers = [];
  let reading = 0;
  Object.defineProperty(window, '__answers', { value: answers });
  Object.defineProperty(window, '__reading', { get: () => reading });
  const original = window.fetch.bind(window);
  window.fetch = async (...args) => {
    const res = await original(...args);
    reading += 1;
    res.clone().text().then(
      (text) => answers.push({ url: res.url, status: res.status, text }),
      (err) => answers.push({ url: res.url, status: res.status, text: '', error: String(err) }),
    ).finally(() => { reading -= 1; });
    return res;
  };
})();"#;

fn profile_row(name: &str) -> String {
    format!("{}[data-name=\"{name}\"]", t("profile-row"))
}

fn connection_row(name: &str) -> String {
    format!("{}[data-name=\"{name}\"]", t("connection-row"))
}

/// `[data-dialog="…"] [data-test="…"]`: a control inside an open dialog.
fn in_dialog(dialog: &str, name: &str) -> String {
    format!("[data-dialog=\"{dialog}\"] {}", t(name))
}

/// A server with an admin (boss) and two users.
async fn server() -> Server {
    let s = Server::start().await;
    s.create_user("boss", Some("pw-boss"), true).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    s.create_user("bob", Some("pw-bob"), false).await;
    s
}

/// boss logged in, on the admin view's Permissions tab.
async fn open_permissions_tab(b: &Browser) {
    login_list(b, "boss", Some("pw-boss")).await;
    b.open_view("admin").await;
    b.admin_tab("permissions").await;
}

/// Presses the open dialog's OK and returns the status that follows.
async fn confirm_ok(b: &Browser, dialog: &str) -> (String, String) {
    let before = b.seq().await;
    b.confirm(dialog).await;
    let st = b.status_after(before).await;
    (st.kind, st.text)
}

/// Scrolls `css` to the top of the window (for a screenshot of it).
async fn scroll_to(b: &Browser, css: &str) {
    b.c.execute(
        "document.querySelector(arguments[0]).scrollIntoView({ block: 'start' }); return true;",
        vec![json!(css)],
    )
    .await
    .expect("scroll");
}

/// Logs the browser out and in again as `handle`.
async fn switch_to(b: &Browser, handle: &str, password: &str) {
    b.click(&t("logout")).await;
    b.wait_login_page().await;
    login_list(b, handle, Some(password)).await;
}

/// The value stored under `key` in the secrets.json of `handle`, if any.
fn secret_on_disk(s: &Server, handle: &str, key: &str) -> Option<String> {
    let path = s.user_dir(handle).join("secrets.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: Value = serde_json::from_str(&text).expect("secrets.json is JSON");
    v[key].as_str().map(str::to_string)
}

/// What an admin client gets from one of the permissions calls.
async fn admin_api(s: &Server, path: &str, body: Value) -> Value {
    let mut c = s.login("boss", "pw-boss").await;
    let (status, answer) = c.post(path, body).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

/// (a) A profile with limits made in the UI, given to an account in its
/// Permissions… dialog, shows on that account's page; the dialog charts
/// the last 14 days.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_made_in_the_ui_reaches_the_account_page() {
    let s = server().await;
    // bob generated three times.
    for _ in 0..3 {
        s.app
            .permissions()
            .count_generation("bob", Limits::default())
            .await
            .expect("a generation counted");
    }
    let b = Browser::start("a_profile_made_in_the_ui_reaches_the_account_page", &s.base).await;
    open_permissions_tab(&b).await;

    // The built-in profiles, member the default, none of them deletable.
    assert_eq!(b.count(&t("profile-row")).await, 3);
    assert_eq!(
        b.attr(&profile_row("member"), "data-default")
            .await
            .as_deref(),
        Some("1")
    );
    assert_eq!(
        b.count(&format!("{} {}", t("profile-row"), t("profile-delete")))
            .await,
        0
    );

    // New profile: no own API keys, no extension installs, 5 an hour, 20 a day.
    b.click(&t("profile-new")).await;
    b.wait_dialog("profile-edit").await;
    b.fill(&t("profile-edit-name"), "kids").await;
    for switch in ["secrets.own", "extensions.manage"] {
        b.click(&format!("{}[data-name=\"{switch}\"]", t("profile-switch")))
            .await;
    }
    b.fill(&t("profile-per-hour"), "5").await;
    b.fill(&t("profile-per-day"), "20").await;
    b.shot("a_profile_made_in_the_ui_reaches_the_account_page-profile")
        .await;
    let (kind, text) = confirm_ok(&b, "profile-edit").await;
    assert_eq!(
        (kind.as_str(), text.as_str()),
        ("ok", "Profile kids created: 5 per hour · 20 per day.")
    );
    let kids = profile_row("kids");
    assert_eq!(
        b.text(&format!("{kids} {}", t("profile-limits"))).await,
        "5 per hour · 20 per day"
    );
    let allow = b
        .attr(&format!("{kids} {}", t("profile-allow")), "data-allow")
        .await
        .unwrap_or_default();
    assert!(
        allow.contains("generate") && !allow.contains("secrets.own"),
        "{allow}"
    );
    let profiles = admin_api(&s, "/api/permissions/profiles", json!({})).await;
    let stored = profiles["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "kids")
        .expect("kids is stored")
        .clone();
    assert_eq!(
        stored["limits"],
        json!({ "perHour": 5, "perDay": 20, "atOnce": null })
    );
    assert!(!stored["allow"]
        .as_array()
        .unwrap()
        .contains(&json!("secrets.own")));

    // alice gets it, with at most one generation at once of her own.
    b.admin_tab("accounts").await;
    b.choose_in_row("alice", "admin-permissions").await;
    b.wait_dialog("admin-permissions").await;
    assert_eq!(
        b.prop(&t("admin-permissions-profile"), "value").await,
        json!(""),
        "alice has the default"
    );
    b.find(&t("admin-permissions-profile"))
        .await
        .select_by_value("kids")
        .await
        .expect("choose kids");
    b.fill(&t("admin-permissions-at-once"), "1").await;
    let (kind, text) = confirm_ok(&b, "admin-permissions").await;
    assert_eq!(
        (kind.as_str(), text.as_str()),
        ("ok", "Permissions of alice saved: profile kids.")
    );
    let alice = permissions_of(&s, "alice").await;
    assert_eq!(alice["chosen"], "kids");
    assert_eq!(
        alice["overrides"],
        json!({ "perHour": null, "perDay": null, "atOnce": 1 })
    );
    assert_eq!(
        alice["limits"],
        json!({ "perHour": 5, "perDay": 20, "atOnce": 1 })
    );
    // The profiles table counts her.
    b.admin_tab("permissions").await;
    assert_eq!(
        b.text(&format!("{kids} {}", t("profile-count"))).await,
        "1 account"
    );

    // bob's dialog: 14 days of bars, three generations in all.
    b.admin_tab("accounts").await;
    b.choose_in_row("bob", "admin-permissions").await;
    b.wait_dialog("admin-permissions").await;
    assert_eq!(
        b.count(&in_dialog("admin-permissions", "usage-bar")).await,
        14
    );
    let titles = b
        .js("return [...document.querySelectorAll('[data-test=\"usage-bar\"] title')].length;")
        .await;
    assert_eq!(titles, json!(14), "every bar has its <title>");
    let summary = b
        .text(&in_dialog("admin-permissions", "usage-chart-summary"))
        .await;
    assert!(
        summary.starts_with("Last 14 days: 3 generations, most on "),
        "{summary}"
    );
    assert_eq!(
        b.js("const s = document.querySelector('[data-test=\"usage-chart\"] svg'); \
              return [s.getAttribute('role'), document.getElementById(s.getAttribute('aria-labelledby')).textContent];")
            .await,
        json!(["img", summary])
    );
    b.shot_test().await;
    let before = b.seq().await;
    b.click(&t("confirm-cancel")).await;
    let st = b.status_after(before).await;
    assert_eq!(
        (st.kind.as_str(), st.text.as_str()),
        ("info", "Permissions of bob not changed.")
    );

    // alice's own page says it in words.
    switch_to(&b, "alice", "pw-alice").await;
    b.open_view("account").await;
    assert_eq!(
        b.attr(&t("permissions-card"), "data-profile")
            .await
            .as_deref(),
        Some("kids")
    );
    assert_eq!(b.text(&t("permissions-profile")).await, "kids");
    assert_eq!(b.text(&t("permissions-hour")).await, "0 of 5 this hour");
    assert_eq!(b.text(&t("permissions-day")).await, "0 of 20 today");
    assert_eq!(b.text(&t("permissions-at-once")).await, "At most 1 at once");
    let switch = |name: &str| format!("{}[data-name=\"{name}\"]", t("permissions-switch"));
    assert_eq!(
        b.attr(&switch("secrets.own"), "data-allowed")
            .await
            .as_deref(),
        Some("0")
    );
    assert!(b
        .text(&switch("secrets.own"))
        .await
        .ends_with("Not allowed"));
    assert_eq!(
        b.attr(&switch("generate"), "data-allowed").await.as_deref(),
        Some("1")
    );
    assert!(b
        .text(&t("permissions-resets"))
        .await
        .starts_with("The hour's count starts again at "));
    assert!(!b.visible(&t("permissions-shared")).await, "nothing shared");
    scroll_to(&b, &t("permissions-card")).await;
    b.shot("a_profile_made_in_the_ui_reaches_the_account_page-account")
        .await;
    b.close().await;
    s.stop().await;
}

/// Everything the page received and holds that contains `needle`:
/// recorded answers (by URL), DOM text, attributes, field values, storage.
/// Waits until every recorded body has been read.
async fn leaks(b: &Browser, needle: &str) -> Value {
    b.wait_for(
        "every answer's body to be recorded",
        "return Array.isArray(window.__answers) && window.__reading === 0 \
         && document.body.dataset.busy === '0';",
    )
    .await;
    b.c.execute(
        "const s = arguments[0]; \
         const answers = window.__answers; \
         const out = answers.filter(a => a.text.includes(s)).map(a => 'answer ' + a.url); \
         if (document.documentElement.outerHTML.includes(s)) out.push('html'); \
         if (document.body.innerText.includes(s)) out.push('text'); \
         for (const e of document.querySelectorAll('*')) { \
           if (typeof e.value === 'string' && e.value.includes(s)) out.push('value of ' + (e.dataset.test || e.tagName)); \
           for (const a of e.attributes) if (a.value.includes(s)) out.push('attribute ' + a.name); \
         } \
         for (const st of [localStorage, sessionStorage]) \
           for (let i = 0; i < st.length; i++) if ((st.getItem(st.key(i)) || '').includes(s)) out.push('storage'); \
         return { answers: answers.length, urls: answers.map(a => new URL(a.url).pathname), out };",
        vec![json!(needle)],
    )
    .await
    .expect("leak check")
}

/// (b) A connection made, granted, edited without its value and listed
/// again: its value reaches the granted users' secrets.json and never the
/// browser (no answer, no text, attribute or field holds it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_key_never_comes_back_to_the_browser() {
    let s = server().await;
    let b = Browser::start("a_shared_key_never_comes_back_to_the_browser", &s.base).await;
    b.on_every_page(RECORDER).await;
    open_permissions_tab(&b).await;
    assert_eq!(
        b.js("return Array.isArray(window.__answers) && window.__answers.length > 0;")
            .await,
        json!(true),
        "the recorder runs before the page's own scripts"
    );
    assert!(b.visible(&t("connections-empty")).await);

    // New connection, with the value typed once.
    b.click(&t("connection-new")).await;
    b.wait_dialog("connection-edit").await;
    assert_eq!(
        b.js("const v = document.querySelector('[data-test=\"connection-edit-value\"]'); \
              const k = document.querySelector('[data-test=\"connection-edit-key\"]'); \
              return [v.type, v.getAttribute('autocomplete'), \
                [...k.list.options].map(o => o.value).includes('api_key_custom'), k.list.options.length];")
            .await,
        json!(["password", "off", true, 12])
    );
    b.fill(&t("connection-edit-name"), "House model").await;
    b.fill(&t("connection-edit-key"), "api_key_custom").await;
    b.fill(&t("connection-edit-value"), SECRET).await;
    b.fill(&t("connection-edit-endpoint"), "https://llm.example/v1")
        .await;
    b.fill(&t("connection-edit-models"), "house-7b").await;
    let (kind, text) = confirm_ok(&b, "connection-edit").await;
    assert_eq!(
        (kind.as_str(), text.as_str()),
        (
            "ok",
            "Connection House model created. Grant it to a profile or an account to share it."
        )
    );
    assert_eq!(
        b.count(&t("connection-edit-value")).await,
        0,
        "the field is gone"
    );
    let house = connection_row("House model");
    assert_eq!(
        b.text(&format!("{house} {}", t("connection-key"))).await,
        "api_key_custom"
    );
    assert_eq!(
        b.text(&format!("{house} {}", t("connection-endpoint")))
            .await,
        "https://llm.example/v1"
    );
    assert_eq!(secret_on_disk(&s, "alice", "api_key_custom"), None);

    // Granted to the member profile: alice's and bob's SillyTavern get it,
    // boss (an admin: the admin profile) does not.
    grant(&b, &house, "profile", "member").await;
    let member_chip = format!(
        "{house} {}[data-kind=\"profile\"][data-target=\"member\"]",
        t("connection-grant")
    );
    assert!(b.visible(&member_chip).await);
    for handle in ["alice", "bob"] {
        assert!(
            secret_on_disk(&s, handle, "api_key_custom").as_deref() == Some(SECRET),
            "{handle}'s secrets.json has the shared key"
        );
    }
    assert_eq!(secret_on_disk(&s, "boss", "api_key_custom"), None);

    // Edit without a value: the field starts empty, and the stored key stays.
    b.click(&format!("{house} {}", t("connection-edit"))).await;
    b.wait_dialog("connection-edit").await;
    assert_eq!(
        b.prop(&t("connection-edit-value"), "value").await,
        json!("")
    );
    assert_eq!(
        b.attr(&t("connection-edit-value"), "placeholder")
            .await
            .as_deref(),
        Some("unchanged — type to replace")
    );
    assert_eq!(
        b.prop(&t("connection-edit-name"), "readOnly").await,
        json!(true)
    );
    b.fill(&t("connection-edit-endpoint"), "").await;
    b.fill(&t("connection-edit-models"), "house-7b, house-13b")
        .await;
    b.shot("a_shared_key_never_comes_back_to_the_browser-edit")
        .await;
    let (kind, text) = confirm_ok(&b, "connection-edit").await;
    assert_eq!(
        (kind.as_str(), text.as_str()),
        ("ok", "Connection House model saved; its key is unchanged.")
    );
    assert_eq!(
        b.text(&format!("{house} {}", t("connection-endpoint")))
            .await,
        "SillyTavern's own"
    );
    assert_eq!(
        b.text(&format!("{house} {}", t("connection-models"))).await,
        "house-7b, house-13b"
    );
    assert!(secret_on_disk(&s, "alice", "api_key_custom").as_deref() == Some(SECRET));

    // The list again, then the proof.
    assert_eq!(
        b.act_ok(&t("connections-refresh")).await,
        "Connections updated."
    );
    let seen = leaks(&b, SECRET).await;
    assert_eq!(seen["out"], json!([]), "the value reached the browser");
    // The same check finds what the server does send: the connection's name.
    let control = leaks(&b, "House model").await;
    let found: Vec<&str> = control["out"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        found
            .iter()
            .any(|o| o.starts_with("answer ") && o.ends_with("/api/connections/list"))
            && found.contains(&"text"),
        "{found:?}"
    );
    let lists = seen["urls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| *u == "/api/connections/list")
        .count();
    assert!(lists >= 5, "the recorder saw every list: {}", seen["urls"]);

    // Shared with alice herself too; taken from the member profile, bob
    // loses it and alice keeps it.
    grant(&b, &house, "user", "alice").await;
    let text = b
        .act_ok(&format!("{member_chip} {}", t("connection-revoke")))
        .await;
    assert_eq!(text, "House model is no longer shared with profile member.");
    assert_eq!(b.count(&member_chip).await, 0);
    assert_eq!(secret_on_disk(&s, "bob", "api_key_custom"), None);
    assert!(secret_on_disk(&s, "alice", "api_key_custom").as_deref() == Some(SECRET));
    scroll_to(&b, &t("connections-card")).await;
    b.shot_test().await;
    assert_eq!(leaks(&b, SECRET).await["out"], json!([]));

    // alice's page names the connection, never its value.
    switch_to(&b, "alice", "pw-alice").await;
    b.open_view("account").await;
    assert_eq!(
        b.text(&t("permissions-shared")).await,
        "Shared with you: House model (api_key_custom)"
    );
    assert!(b.visible(&t("permissions-shared-note")).await);
    let seen = leaks(&b, SECRET).await;
    assert_eq!(seen["out"], json!([]), "the value reached alice's browser");
    assert!(
        seen["urls"]
            .as_array()
            .unwrap()
            .contains(&json!("/api/permissions/me")),
        "{}",
        seen["urls"]
    );
    b.close().await;
    s.stop().await;
}

/// (c) Deleting a profile of one's own asks first, then removes it (its
/// account goes back to the default); built-in ones have no Delete. A
/// connection is deleted the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_profile_asks_then_removes_it() {
    let s = server().await;
    admin_api(
        &s,
        "/api/permissions/profiles/save",
        json!({ "name": "night-shift", "allow": ["generate"], "perHour": 3, "perDay": null, "atOnce": null }),
    )
    .await;
    admin_api(
        &s,
        "/api/permissions/users/set",
        json!({ "handle": "alice", "profile": "night-shift", "perHour": null, "perDay": null, "atOnce": null }),
    )
    .await;
    admin_api(
        &s,
        "/api/connections/save",
        json!({ "name": "Spare", "secretKey": "api_key_openai", "value": "sk-spare-1" }),
    )
    .await;
    let b = Browser::start("deleting_a_profile_asks_then_removes_it", &s.base).await;
    open_permissions_tab(&b).await;

    let night = profile_row("night-shift");
    assert_eq!(b.attr(&night, "data-builtin").await.as_deref(), Some("0"));
    assert_eq!(
        b.text(&format!("{night} {}", t("profile-limits"))).await,
        "3 per hour"
    );
    assert_eq!(
        b.text(&format!("{night} {}", t("profile-count"))).await,
        "1 account"
    );
    for builtin in ["admin", "member", "guest"] {
        assert_eq!(
            b.count(&format!("{} {}", profile_row(builtin), t("profile-delete")))
                .await,
            0,
            "{builtin} cannot be deleted"
        );
        assert_eq!(
            b.attr(&profile_row(builtin), "data-builtin")
                .await
                .as_deref(),
            Some("1")
        );
    }

    // The name is checked before anything is sent.
    b.click(&t("profile-new")).await;
    b.wait_dialog("profile-edit").await;
    b.fill(&t("profile-edit-name"), "Night Shift").await;
    b.click(&t("confirm-ok")).await;
    b.wait_visible(&t("dialog-error")).await;
    assert_eq!(
        b.text(&t("dialog-error")).await,
        "A profile name is 1 to 32 of a–z, 0–9, - and _, starting with a letter."
    );
    b.fill(&t("profile-edit-name"), "night-shift").await;
    b.click(&t("confirm-ok")).await;
    b.wait_for(
        "the dialog to say the name is taken",
        "const e = document.querySelector('[data-test=\"dialog-error\"]'); \
         return !!e && e.textContent === 'There is a profile night-shift already.';",
    )
    .await;
    let before = b.seq().await;
    b.click(&t("confirm-cancel")).await;
    assert_eq!(b.status_after(before).await.text, "No profile created.");

    // Cancelled: nothing happens.
    b.click(&format!("{night} {}", t("profile-delete"))).await;
    b.wait_dialog("profile-delete").await;
    let message = b.text(&t("confirm-dialog")).await;
    assert!(
        message.contains("alice has it and will get the default profile, member."),
        "{message}"
    );
    let before = b.seq().await;
    b.click(&t("confirm-cancel")).await;
    let st = b.status_after(before).await;
    assert_eq!(
        (st.kind.as_str(), st.text.as_str()),
        ("info", "Profile night-shift was kept.")
    );
    assert_eq!(b.count(&night).await, 1);

    // Confirmed: gone, and alice has the default again.
    b.click(&format!("{night} {}", t("profile-delete"))).await;
    let (kind, text) = confirm_ok(&b, "profile-delete").await;
    assert_eq!(
        (kind.as_str(), text.as_str()),
        ("ok", "Profile night-shift deleted.")
    );
    assert_eq!(b.count(&night).await, 0);
    let profiles = admin_api(&s, "/api/permissions/profiles", json!({})).await;
    assert!(!profiles["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "night-shift"));
    let alice = permissions_of(&s, "alice").await;
    assert_eq!(
        (alice["chosen"].clone(), alice["profile"].clone()),
        (Value::Null, json!("member"))
    );

    // A connection: Delete asks too.
    let spare = connection_row("Spare");
    b.click(&format!("{spare} {}", t("connection-delete")))
        .await;
    let (kind, text) = confirm_ok(&b, "connection-delete").await;
    assert_eq!(
        (kind.as_str(), text.as_str()),
        ("ok", "Connection Spare deleted.")
    );
    assert_eq!(b.count(&spare).await, 0);
    assert!(b.visible(&t("connections-empty")).await);

    // The audit log says it in words.
    b.admin_tab("audit").await;
    let first = "[data-test=\"audit-row\"]:first-child";
    assert_eq!(
        b.attr(first, "data-action").await.as_deref(),
        Some("connection.delete")
    );
    let deleted = format!(
        "[data-test=\"audit-row\"][data-action=\"profile.delete\"] {}",
        t("audit-action")
    );
    assert_eq!(b.text(&deleted).await, "Deleted a permission profile");
    b.shot_test().await;
    b.close().await;
    s.stop().await;
}

/// Grants the connection in the row `row` to a profile or user (`kind`)
/// through the Grant… dialog; the status says so.
async fn grant(b: &Browser, row: &str, kind: &str, target: &str) {
    b.click(&format!("{row} {}", t("connection-grant-add")))
        .await;
    b.wait_dialog("connection-grant").await;
    b.find(&t(&format!("connection-grant-{kind}")))
        .await
        .select_by_value(target)
        .await
        .unwrap_or_else(|e| panic!("choose {target}: {e}"));
    let (status, text) = confirm_ok(b, "connection-grant").await;
    assert_eq!(
        (status.as_str(), text.as_str()),
        (
            "ok",
            format!("House model is shared with {kind} {target}.").as_str()
        )
    );
}

/// `handle`'s row of the admin's permissions overview.
async fn permissions_of(s: &Server, handle: &str) -> Value {
    let users = admin_api(s, "/api/permissions/users", json!({})).await;
    users
        .as_array()
        .expect("a list")
        .iter()
        .find(|u| u["handle"] == handle)
        .unwrap_or_else(|| panic!("{handle} is not in {users}"))
        .clone()
}
