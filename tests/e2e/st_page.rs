//! Driving SillyTavern 1.12.6's own page, as served through Innkeeper.
//!
//! Selectors are SillyTavern's own (public/index.html and its templates):
//! the character list `#rm_print_characters_block .character_select`, the
//! User Settings drawer `#user-settings-button`, its `#account_controls`
//! (`#account_button`, and `#innkeeper_button` that st-bridge.js adds), and
//! its popups `dialog.popup[open]` with `.popup-button-ok`. Every wait is
//! bounded; a boot gets [`BOOT`] because one page load makes ~300 requests.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::Browser;

/// How long SillyTavern's page may take to boot (its process may be
/// starting too).
pub const BOOT: Duration = Duration::from_secs(90);
const STEP: Duration = Duration::from_millis(100);

/// What the page shows at this moment.
const STATE: &str = "
    const open = document.querySelector('dialog.popup[open]');
    return {
      path: location.pathname,
      title: document.title,
      onboarding: !!document.querySelector('dialog.popup[open] .onboarding'),
      ready: document.readyState === 'complete' && document.title === 'SillyTavern'
        && !document.getElementById('preloader') && !open
        && document.querySelectorAll('#rm_print_characters_block .character_select').length > 0,
    };";

/// How a boot went.
#[derive(Debug, Default)]
pub struct Boot {
    /// SillyTavern asked for a persona name (its first-run onboarding).
    pub onboarding: bool,
}

/// Waits until SillyTavern's page has booted: no loader, no popup, and the
/// character list rendered. On a first run SillyTavern asks for a persona
/// name; this answers `persona` as a person would (type it, press Save).
pub async fn boot(b: &Browser, persona: &str) -> Boot {
    let deadline = Instant::now() + BOOT;
    let mut seen = Boot::default();
    loop {
        // While a page (re)loads, a script may fail: that counts as "not yet".
        let state = b.c.execute(STATE, vec![]).await.unwrap_or(Value::Null);
        if state["ready"] == true {
            return seen;
        }
        if state["onboarding"] == true && !seen.onboarding {
            seen.onboarding = true;
            let popup = "dialog.popup[open]:has(.onboarding)";
            b.fill(&format!("{popup} .popup-input"), persona).await;
            b.click(&format!("{popup} .popup-button-ok")).await;
        }
        if Instant::now() >= deadline {
            b.shot("sillytavern-boot-timeout").await;
            panic!("SillyTavern's page did not boot within {BOOT:?}; last state: {state}");
        }
        tokio::time::sleep(STEP).await;
    }
}

/// The names in SillyTavern's character list, sorted.
pub async fn character_names(b: &Browser) -> Vec<String> {
    let v = b
        .js("return [...document.querySelectorAll(\
             '#rm_print_characters_block .character_select .ch_name')]\
             .map(e => e.textContent.trim());")
        .await;
    names(&v)
}

fn names(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("a list of names, got {v}"))
        .iter()
        .map(|n| n.as_str().unwrap_or_default().to_string())
        .collect();
    out.sort();
    out
}

/// Creates a character with SillyTavern's own form (the multipart upload
/// goes through Innkeeper's proxy) and waits until the list shows it.
pub async fn create_character(b: &Browser, name: &str, description: &str, greeting: &str) {
    if !b.visible("#rm_button_create").await {
        // The character panel is a drawer; open it from the top bar.
        b.click("#unimportantYes").await;
        b.wait_visible("#rm_button_create").await;
    }
    b.click("#rm_button_create").await;
    b.wait_visible("#character_name_pole").await;
    b.fill("#character_name_pole", name).await;
    b.fill("#description_textarea", description).await;
    b.fill("#firstmessage_textarea", greeting).await;
    b.click("#create_button_label").await;
    let script = format!(
        "return [...document.querySelectorAll(\
         '#rm_print_characters_block .character_select .ch_name')]\
         .some(e => e.textContent.trim() === {});",
        json!(name)
    );
    b.wait_for_within(&format!("{name} in the character list"), &script, BOOT)
        .await;
}

/// Answer of a request made by the page itself (its cookies, its origin).
#[derive(Debug)]
pub struct PageAnswer {
    pub status: u64,
    pub body: Value,
}

/// `fetch()` from inside the page: a GET, or a POST of JSON with the
/// CSRF token of `/csrf-token`, as SillyTavern's own frontend sends it.
pub async fn page_fetch(b: &Browser, method: &str, path: &str, body: Option<Value>) -> PageAnswer {
    let v =
        b.c.execute(
            "const [method, path, body] = arguments;
             const init = { method, credentials: 'same-origin', cache: 'no-store', headers: {} };
             const go = async () => {
               if (method !== 'GET') {
                 const t = await (await fetch('/csrf-token', { cache: 'no-store' })).json();
                 init.headers['X-CSRF-Token'] = t.token;
                 init.headers['Content-Type'] = 'application/json';
                 init.body = JSON.stringify(body ?? {});
               }
               const r = await fetch(path, init);
               const text = await r.text();
               let parsed = text;
               try { parsed = JSON.parse(text); } catch { /* not JSON */ }
               return { status: r.status, body: parsed };
             };
             return go();",
            vec![json!(method), json!(path), body.unwrap_or(Value::Null)],
        )
        .await
        .unwrap_or_else(|e| panic!("fetch {path} from the page: {e}"));
    PageAnswer {
        status: v["status"].as_u64().unwrap_or(0),
        body: v["body"].clone(),
    }
}

/// The character names SillyTavern's API gives this page's user, sorted.
pub async fn api_character_names(b: &Browser) -> Vec<String> {
    let a = page_fetch(b, "POST", "/api/characters/all", Some(json!({}))).await;
    assert_eq!(a.status, 200, "characters/all from the page: {:?}", a.body);
    let list: Vec<Value> = a
        .body
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", a.body))
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    names(&Value::Array(list))
}

/// Opens SillyTavern's User Settings drawer (top bar) so its account
/// buttons show.
pub async fn open_user_settings(b: &Browser) {
    if !b.visible("#account_controls").await {
        b.click("#user-settings-button .drawer-toggle").await;
    }
    b.wait_visible("#account_button").await;
}

/// Shows the character list in the Character Management panel and pins the
/// panel open (SillyTavern's lock), so it stays beside other drawers.
pub async fn pin_character_list(b: &Browser) {
    if !b.visible("#rm_button_characters").await {
        b.click("#unimportantYes").await;
    }
    b.click("#rm_button_characters").await;
    b.wait_visible("#rm_print_characters_block .character_select")
        .await;
    if b.prop("#rm_button_panel_pin", "checked").await != json!(true) {
        b.click("label[for=\"rm_button_panel_pin\"]").await;
    }
    b.wait_for(
        "the character panel to be pinned",
        "return document.getElementById('rm_button_panel_pin').checked;",
    )
    .await;
}

/// Removes SillyTavern's toast messages (they fade by themselves; for a
/// clean screenshot).
pub async fn clear_toasts(b: &Browser) {
    b.js("document.querySelectorAll('#toast-container .toast').forEach(t => t.remove()); return true;")
        .await;
}

/// Waits for a SillyTavern toast whose text contains `text`.
pub async fn wait_toast(b: &Browser, text: &str) {
    let script = format!(
        "return [...document.querySelectorAll('#toast-container .toast')]\
         .some(t => t.textContent.includes({}));",
        json!(text)
    );
    b.wait_for(&format!("a SillyTavern message {text:?}"), &script)
        .await;
}
