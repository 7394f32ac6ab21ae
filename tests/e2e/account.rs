//! The account view: name, picture, password, snapshots, backup and the
//! settings reset.

use base64::Engine;
use innkeeper::app::Actor;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::Server;
use crate::support::{login_list, png, png_size, t, zip_names, Browser};

fn snapshot_rows() -> String {
    t("snapshot-row")
}

/// The settings.json of `handle` as JSON, read from disk.
fn settings_on_disk(s: &Server, handle: &str) -> Value {
    let text =
        std::fs::read_to_string(s.user_dir(handle).join("settings.json")).expect("settings.json");
    serde_json::from_str(&text).expect("settings.json is JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_name_avatar_and_password() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let b = Browser::start("change_name_avatar_and_password", &s.base).await;
    login_list(&b, "alice", Some("pw-alice")).await;
    b.open_view("account").await;
    assert_eq!(b.text(&t("account-handle")).await, "alice");
    assert_eq!(
        b.attr(&t("account-role"), "data-role").await.as_deref(),
        Some("user")
    );

    // Name: edited in place, saved, shown in the header.
    b.fill(&t("account-name"), "Alice Liddell").await;
    let msg = b.act_ok(&t("account-name-save")).await;
    assert_eq!(msg, "Display name saved.");
    assert_eq!(b.text(&t("header-name")).await, "Alice Liddell");
    let row = s.user_row("alice").await.unwrap();
    assert_eq!(row.name, "Alice Liddell");

    // Picture: a 90×60 PNG through the file input, cropped to a square.
    assert!(!b.visible(&t("avatar-cropper")).await);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wide.png");
    std::fs::write(&file, png(90, 60)).unwrap();
    let before = b.seq().await;
    b.find(&t("avatar-file"))
        .await
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    let st = b.status_after(before).await;
    assert_eq!(st.kind, "ok", "{st:?}");
    assert!(b.visible(&t("avatar-cropper")).await);
    assert!(b.visible(&t("avatar-preview")).await);
    // Move the square with the keyboard, as the crop canvas allows.
    b.find(&t("avatar-crop"))
        .await
        .send_keys("\u{e014}\u{e014}")
        .await
        .expect("arrow keys on the crop");
    let msg = b.act_ok(&t("avatar-save")).await;
    assert_eq!(msg, "Your picture was saved.");
    assert!(!b.visible(&t("avatar-cropper")).await);

    let me = b.me().await;
    let avatar = me["avatar"].as_str().unwrap().to_string();
    // The account lists carry a URL of the picture (SPEC §6); the picture
    // itself is stored as the cropped PNG.
    assert!(avatar.starts_with("/avatars/alice?v="), "{avatar}");
    let stored = s.user_row("alice").await.unwrap().avatar.unwrap();
    let b64 = stored
        .strip_prefix("data:image/png;base64,")
        .unwrap_or_else(|| panic!("a PNG data URL, got {}", &stored[..stored.len().min(40)]));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert_eq!(png_size(&bytes), (60, 60), "cropped to the largest square");
    let absolute = format!("{}{avatar}", s.base);
    assert_eq!(b.prop(&t("header-avatar"), "src").await, json!(absolute));
    assert_eq!(b.prop(&t("account-avatar"), "src").await, json!(absolute));

    // Password: change it, log out, and in with the new one.
    assert_eq!(
        b.attr(&t("password-state"), "data-state").await.as_deref(),
        Some("locked")
    );
    b.fill(&t("password-old"), "pw-alice").await;
    b.fill(&t("password-new"), "pw-changed").await;
    b.fill(&t("password-new-confirm"), "pw-changed").await;
    let msg = b.act_ok(&t("password-save")).await;
    assert!(msg.starts_with("Password changed."), "{msg}");
    b.shot_test().await;

    b.click(&t("logout")).await;
    b.wait_login_page().await;
    let mut c = s.client();
    let (status, _) = c
        .post(
            "/api/users/login",
            json!({ "handle": "alice", "password": "pw-alice" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the old password is gone");
    login_list(&b, "alice", Some("pw-changed")).await;
    assert_eq!(b.text(&t("header-name")).await, "Alice Liddell");
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_view_and_restore_a_snapshot() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let mut c = s.login("alice", "pw-alice").await;
    // The first save is snapshotted automatically; the second is not (too soon).
    for marker in ["first", "second"] {
        let (status, body) = c
            .post("/api/settings/save", json!({ "marker": marker }))
            .await;
        assert!(status.is_success(), "{body}");
    }

    let b = Browser::start("create_view_and_restore_a_snapshot", &s.base).await;
    login_list(&b, "alice", Some("pw-alice")).await;
    b.open_view("account").await;
    assert_eq!(b.count(&snapshot_rows()).await, 1);
    let first = b
        .attr(&snapshot_rows(), "data-name")
        .await
        .expect("a snapshot name");
    assert!(first.starts_with("settings_alice_"), "{first}");

    let msg = b.act_ok(&t("snapshot-create")).await;
    assert_eq!(msg, "Snapshot taken.");
    assert_eq!(b.count(&snapshot_rows()).await, 2);
    let newest = b.attr(&snapshot_rows(), "data-name").await.unwrap();
    assert_ne!(newest, first, "newest first");
    // Nothing changed since: the server keeps no second copy, and says so.
    let msg = b.act_ok(&t("snapshot-create")).await;
    assert!(msg.contains("nothing new"), "{msg}");
    assert_eq!(b.count(&snapshot_rows()).await, 2);

    // The settings change afterwards (as SillyTavern would save them).
    let (status, _) = c
        .post("/api/settings/save", json!({ "marker": "third" }))
        .await;
    assert!(status.is_success());

    // View: the content of the older snapshot, pretty-printed.
    let view = format!("{}[data-name=\"{first}\"]", t("snapshot-view"));
    b.act_ok(&view).await;
    assert!(b.visible(&t("snapshot-viewer")).await);
    assert_eq!(
        b.attr(&t("snapshot-viewer"), "data-name").await,
        Some(first.clone())
    );
    let content = b.text(&t("snapshot-content")).await;
    assert!(content.contains("\"marker\": \"first\""), "{content}");

    // Restore asks first; cancelling changes nothing.
    let restore = format!("{}[data-name=\"{first}\"]", t("snapshot-restore"));
    let before = b.seq().await;
    b.click(&restore).await;
    b.wait_dialog("snapshot-restore").await;
    b.click(&t("confirm-cancel")).await;
    let st = b.status_after(before).await;
    assert_eq!(
        (st.kind.as_str(), st.text.as_str()),
        ("info", "Nothing restored.")
    );
    assert_eq!(b.count(&t("confirm-dialog")).await, 0);
    assert_eq!(settings_on_disk(&s, "alice")["marker"], "third");

    let before = b.seq().await;
    b.click(&restore).await;
    b.confirm("snapshot-restore").await;
    let st = b.status_after(before).await;
    assert_eq!(st.kind, "ok", "{st:?}");
    assert!(st.text.starts_with("Settings restored"), "{st:?}");
    assert_eq!(settings_on_disk(&s, "alice")["marker"], "first");
    // The settings of the moment ("third") were kept as one more snapshot first.
    assert_eq!(b.count(&snapshot_rows()).await, 3);
    b.shot_test().await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_a_backup() {
    let s = Server::start().await;
    s.create_user("alice", None, false).await;
    let b = Browser::start("download_a_backup", &s.base).await;
    login_list(&b, "alice", None).await;
    b.open_view("account").await;

    let msg = b.act_ok(&t("backup-download")).await;
    assert!(msg.starts_with("Backup downloaded: alice-"), "{msg}");
    assert_eq!(
        b.attr(&t("backup-status"), "data-state").await.as_deref(),
        Some("done")
    );
    let bytes: u64 = b
        .attr(&t("backup-status"), "data-bytes")
        .await
        .unwrap()
        .parse()
        .unwrap();

    let zip = b.wait_download("alice-", ".zip").await;
    assert_eq!(std::fs::metadata(&zip).unwrap().len(), bytes);
    let names = zip_names(&zip);
    assert!(
        names
            .iter()
            .any(|n| n == "settings.json" || n.ends_with("/settings.json")),
        "{names:?}"
    );
    b.shot_test().await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_settings_with_password_confirmation() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let mut c = s.login("alice", "pw-alice").await;
    let (status, _) = c
        .post("/api/settings/save", json!({ "marker": "custom" }))
        .await;
    assert!(status.is_success());

    let b = Browser::start("reset_settings_with_password_confirmation", &s.base).await;
    login_list(&b, "alice", Some("pw-alice")).await;
    b.open_view("account").await;
    assert!(b.visible(&t("reset-settings-password")).await);

    // No password: a client-side check, no dialog.
    let st = b.act(&t("reset-settings-submit")).await;
    assert_eq!(st.kind, "error");
    assert_eq!(
        b.text(&t("reset-settings-error")).await,
        "Enter your password to confirm."
    );
    assert_eq!(b.count(&t("confirm-dialog")).await, 0);

    // A wrong password: the server says so, inline, before any dialog.
    b.fill(&t("reset-settings-password"), "not-it").await;
    let st = b.act(&t("reset-settings-submit")).await;
    assert_eq!(st.kind, "error");
    assert_eq!(b.count(&t("confirm-dialog")).await, 0);
    assert_eq!(
        b.text(&t("reset-settings-error")).await,
        "Incorrect password"
    );
    assert_eq!(settings_on_disk(&s, "alice")["marker"], "custom");

    b.fill(&t("reset-settings-password"), "pw-alice").await;
    let before = b.seq().await;
    b.click(&t("reset-settings-submit")).await;
    b.confirm("reset-settings").await;
    let st = b.status_after(before).await;
    assert_eq!(st.kind, "ok", "{st:?}");
    assert!(!b.visible(&t("reset-settings-error")).await);
    assert!(
        settings_on_disk(&s, "alice").get("marker").is_none(),
        "back to the defaults"
    );
    b.shot_test().await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_everything_with_the_console_code() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let marker = s.user_dir("alice").join("characters").join("keep-me.txt");
    std::fs::write(&marker, "a file of alice").unwrap();

    let b = Browser::start("reset_everything_with_the_console_code", &s.base).await;
    login_list(&b, "alice", Some("pw-alice")).await;
    b.open_view("account").await;
    assert_eq!(
        b.attr(&t("reset-all-hint"), "data-state").await.as_deref(),
        Some("idle")
    );
    b.act_ok(&t("reset-all-request")).await;
    assert_eq!(
        b.attr(&t("reset-all-hint"), "data-state").await.as_deref(),
        Some("sent")
    );
    let code = s.last_code("Account reset code:", "alice");

    b.fill(&t("reset-all-code"), &code).await;
    b.fill(&t("reset-all-password"), "pw-alice").await;
    let before = b.seq().await;
    b.click(&t("reset-all-submit")).await;
    b.confirm("reset-all").await;
    let st = b.status_after(before).await;
    assert_eq!(st.kind, "ok", "{st:?}");
    assert!(!marker.exists(), "the data folder was wiped");
    assert!(
        s.user_dir("alice").join("settings.json").is_file(),
        "and created again"
    );
    b.shot_test().await;
    b.close().await;
    s.stop().await;
}

/// Scrolls the page so the top of `css` sits `offset` px from the top of
/// the viewport (under the sticky header), focuses it, and returns how far
/// below the header's bottom edge it ended up (negative: hidden under it).
async fn focus_near_top(b: &Browser, css: &str, offset: i64) -> f64 {
    let script = format!(
        "const el = document.querySelector({css:?}); \
         el.blur(); \
         const top = el.getBoundingClientRect().top + window.scrollY; \
         window.scrollTo(0, top - {offset}); \
         el.focus(); \
         const header = document.getElementById('topbar').getBoundingClientRect(); \
         return el.getBoundingClientRect().top - header.bottom;"
    );
    b.js(&script).await.as_f64().expect("a number")
}

/// Issue 14, point 4: focus never lands under the sticky header, at
/// 1280 px and at 390 px (where the header wraps), and the "session ended"
/// banner stays in view and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn focus_is_never_hidden_and_the_session_end_says_why() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let b = Browser::start(
        "focus_is_never_hidden_and_the_session_end_says_why",
        &s.base,
    )
    .await;
    login_list(&b, "alice", Some("pw-alice")).await;
    b.open_view("account").await;
    for width in [1280, 390] {
        b.viewport(width, 700).await;
        let gap = focus_near_top(&b, &t("password-new"), 10).await;
        assert!(
            gap >= 0.0,
            "{width} px: the field is {gap} px under the header"
        );
    }
    // The admin disables alice; her next action shows why it failed.
    s.app
        .accounts()
        .set_enabled(&innkeeper::app::Actor::console(), "alice", false)
        .await
        .unwrap();
    b.click(&t("snapshot-refresh")).await;
    b.wait_visible(&t("session-ended")).await;
    assert_eq!(
        b.text(&t("session-ended-text")).await,
        "Your session has ended: your account was disabled."
    );
    let in_view = "const r = document.querySelector('[data-test=\"session-ended\"]').getBoundingClientRect(); \
                   return r.top >= 0 && r.bottom <= window.innerHeight;";
    b.js("window.scrollTo(0, document.body.scrollHeight);")
        .await;
    assert_eq!(b.js(in_view).await, json!(true), "the banner stays in view");
    b.close().await;
    s.stop().await;
}

/// Issue 14, point 10: the small things. Paragraphs in a dialog keep their
/// spacing; settings files are written with one indentation (four spaces,
/// as SillyTavern and the editor use); a wrong password for the settings
/// reset is said before "are you sure?"; leaving with unsaved settings edits
/// asks first; `passwords.minLength` is enforced with a clear message and
/// new-password fields show a strength hint. (The HTML 404 page is
/// `login::unknown_pages_answer_with_a_page`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_small_things() {
    let s = Server::start_with(|c| c.passwords.min_length = 8).await;
    s.create_user("alice", Some("pw-alice-1"), true).await;
    s.create_user("bob", Some("pw-bob-12"), false).await;
    let b = Browser::start("the_small_things", &s.base).await;
    login_list(&b, "alice", Some("pw-alice-1")).await;

    // One JSON indentation: a save from the editor is written with four spaces.
    b.wait_visible(&t("settings-editor")).await;
    b.fill(&t("settings-editor"), r#"{"a":{"b":1}}"#).await;
    assert_eq!(
        b.js(
            "const e = new Event('beforeunload', { cancelable: true }); \
             window.dispatchEvent(e); return e.defaultPrevented;"
        )
        .await,
        json!(true),
        "unsaved edits ask before the page is left"
    );
    b.act_ok(&t("settings-save")).await;
    let text = std::fs::read_to_string(s.user_dir("alice").join("settings.json")).unwrap();
    assert_eq!(text, "{\n    \"a\": {\n        \"b\": 1\n    }\n}\n");
    assert_eq!(
        b.js(
            "const e = new Event('beforeunload', { cancelable: true }); \
             window.dispatchEvent(e); return e.defaultPrevented;"
        )
        .await,
        json!(false),
        "nothing unsaved: leaving does not ask"
    );

    // The settings reset checks the password first.
    b.open_view("account").await;
    b.fill(&t("reset-settings-password"), "not-it").await;
    let st = b.act(&t("reset-settings-submit")).await;
    assert_eq!(st.kind, "error");
    assert_eq!(st.text, "Incorrect password");
    assert_eq!(
        b.count(&t("confirm-dialog")).await,
        0,
        "no dialog for a wrong password"
    );
    b.fill(&t("reset-settings-password"), "pw-alice-1").await;
    b.click(&t("reset-settings-submit")).await;
    b.wait_dialog("reset-settings").await;
    b.click(&t("confirm-cancel")).await;

    // The strength hint, and the minimum length.
    b.fill(&t("password-new"), "abc").await;
    assert_eq!(
        b.text(&t("password-new-strength")).await,
        "Too short: at least 8 characters."
    );
    b.fill(&t("password-new"), "Correct-Horse-42").await;
    assert_eq!(
        b.text(&t("password-new-strength")).await,
        "Strength: strong."
    );
    b.open_view("admin").await;
    b.admin_tab("create").await;
    b.fill(&t("admin-create-name"), "Cleo").await;
    b.fill(&t("admin-create-password"), "short").await;
    b.fill(&t("admin-create-password-confirm"), "short").await;
    let st = b.act(&t("admin-create-submit")).await;
    assert_eq!(st.kind, "error");
    assert_eq!(st.text, "Passwords must be at least 8 characters long.");
    assert!(s.user_row("cleo").await.is_none());

    // Paragraphs in a dialog are spaced.
    b.admin_tab("accounts").await;
    b.choose_in_row("bob", "admin-delete").await;
    b.wait_dialog("admin-delete").await;
    let gap = b
        .js(
            "const ps = document.querySelectorAll('[data-test=\"confirm-dialog\"] .dialog-body p'); \
             return ps[1].getBoundingClientRect().top - ps[0].getBoundingClientRect().bottom;",
        )
        .await;
    assert!(gap.as_f64().unwrap() >= 8.0, "gap {gap}");
    b.click(&t("confirm-cancel")).await;
    b.close().await;
    s.stop().await;
}

/// Chooses `file` for the file input `css` and returns the status it leaves.
async fn choose_file(b: &Browser, css: &str, file: &std::path::Path) -> crate::support::Status {
    let before = b.seq().await;
    b.find(css)
        .await
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    b.status_after(before).await
}

/// Waits until the `<img>` at `css` has loaded and returns its URL.
async fn loaded_picture(b: &Browser, css: &str) -> String {
    let script = format!(
        "const i = document.querySelector({}); return !!i && i.complete && i.naturalWidth > 0 && i.src;",
        serde_json::json!(css)
    );
    b.wait_for(&format!("{css} loaded"), &script)
        .await
        .as_str()
        .unwrap()
        .to_string()
}

/// Issue 14, point 6: the account page says where the picture comes from,
/// offers "Remove picture" only for an uploaded one, and lets a persona
/// picture be chosen from User Avatars/; disabled accounts keep their
/// picture in the admin list; admins change other people's names and pictures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avatars_say_where_they_come_from() {
    let s = Server::start().await;
    s.create_user("boss", Some("pw-boss"), true).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let personas = s.user_dir("alice").join("User Avatars");
    std::fs::write(personas.join("me.png"), png(16, 16)).unwrap();
    std::fs::write(personas.join("other.png"), png(20, 20)).unwrap();
    std::fs::write(personas.join("notes.txt"), "not a picture").unwrap();
    let b = Browser::start("avatars_say_where_they_come_from", &s.base).await;
    login_list(&b, "alice", Some("pw-alice")).await;
    b.open_view("account").await;

    // The default picture: said so, nothing to remove, two persona pictures offered.
    let source = t("account-avatar-source");
    assert_eq!(
        b.attr(&source, "data-source").await.as_deref(),
        Some("default")
    );
    assert!(b.text(&source).await.starts_with("The default picture"));
    assert!(!b.visible(&t("avatar-remove")).await);
    let files = b
        .js("return [...document.querySelectorAll('[data-test=\"persona-option\"]')].map(o => o.dataset.file);")
        .await;
    assert_eq!(files, json!(["me.png", "other.png"]));

    // Choosing a persona picture: no JSON to edit.
    let option = format!("{}[data-file=\"other.png\"]", t("persona-option"));
    let msg = b.act_ok(&option).await;
    assert_eq!(msg, "Your picture is now the persona picture other.png.");
    b.wait_attr(&source, "data-source", "persona").await;
    assert!(b.text(&source).await.contains("other.png"));
    assert!(
        !b.visible(&t("avatar-remove")).await,
        "nothing uploaded to remove"
    );
    assert_eq!(
        b.attr(&option, "aria-pressed").await.as_deref(),
        Some("true")
    );
    let settings: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(s.user_dir("alice").join("settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(settings["user_avatar"], "other.png");
    assert_eq!(
        s.user_row("alice").await.unwrap().persona_avatar.as_deref(),
        Some("other.png")
    );

    // An uploaded picture: "custom", and now it can be removed.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("square.png");
    std::fs::write(&file, png(64, 64)).unwrap();
    assert_eq!(choose_file(&b, &t("avatar-file"), &file).await.kind, "ok");
    b.act_ok(&t("avatar-save")).await;
    b.wait_attr(&source, "data-source", "custom").await;
    assert!(b.visible(&t("avatar-remove")).await);
    b.act_ok(&t("avatar-remove")).await;
    b.wait_attr(&source, "data-source", "persona").await;
    assert!(!b.visible(&t("avatar-remove")).await);
    b.shot_test().await;

    // The admin: alice disabled still has her picture in the list.
    s.app
        .accounts()
        .set_enabled(&Actor::console(), "alice", false)
        .await
        .unwrap();
    b.goto("/login").await;
    b.wait_login_page().await;
    login_list(&b, "boss", Some("pw-boss")).await;
    b.open_view("admin").await;
    let picture = loaded_picture(&b, &crate::support::in_row("alice", "admin-user-avatar")).await;
    assert!(picture.contains("/avatars/alice"), "{picture}");

    // …and changes her name and picture.
    b.choose_in_row("alice", "admin-edit").await;
    b.wait_dialog("admin-profile").await;
    assert_eq!(
        b.attr(&t("admin-profile-avatar-source"), "data-source")
            .await
            .as_deref(),
        Some("persona")
    );
    b.fill(&t("admin-profile-name"), "Alice Liddell").await;
    assert_eq!(
        choose_file(&b, &t("admin-profile-avatar-file"), &file)
            .await
            .kind,
        "ok"
    );
    let before = b.seq().await;
    b.click(&format!(
        "{} {}",
        "[data-dialog=\"admin-profile\"]",
        t("confirm-ok")
    ))
    .await;
    let st = b.status_after(before).await;
    assert_eq!(st.text, "Saved the name and picture of alice.");
    let row = s.user_row("alice").await.unwrap();
    assert_eq!(row.name, "Alice Liddell");
    assert!(row.avatar_tag.is_some(), "an uploaded picture");
    assert_eq!(
        b.text(&crate::support::in_row("alice", "admin-user-name"))
            .await,
        "Alice Liddell"
    );
    b.close().await;
    s.stop().await;
}

/// Scripts the page loaded whose path ends with `name`.
async fn loaded_scripts(b: &Browser, name: &str) -> u64 {
    b.js(&format!(
        "return performance.getEntriesByType('resource')\
           .filter((e) => new URL(e.name).pathname.endsWith('/{name}')).length;"
    ))
    .await
    .as_u64()
    .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_module_loads_only_for_admins() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw"), true).await;
    s.create_user("bob", Some("pw"), false).await;
    let (admin, user) =
        Browser::start_two("admin_module_admin", "admin_module_user", &s.base).await;
    login_list(&user, "bob", Some("pw")).await;
    user.open_view("account").await;
    assert_eq!(
        loaded_scripts(&user, "app.js").await,
        1,
        "the check sees scripts"
    );
    assert_eq!(loaded_scripts(&user, "admin.js").await, 0);
    assert_eq!(user.count(&t("nav-admin")).await, 0);
    login_list(&admin, "alice", Some("pw")).await;
    admin.open_view("admin").await;
    assert_eq!(loaded_scripts(&admin, "admin.js").await, 1);
    admin.close().await;
    user.close().await;
    s.stop().await;
}
