//! A real headless Chromium per test, driven over WebDriver (fantoccini).
//!
//! Each `Browser` starts its own `chromedriver` on a port the system picks,
//! with its own profile and download folder, and kills that driver's process
//! group (the driver and the Chromium it started) when dropped, so a failed
//! test leaves nothing running. At most two browsers run at once.
//!
//! Waiting follows web/TESTING.md: `body[data-busy]` is "0" when the page is
//! idle, and every finished action bumps `[data-test=status][data-seq]`.
//! Every wait is a bounded poll; nothing relies on a fixed sleep.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::sync::{Semaphore, SemaphorePermit};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "chromedriver";
/// The longest any single wait may take.
pub const WAIT: Duration = Duration::from_secs(10);
const STEP: Duration = Duration::from_millis(50);

/// Caps concurrent browsers (CI has two cores).
static BROWSERS: Semaphore = Semaphore::const_new(2);

/// `[data-test="name"]`.
pub fn t(name: &str) -> String {
    format!("[data-test=\"{name}\"]")
}

/// A per-row hook scoped to the row of `handle`, e.g. `row("alice", "admin-disable")`.
pub fn in_row(handle: &str, name: &str) -> String {
    format!("[data-test=\"admin-user-row\"][data-handle=\"{handle}\"] [data-test=\"{name}\"]")
}

/// What the status region says after an action.
#[derive(Debug, Clone)]
pub struct Status {
    pub kind: String,
    pub text: String,
    pub seq: u64,
}

/// The `chromedriver` child; dropping it kills its whole process group.
struct Driver {
    child: Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The driver was started as the leader of its own process group, so
        // the group id is its pid: this ends the driver and its Chromium only.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

/// Fails (never skips) when the browser or its driver is missing.
fn require_browser() -> PathBuf {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "Chromium is missing at {CHROMIUM}: the browser tests need it. \
         Run tests/run.sh, which installs the Debian packages chromium and chromium-driver."
    );
    on_path(CHROMEDRIVER).unwrap_or_else(|| {
        panic!(
            "chromedriver is not on PATH: the browser tests need it. \
             Run tests/run.sh, which installs the Debian packages chromium and chromium-driver."
        )
    })
}

/// The port in chromedriver's "ChromeDriver was started successfully on
/// port N." line.
fn started_port(line: &str) -> Option<u16> {
    line.split_once("was started successfully on port ")
        .and_then(|(_, rest)| rest.trim_end_matches('.').trim().parse().ok())
}

/// Starts chromedriver on a port the system picks (`--port=0`, so no port
/// is reserved and handed over), reads the port from the line it prints
/// once it listens, and waits (bounded) until it is ready.
async fn start_driver(program: &Path, log: &Path) -> (Driver, u16) {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    let http = reqwest::Client::new();
    let mut last = String::new();
    for _attempt in 0..3 {
        let mut child = Command::new(program)
            .arg("--port=0")
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let stdout = child.stdout.take().expect("chromedriver's stdout");
        let mut driver = Driver { child };
        // Read on a thread until the end, so the pipe never fills.
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(port) = started_port(&line) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(port);
                    }
                }
            }
        });
        let port = match tokio::time::timeout(WAIT, rx).await {
            Ok(Ok(port)) => port,
            Ok(Err(_)) => {
                last = match driver.child.try_wait() {
                    Ok(Some(code)) => format!("chromedriver exited with {code}"),
                    _ => "chromedriver closed its output without a port".into(),
                };
                continue;
            }
            Err(_) => {
                last = "chromedriver printed no port in time".into();
                continue;
            }
        };
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Ok(Some(code)) = driver.child.try_wait() {
                last = format!("chromedriver exited with {code}");
                break;
            }
            let status = http
                .get(format!("http://127.0.0.1:{port}/status"))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if let Ok(resp) = status {
                if let Ok(v) = resp.json::<Value>().await {
                    if v["value"]["ready"] == json!(true) {
                        return (driver, port);
                    }
                    last = v.to_string();
                }
            }
            tokio::time::sleep(STEP).await;
        }
        if last.is_empty() {
            last = "chromedriver did not answer /status in time".into();
        }
        drop(driver);
    }
    panic!("chromedriver did not start: {last}");
}

pub struct Browser {
    pub c: fantoccini::Client,
    /// The server's base URL, `http://127.0.0.1:<port>`.
    pub base: String,
    /// Chromium saves downloads here.
    pub downloads: tempfile::TempDir,
    name: String,
    _profile: tempfile::TempDir,
    _driver: Driver,
    _permit: SemaphorePermit<'static>,
}

impl Browser {
    /// A fresh headless Chromium for the test `name`, talking to `base`.
    pub async fn start(name: &str, base: &str) -> Browser {
        let permit = BROWSERS.acquire().await.expect("browser semaphore");
        Browser::launch(name, base, permit).await
    }

    /// Two browsers at once (two people side by side), with both places
    /// taken together so two such tests cannot each wait for the other's.
    pub async fn start_two(first: &str, second: &str, base: &str) -> (Browser, Browser) {
        let mut permits = BROWSERS.acquire_many(2).await.expect("browser semaphore");
        let other = permits.split(1).expect("two permits");
        let a = Browser::launch(first, base, permits).await;
        let b = Browser::launch(second, base, other).await;
        (a, b)
    }

    async fn launch(name: &str, base: &str, permit: SemaphorePermit<'static>) -> Browser {
        let driver_program = require_browser();
        let profile = tempfile::tempdir().expect("profile dir");
        let downloads = tempfile::tempdir().expect("download dir");
        let (driver, port) =
            start_driver(&driver_program, &profile.path().join("driver.log")).await;

        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().join("chromium").display()),
                ],
                "prefs": {
                    "download.default_directory": downloads.path().display().to_string(),
                    "download.prompt_for_download": false,
                    "download.directory_upgrade": true,
                    "safebrowsing.enabled": false,
                },
            }),
        );
        let c = ClientBuilder::native()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("cannot open a Chromium session: {e}"));
        Browser {
            c,
            base: base.trim_end_matches('/').to_string(),
            downloads,
            name: name.to_string(),
            _profile: profile,
            _driver: driver,
            _permit: permit,
        }
    }

    /// Sets the viewport to `w`×`h` CSS pixels and checks the page sees that width.
    pub async fn viewport(&self, w: u32, h: u32) {
        self.c.set_window_size(w, h).await.expect("window size");
        let inner = self
            .js("return [window.innerWidth, window.innerHeight];")
            .await;
        let (iw, ih) = (inner[0].as_u64().unwrap(), inner[1].as_u64().unwrap());
        if iw != u64::from(w) || ih != u64::from(h) {
            // Headless windows may count some pixels as frame: correct once by the difference.
            let (dw, dh) = (u64::from(w).abs_diff(iw), u64::from(h).abs_diff(ih));
            self.c
                .set_window_size(w + dw as u32, h + dh as u32)
                .await
                .expect("window size");
        }
        let inner = self.js("return window.innerWidth;").await;
        assert_eq!(inner, json!(w), "the viewport is {w} px wide");
    }

    /// Ends the WebDriver session (Chromium quits); the driver dies on drop.
    pub async fn close(self) {
        let _ = self.c.clone().close().await;
    }

    pub async fn goto(&self, path: &str) {
        self.goto_url(&format!("{}{}", self.base, path)).await;
    }

    /// Opens a full URL (another local server, for instance).
    pub async fn goto_url(&self, url: &str) {
        self.c
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// Runs `script` (a function body; `return` a value).
    pub async fn js(&self, script: &str) -> Value {
        self.c
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Polls `script` until it returns something truthy (bounded by WAIT).
    /// Errors while a page is loading count as "not yet".
    pub async fn wait_for(&self, what: &str, script: &str) -> Value {
        self.wait_for_within(what, script, WAIT).await
    }

    /// As [`Browser::wait_for`], bounded by `within` instead of WAIT (for
    /// SillyTavern, whose page boot makes ~300 requests).
    pub async fn wait_for_within(&self, what: &str, script: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let last = match self.c.execute(script, vec![]).await {
                Ok(v) if truthy(&v) => return v,
                Ok(v) => v,
                Err(e) => Value::String(format!("error: {e}")),
            };
            if Instant::now() >= deadline {
                self.shot(&format!("{}-timeout", self.name)).await;
                panic!("timed out after {within:?} waiting for {what} (last answer: {last})");
            }
            tokio::time::sleep(STEP).await;
        }
    }

    /// The page has loaded and no request of ours is in flight.
    pub async fn wait_idle(&self) {
        self.wait_for(
            "the page to be idle (body[data-busy=\"0\"])",
            "return document.readyState === 'complete' && !!document.body \
             && document.body.dataset.busy === '0';",
        )
        .await;
    }

    /// Waits until the app page (`/`, or `/innkeeper/` when SillyTavern is
    /// hosted) is loaded, idle, and shows `view`.
    pub async fn wait_view(&self, view: &str) {
        let script = format!(
            "const v = document.querySelector('[data-test=\"view-{view}\"]'); \
             return (location.pathname === '/' || location.pathname === '/innkeeper/') \
             && document.readyState === 'complete' \
             && document.body.dataset.busy === '0' && !!v && !v.hidden;"
        );
        self.wait_for(&format!("the app to show view-{view}"), &script)
            .await;
    }

    /// Waits until the login page (`/login`) is loaded and idle.
    pub async fn wait_login_page(&self) {
        self.wait_for(
            "the login page",
            "return location.pathname === '/login' && document.readyState === 'complete' \
             && document.body.dataset.busy === '0' \
             && !!document.querySelector('#login-root h2');",
        )
        .await;
    }

    /// Goes to another app view through its menu link.
    pub async fn open_view(&self, view: &str) {
        self.click(&t(&format!("nav-{view}"))).await;
        self.wait_view(view).await;
    }

    /// The current status message's sequence number (0 before any).
    pub async fn seq(&self) -> u64 {
        self.js(
            "const s = document.querySelector('[data-test=\"status\"]'); \
             return s ? Number(s.dataset.seq || 0) : 0;",
        )
        .await
        .as_u64()
        .unwrap_or(0)
    }

    /// The status message (kind, text, seq).
    pub async fn status(&self) -> Status {
        let v = self
            .js(
                "const s = document.querySelector('[data-test=\"status\"]'); \
                 const t = s && s.querySelector('[data-test=\"status-text\"]'); \
                 return { kind: s ? (s.dataset.kind || '') : '', \
                          seq: s ? Number(s.dataset.seq || 0) : 0, \
                          text: t ? t.textContent : '' };",
            )
            .await;
        Status {
            kind: v["kind"].as_str().unwrap_or("").to_string(),
            text: v["text"].as_str().unwrap_or("").to_string(),
            seq: v["seq"].as_u64().unwrap_or(0),
        }
    }

    /// Waits for a status message newer than `before` and for the page to be idle.
    pub async fn status_after(&self, before: u64) -> Status {
        self.status_after_within(before, WAIT).await
    }

    /// As [`Browser::status_after`], bounded by `within` (for actions that
    /// wait on a process, such as starting SillyTavern).
    pub async fn status_after_within(&self, before: u64, within: Duration) -> Status {
        let script = format!(
            "const s = document.querySelector('[data-test=\"status\"]'); \
             return !!s && Number(s.dataset.seq || 0) > {before} \
             && document.body.dataset.busy === '0';"
        );
        self.wait_for_within("a new status message", &script, within)
            .await;
        let st = self.status().await;
        assert!(st.seq > before, "status {st:?} is newer than {before}");
        st
    }

    /// Clicks `css` and returns the status message the action leaves.
    pub async fn act(&self, css: &str) -> Status {
        let before = self.seq().await;
        self.click(css).await;
        self.status_after(before).await
    }

    /// Clicks `css` and expects an `ok` status; returns its text.
    pub async fn act_ok(&self, css: &str) -> String {
        self.act_ok_within(css, WAIT).await
    }

    /// As [`Browser::act_ok`], waiting up to `within` for the action to end.
    pub async fn act_ok_within(&self, css: &str, within: Duration) -> String {
        let before = self.seq().await;
        self.click(css).await;
        let s = self.status_after_within(before, within).await;
        assert_eq!(s.kind, "ok", "after clicking {css}: {s:?}");
        s.text
    }

    /// The element matching `css`, waiting (bounded) until it exists.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.c.find(Locator::Css(css)).await {
                Ok(e) => return e,
                Err(e) if Instant::now() >= deadline => {
                    self.shot(&format!("{}-timeout", self.name)).await;
                    panic!("no element {css}: {e}");
                }
                Err(_) => tokio::time::sleep(STEP).await,
            }
        }
    }

    /// Clicks `css`, retrying (bounded) while it is missing or not yet
    /// clickable. When something covers it (the sticky top bar over an
    /// element scrolled to the top edge), it is scrolled to the middle of
    /// the screen before the next try.
    pub async fn click(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let tried = match self.c.find(Locator::Css(css)).await {
                Ok(e) => e.click().await,
                Err(e) => Err(e),
            };
            match tried {
                Ok(()) => return,
                Err(e) if Instant::now() >= deadline => {
                    self.shot(&format!("{}-timeout", self.name)).await;
                    panic!("cannot click {css}: {e}");
                }
                Err(e) => {
                    if e.to_string().contains("click intercepted") {
                        let _ = self
                            .c
                            .execute(
                                "const e = document.querySelector(arguments[0]); \
                                 if (e) e.scrollIntoView({ block: 'center' }); return true;",
                                vec![json!(css)],
                            )
                            .await;
                    }
                    tokio::time::sleep(STEP).await
                }
            }
        }
    }

    /// Replaces the text of the field `css` with `text`, retrying (bounded)
    /// while the field cannot take input yet (a dialog still opening).
    pub async fn fill(&self, css: &str, text: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let e = self.find(css).await;
            let mut tried = e.clear().await.map_err(|err| format!("clear {css}: {err}"));
            if tried.is_ok() && !text.is_empty() {
                tried = e
                    .send_keys(text)
                    .await
                    .map_err(|err| format!("type into {css}: {err}"));
            }
            match tried {
                Ok(()) => return,
                Err(problem) if Instant::now() >= deadline => {
                    self.shot(&format!("{}-timeout", self.name)).await;
                    panic!("{problem}");
                }
                Err(_) => tokio::time::sleep(STEP).await,
            }
        }
    }

    /// The text content of `css` (trimmed), which must exist.
    pub async fn text(&self, css: &str) -> String {
        let v = self
            .c
            .execute(
                "const e = document.querySelector(arguments[0]); \
                 return e ? e.textContent.trim() : null;",
                vec![json!(css)],
            )
            .await
            .expect("text script");
        v.as_str()
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    /// An attribute of `css` (None when the element or attribute is missing).
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.c
            .execute(
                "const e = document.querySelector(arguments[0]); \
                 return e ? e.getAttribute(arguments[1]) : null;",
                vec![json!(css), json!(name)],
            )
            .await
            .expect("attr script")
            .as_str()
            .map(str::to_string)
    }

    /// A property of `css` such as `value` or `src`.
    pub async fn prop(&self, css: &str, name: &str) -> Value {
        self.c
            .execute(
                "const e = document.querySelector(arguments[0]); \
                 return e ? e[arguments[1]] : null;",
                vec![json!(css), json!(name)],
            )
            .await
            .expect("prop script")
    }

    pub async fn count(&self, css: &str) -> usize {
        self.c
            .execute(
                "return document.querySelectorAll(arguments[0]).length;",
                vec![json!(css)],
            )
            .await
            .expect("count script")
            .as_u64()
            .unwrap_or(0) as usize
    }

    /// Whether `css` exists and is rendered (no `hidden` on it or an ancestor).
    pub async fn visible(&self, css: &str) -> bool {
        self.c
            .execute(
                "const e = document.querySelector(arguments[0]); \
                 return !!e && e.getClientRects().length > 0;",
                vec![json!(css)],
            )
            .await
            .expect("visible script")
            == json!(true)
    }

    /// Waits until `css` is rendered.
    pub async fn wait_visible(&self, css: &str) {
        let script = format!(
            "const e = document.querySelector({}); return !!e && e.getClientRects().length > 0;",
            json!(css)
        );
        self.wait_for(&format!("{css} to be visible"), &script)
            .await;
    }

    /// Waits until `css` has `attr` equal to `value`.
    pub async fn wait_attr(&self, css: &str, attr: &str, value: &str) {
        let script = format!(
            "const e = document.querySelector({}); return !!e && e.getAttribute({}) === {};",
            json!(css),
            json!(attr),
            json!(value)
        );
        self.wait_for(&format!("{css}[{attr}={value:?}]"), &script)
            .await;
    }

    /// Clicks the item `name` of the "More" menu in `handle`'s row of the
    /// admin list, opening the menu first when it is closed.
    pub async fn choose_in_row(&self, handle: &str, name: &str) {
        let more = in_row(handle, "admin-more");
        if self.attr(&more, "aria-expanded").await.as_deref() != Some("true") {
            self.click(&more).await;
        }
        self.wait_visible(&in_row(handle, name)).await;
        self.click(&in_row(handle, name)).await;
    }

    /// As [`Browser::choose_in_row`], returning the status message the action leaves.
    pub async fn act_in_row(&self, handle: &str, name: &str) -> Status {
        let before = self.seq().await;
        self.choose_in_row(handle, name).await;
        self.status_after(before).await
    }

    /// Shows the admin view's tab `name` (`accounts`, `create`, `processes`, `audit`).
    pub async fn admin_tab(&self, name: &str) {
        let tab = t(&format!("admin-tab-{name}"));
        self.click(&tab).await;
        self.wait_attr(&tab, "aria-selected", "true").await;
        self.wait_visible(&t(&format!("admin-panel-{name}"))).await;
    }

    /// Waits for the named confirmation dialog and presses its OK button.
    pub async fn confirm(&self, dialog: &str) {
        self.wait_dialog(dialog).await;
        self.click(&format!("{} {}", dialog_css(dialog), t("confirm-ok")))
            .await;
    }

    /// Waits until the named dialog is open.
    pub async fn wait_dialog(&self, dialog: &str) {
        let script = format!(
            "const d = document.querySelector({}); return !!d && d.open;",
            json!(dialog_css(dialog))
        );
        self.wait_for(&format!("the {dialog} dialog"), &script)
            .await;
    }

    /// The session cookie value, read through WebDriver (it is HttpOnly).
    pub async fn session_cookie(&self) -> String {
        let cookie = self
            .c
            .get_named_cookie("innkeeper_sid")
            .await
            .expect("the browser has a session cookie");
        cookie.value().to_string()
    }

    /// `GET /api/users/me` with the browser's own session cookie.
    pub async fn me(&self) -> Value {
        let sid = self.session_cookie().await;
        let a = crate::common::Replay::new(&self.base, &sid)
            .get("/api/users/me")
            .await;
        assert_eq!(a.status, 200, "me with the browser's cookie: {}", a.body);
        a.body
    }

    /// Saves a screenshot of the viewport to `target/screenshots/<name>.png`.
    pub async fn shot(&self, name: &str) {
        let Ok(png) = self.c.screenshot().await else {
            return;
        };
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Saves this test's screenshot (`target/screenshots/<test>.png`).
    pub async fn shot_test(&self) {
        self.shot(&self.name.clone()).await;
    }

    /// Waits (bounded) for one finished download named `<prefix>…<suffix>`.
    pub async fn wait_download(&self, prefix: &str, suffix: &str) -> PathBuf {
        let deadline = Instant::now() + WAIT;
        loop {
            let done = std::fs::read_dir(self.downloads.path())
                .expect("read download dir")
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| {
                    let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    n.starts_with(prefix) && n.ends_with(suffix)
                });
            if let Some(p) = done {
                return p;
            }
            if Instant::now() >= deadline {
                let names: Vec<_> = std::fs::read_dir(self.downloads.path())
                    .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
                    .unwrap_or_default();
                panic!("no download {prefix}*{suffix} after {WAIT:?}; the folder has {names:?}");
            }
            tokio::time::sleep(STEP).await;
        }
    }
}

/// A Chrome DevTools Protocol command, sent through chromedriver's
/// `POST /session/{id}/goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &reqwest::Url,
        session: Option<&str>,
    ) -> Result<reqwest::Url, <reqwest::Url as std::str::FromStr>::Err> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _url: &reqwest::Url) -> (warp::http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (warp::http::Method::POST, Some(body.to_string()))
    }
}

impl Browser {
    /// Runs `source` in every page this browser opens from now on, before
    /// any of the page's own scripts (a reload runs it again).
    pub async fn on_every_page(&self, source: &str) {
        self.c
            .issue_cmd(Cdp {
                cmd: "Page.addScriptToEvaluateOnNewDocument",
                params: json!({ "source": source }),
            })
            .await
            .unwrap_or_else(|e| panic!("cannot add a script to every page: {e}"));
    }
}

fn dialog_css(dialog: &str) -> String {
    format!("[data-test=\"confirm-dialog\"][data-dialog=\"{dialog}\"]")
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// Whether this run rewrites the committed pictures in docs/screenshots/
/// (INNKEEPER_UPDATE_SCREENSHOTS=1); otherwise they stay as they are.
pub fn updating_docs_screenshots() -> bool {
    std::env::var("INNKEEPER_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1")
}

pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
}

/// Logs in from the list-style login page by clicking the account's card.
pub async fn login_list(b: &Browser, handle: &str, password: Option<&str>) {
    b.goto("/login").await;
    b.wait_login_page().await;
    b.click(&format!(
        "{}[data-handle=\"{handle}\"]",
        t("login-user-card")
    ))
    .await;
    if let Some(pw) = password {
        b.wait_attr(&t("login-chosen"), "data-handle", handle).await;
        b.fill(&t("login-password"), pw).await;
        b.click(&t("login-submit")).await;
    }
    b.wait_view("home").await;
}

/// The names of the entries of a zip file.
pub fn zip_names(path: &Path) -> Vec<String> {
    let file = std::fs::File::open(path).expect("open zip");
    let mut zip = zip::ZipArchive::new(file).expect("a readable zip");
    (0..zip.len())
        .map(|i| {
            zip.by_index(i)
                .expect("zip entry")
                .name()
                .expect("zip entry name")
                .to_string()
        })
        .collect()
}

/// A small RGB PNG (`w`×`h`, a colour gradient), written without an image crate.
pub fn png(w: u32, h: u32) -> Vec<u8> {
    png_with(w, h, |x, y| [(x * 255 / w) as u8, (y * 255 / h) as u8, 160])
}

/// An RGB PNG whose pixel at (x, y) is `colour(x, y)`.
pub fn png_with(w: u32, h: u32, colour: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    use std::io::Write;
    let mut raw = Vec::with_capacity(((w * 3 + 1) * h) as usize);
    for y in 0..h {
        raw.push(0); // filter: none
        for x in 0..w {
            raw.extend_from_slice(&colour(x, y));
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).expect("deflate");
    let idat = z.finish().expect("deflate");

    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB

    let mut out = vec![0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
    for (kind, data) in [(b"IHDR", ihdr), (b"IDAT", idat), (b"IEND", Vec::new())] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(&data);
        out.extend_from_slice(kind);
        out.extend_from_slice(&data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    out
}

/// Width and height of a PNG from its IHDR chunk.
pub fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.len() > 24 && &png[1..4] == b"PNG", "not a PNG");
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    (w, h)
}
