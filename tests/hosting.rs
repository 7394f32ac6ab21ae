//! Hosting the real SillyTavern 1.12.6 (issue 12, SPEC §11): one process
//! per logged-in user behind Innkeeper's login. Lifecycle (start at login
//! and on first request, idle stop, LRU eviction and 503, crash restart and
//! its brake, one start for concurrent requests, stops before disable,
//! delete and reset) and isolation (nothing reaches a process without an
//! Innkeeper session; no header, path or parameter reaches another user's;
//! the process's own port wants the signed cookie; its cookies stay home).

mod common;

use std::time::{Duration, Instant};

use common::sillytavern::{alive, wait_gone};
use common::{Client, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};

const START: Duration = Duration::from_secs(90);

/// Hook scripts that record every process start and stop in a file.
const EVENT_LOG_HOOK: &str = r#"
innkeeper.on("app_started", function(ev)
  innkeeper.admin_file_append("app-events.log", "started " .. ev.handle)
end)
innkeeper.on("app_stopped", function(ev)
  innkeeper.admin_file_append("app-events.log", "stopped " .. ev.handle .. " " .. ev.reason)
end)
"#;

async fn hosted_with_hooks(tweak: impl FnOnce(&mut innkeeper::config::Config)) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
    std::fs::write(dir.path().join("scripts/app-events.lua"), EVENT_LOG_HOOK).unwrap();
    let mut c = common::test_config(dir.path());
    common::sillytavern::hosted(&mut c);
    tweak(&mut c);
    Server::start_in(dir, c).await
}

impl Server {
    /// The lines the app hooks wrote so far.
    fn app_events(&self) -> Vec<String> {
        let path = self.dir.path().join("scripts/private/app-events.log");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Waits (bounded) until the hooks wrote `line`.
    async fn wait_event(&self, line: &str) {
        let end = Instant::now() + Duration::from_secs(20);
        while !self.app_events().iter().any(|l| l == line) {
            assert!(
                Instant::now() < end,
                "no hook line {line:?}: {:?}",
                self.app_events()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn user(&self, handle: &str) -> Client {
        self.create_user(handle, Some("pw"), false).await;
        self.login(handle, "pw").await
    }
}

/// A navigation, as a browser sends it.
async fn navigate(c: &Client, path: &str) -> common::Answer {
    let resp = c
        .http
        .get(format!("{}{path}", c.base))
        .header("Sec-Fetch-Mode", "navigate")
        .header("Accept", "text/html")
        .send()
        .await
        .expect("get");
    common::Answer::read(resp).await
}

#[tokio::test]
async fn login_starts_the_users_own_sillytavern() {
    let s = hosted_with_hooks(|_| {}).await;
    let mut alice = s.user("alice").await;
    // The login already started it, so the page loads warm.
    let p = s.wait_state("alice", "running", START).await;
    assert_eq!(p["restarts"], 0, "{p}");
    s.wait_event("started alice").await;

    let page = navigate(&alice, "/").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.body.as_str().expect("html");
    assert!(
        html.contains("<title>SillyTavern</title>"),
        "not SillyTavern's page"
    );
    assert!(
        html.contains("/innkeeper/static/st-bridge.js"),
        "no way to Innkeeper's pages"
    );
    assert!(
        page.headers.get("set-cookie").is_none(),
        "a cookie came through: {:?}",
        page.headers
    );
    // SillyTavern's own content lands in alice's folder, through the link.
    assert!(!alice.character_names().await.is_empty());
    let name = alice.create_character("Alicebot").await;
    assert!(s.user_dir("alice").join("characters").join(&name).is_file());
    assert!(alice
        .character_names()
        .await
        .contains(&"Alicebot".to_string()));
    // The view root holds one account and a link, nothing of anyone else.
    let view = s.data_root().join(".app/alice");
    let storage: Vec<_> = std::fs::read_dir(view.join("_storage")).unwrap().collect();
    assert_eq!(storage.len(), 1);
    assert!(std::fs::symlink_metadata(view.join("alice"))
        .unwrap()
        .file_type()
        .is_symlink());
    // SillyTavern's own version answers through the proxy.
    let v = alice.fetch("/version").await;
    assert_eq!(v.status, 200);
    assert!(v.body["pkgVersion"] == "1.12.6", "{}", v.body);
    s.stop().await;
}

#[tokio::test]
async fn an_idle_process_stops_and_the_next_request_starts_it_again() {
    let s = hosted_with_hooks(|c| c.app.idle_minutes = 6).await;
    let mut alice = s.user("alice").await;
    let pid = s.wait_state("alice", "running", START).await["pid"]
        .as_u64()
        .unwrap() as u32;
    // Still used: not idle.
    s.app.clock.advance(5 * 60_000);
    assert!(!alice.character_names().await.is_empty());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(s.process("alice")["state"], "running");
    // Six minutes without a request.
    s.app.clock.advance(6 * 60_000 + 1000);
    s.wait_state("alice", "stopped", Duration::from_secs(20))
        .await;
    wait_gone(pid, Duration::from_secs(5)).await;
    s.wait_event("stopped alice idle").await;
    // The next request starts it again and waits for it.
    assert!(!alice.character_names().await.is_empty());
    let p = s.process("alice");
    assert_eq!(p["state"], "running", "{p}");
    assert_eq!(p["restarts"], 1, "{p}");
    s.stop().await;
}

#[tokio::test]
async fn max_running_evicts_the_least_recently_used_idle_process_or_answers_503() {
    let mut llm = common::llm::Llm::start().await;
    let s = hosted_with_hooks(|c| c.app.max_running = 1).await;
    let mut alice = s.user("alice").await;
    s.wait_state("alice", "running", START).await;
    // Bob's login makes room: alice is idle, so she goes.
    let mut bob = s.user("bob").await;
    s.wait_state("bob", "running", START).await;
    s.wait_state("alice", "stopped", Duration::from_secs(20))
        .await;
    s.wait_event("stopped alice evicted").await;
    // While bob's generation streams, his process is busy: alice waits.
    let stream = common::llm::start_generation(&mut bob, &llm.url).await;
    assert!(matches!(llm.next(30).await, Seen::Request { .. }));
    assert!(matches!(llm.next(30).await, Seen::SentFirst));
    let a = alice.st("/api/characters/all", json!({})).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.body);
    assert!(a.header("retry-after").is_some());
    assert!(a.error().contains("in use"), "{}", a.body);
    let page = navigate(&alice, "/").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    // Once bob's answer is done, alice gets the place.
    llm.release();
    drop(stream.finish().await);
    assert!(!alice.character_names().await.is_empty());
    s.wait_state("bob", "stopped", Duration::from_secs(20))
        .await;
    s.stop().await;
}

use common::llm::Seen;

#[tokio::test]
async fn a_killed_process_restarts_on_the_next_request_and_three_crashes_brake() {
    let s = hosted_with_hooks(|_| {}).await;
    let mut alice = s.user("alice").await;
    let mut admin = s.login("default-user", "").await;
    for round in 1..=3 {
        let pid = s.wait_state("alice", "running", START).await["pid"]
            .as_u64()
            .unwrap() as u32;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        wait_gone(pid, Duration::from_secs(5)).await;
        let want = if round < 3 { "stopped" } else { "failed" };
        let p = s.wait_state("alice", want, Duration::from_secs(10)).await;
        assert!(
            p["lastError"]
                .as_str()
                .is_some_and(|e| e.contains("exited unexpectedly")),
            "{p}"
        );
        s.wait_event("stopped alice crashed").await;
        if round < 3 {
            // The next request starts it again.
            assert!(!alice.character_names().await.is_empty());
        }
    }
    // Three crashes within a minute: no more restarts until an admin asks.
    let a = alice.st("/api/characters/all", json!({})).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.body);
    assert!(a.error().contains("an admin must restart it"), "{}", a.body);
    assert_eq!(s.process("alice")["state"], "failed");
    // The admin panel shows it, with the log tail; a restart clears it.
    let st = admin.st("/api/app/status", json!({})).await;
    let row = st.body["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["handle"] == "alice")
        .cloned()
        .unwrap();
    assert_eq!(row["state"], "failed");
    assert_eq!(row["restarts"], 2);
    let log = admin
        .st("/api/app/log", json!({ "handle": "alice", "lines": 50 }))
        .await;
    assert!(
        log.body["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains("exited unexpectedly")),
        "{}",
        log.body
    );
    let r = admin
        .st("/api/app/restart", json!({ "handle": "alice" }))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(!alice.character_names().await.is_empty());
    // A user cannot see or touch the processes.
    let denied = alice.st("/api/app/status", json!({})).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let denied = alice
        .st("/api/app/stop", json!({ "handle": "alice" }))
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    s.stop().await;
}

#[tokio::test]
async fn ten_concurrent_first_requests_start_one_process() {
    let s = hosted_with_hooks(|_| {}).await;
    let mut alice = s.user("alice").await;
    s.wait_state("alice", "running", START).await;
    let mut admin = s.login("default-user", "").await;
    let stopped = admin
        .st("/api/app/stop", json!({ "handle": "alice" }))
        .await;
    assert_eq!(stopped.status, StatusCode::NO_CONTENT);
    assert_eq!(s.process("alice")["state"], "stopped");
    s.wait_event("stopped alice admin").await;
    alice.refresh_token().await;
    let token = alice.token.clone().unwrap();
    let calls = (0..10).map(|_| {
        let http = alice.http.clone();
        let url = format!("{}/api/characters/all", alice.base);
        let token = token.clone();
        async move {
            http.post(url)
                .header("X-CSRF-Token", token)
                .json(&json!({}))
                .send()
                .await
                .expect("post")
                .status()
        }
    });
    let statuses = futures_util::future::join_all(calls).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    let p = s.process("alice");
    assert_eq!(p["restarts"], 1, "one start after the first: {p}");
    let starts = s
        .app_events()
        .iter()
        .filter(|l| *l == "started alice")
        .count();
    assert_eq!(starts, 2, "{:?}", s.app_events());
    let log = std::fs::read_to_string(s.data_root().join(".app/alice.log")).unwrap();
    assert_eq!(log.matches("Innkeeper: started SillyTavern").count(), 2);
    s.stop().await;
}

/// Polls until `marker` disappears; returns whether `pid` was still alive
/// at that moment (it must not be: the process stops before the files go).
async fn alive_when_gone(marker: std::path::PathBuf, pid: u32) -> bool {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let was_alive = alive(pid);
        if !marker.exists() {
            return was_alive;
        }
        assert!(Instant::now() < end, "{} never went away", marker.display());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn disable_delete_and_reset_stop_the_process_before_the_files_change() {
    let s = hosted_with_hooks(|_| {}).await;
    let mut admin = s.login("default-user", "").await;

    // Disable: the process is gone when the call returns.
    let _alice = s.user("alice").await;
    let pid = s.wait_state("alice", "running", START).await["pid"]
        .as_u64()
        .unwrap() as u32;
    let a = admin
        .st("/api/users/disable", json!({ "handle": "alice" }))
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(!alive(pid), "still running after disable");
    assert_eq!(s.process("alice")["state"], "stopped");
    s.wait_event("stopped alice disabled").await;

    // Account reset (wipes the folder): stopped first.
    let mut bob = s.user("bob").await;
    let pid = s.wait_state("bob", "running", START).await["pid"]
        .as_u64()
        .unwrap() as u32;
    let marker = s.user_dir("bob").join("characters/marker.txt");
    std::fs::write(&marker, "x").unwrap();
    let watch = tokio::spawn(alive_when_gone(marker.clone(), pid));
    let step1 = bob.st("/api/users/reset-step1", json!({})).await;
    assert_eq!(step1.status, StatusCode::NO_CONTENT);
    let code = s.last_code("Account reset code", "bob");
    let step2 = bob
        .st(
            "/api/users/reset-step2",
            json!({ "code": code, "password": "pw" }),
        )
        .await;
    assert_eq!(step2.status, StatusCode::NO_CONTENT, "{}", step2.body);
    assert!(
        !watch.await.unwrap(),
        "bob's process ran while his folder was wiped"
    );
    s.wait_event("stopped bob reset").await;
    // It comes back on the next request, on the fresh folder.
    assert!(!bob.character_names().await.is_empty());
    assert!(!marker.exists());

    // Delete with purge: stopped first; the view root goes too.
    let pid = s.wait_state("bob", "running", START).await["pid"]
        .as_u64()
        .unwrap() as u32;
    std::fs::write(&marker, "x").unwrap();
    let watch = tokio::spawn(alive_when_gone(marker.clone(), pid));
    let d = admin
        .st(
            "/api/users/delete",
            json!({ "handle": "bob", "purge": true }),
        )
        .await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    assert!(
        !watch.await.unwrap(),
        "bob's process ran while his folder was purged"
    );
    assert!(!s.user_dir("bob").exists());
    assert!(!s.data_root().join(".app/bob").exists());
    s.wait_event("stopped bob deleted").await;
    s.stop().await;
}

#[tokio::test]
async fn nothing_reaches_sillytavern_without_an_innkeeper_session() {
    let s = Server::hosted(|_| {}).await;
    s.create_user("alice", Some("pw"), false).await;
    let mut anon = s.client();
    // A navigation goes to the login page; anything else is refused.
    let page = navigate(&anon, "/").await;
    assert_eq!(page.status, StatusCode::FOUND);
    assert_eq!(page.header("location"), Some("/login"));
    let page = navigate(&anon, "/some/page").await;
    assert_eq!(page.status, StatusCode::FOUND);
    assert_eq!(page.header("location"), Some("/login"));
    for path in [
        "/version",
        "/script.js",
        "/css/st-tailwind.css",
        "/thumbnail?type=bg&file=x",
    ] {
        let a = anon.fetch(path).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(a.error(), "Forbidden", "{path}: {}", a.body);
    }
    let a = anon.st("/api/characters/all", json!({})).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // Innkeeper's own login page, not SillyTavern's.
    let login = anon.fetch("/login").await;
    assert!(login
        .body
        .as_str()
        .unwrap()
        .contains("/innkeeper/static/login.js"));
    // No process was started for anyone.
    assert_eq!(s.process("alice")["state"], "stopped");
    assert!(s
        .app
        .hosting()
        .unwrap()
        .status()
        .iter()
        .all(|p| p.state == "stopped"));
    // A logged-in user's POST still needs the CSRF token.
    let alice = s.login("alice", "pw").await;
    let resp = alice
        .http
        .post(format!("{}/api/characters/all", alice.base))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    s.stop().await;
}

#[tokio::test]
async fn no_header_path_or_parameter_reaches_another_users_process() {
    let s = Server::hosted(|_| {}).await;
    let mut alice = s.user("alice").await;
    let mut bob = s.user("bob").await;
    s.wait_state("alice", "running", START).await;
    s.wait_state("bob", "running", START).await;
    alice.create_character("Alicebot").await;
    bob.create_character("Bobbot").await;
    assert!(s
        .user_dir("alice")
        .join("characters/Alicebot.png")
        .is_file());
    assert!(!s.user_dir("alice").join("characters/Bobbot.png").exists());
    assert!(s.user_dir("bob").join("characters/Bobbot.png").is_file());

    // Everything alice could try to name bob's process with.
    let st_config =
        std::fs::read_to_string(common::sillytavern::install().join("config.yaml")).unwrap();
    let secret = st_config
        .lines()
        .find_map(|l| l.strip_prefix("cookieSecret:"))
        .unwrap()
        .trim()
        .trim_matches('\'')
        .to_string();
    let hostname = innkeeper::hosting::st_session::machine_hostname().unwrap();
    let forged =
        innkeeper::hosting::st_session::StSession::new(&hostname, &secret).cookie_header("bob");
    let bob_port = s.process("bob")["port"].as_u64().unwrap();
    alice.refresh_token().await;
    let token = alice.token.clone().unwrap();
    let tries: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("/api/characters/all?handle=bob&user=bob", vec![]),
        ("/api/characters/all", vec![("Cookie", forged.clone())]),
        (
            "/api/characters/all",
            vec![
                ("X-Forwarded-For", "127.0.0.1".into()),
                ("Remote-User", "bob".into()),
                ("X-Innkeeper-User", "bob".into()),
            ],
        ),
        (
            "/api/characters/all",
            vec![("Host", format!("127.0.0.1:{bob_port}"))],
        ),
        ("/bob/api/characters/all", vec![]),
        ("/api/../bob/api/characters/all", vec![]),
    ];
    for (path, headers) in tries {
        let mut req = alice
            .http
            .post(format!("{}{path}", alice.base))
            .header("X-CSRF-Token", &token)
            .json(&json!({ "handle": "bob", "avatar_url": "Bobbot.png" }));
        for (k, v) in &headers {
            req = req.header(*k, v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(
            !text.contains("Bobbot"),
            "{path} {headers:?} reached bob: {text}"
        );
        if status == StatusCode::OK && path.starts_with("/api/characters/all") {
            assert!(text.contains("Alicebot"), "{path} {headers:?}: {text}");
        }
    }
    // Bob's files are not served to alice either.
    let a = alice.fetch("/characters/Bobbot.png").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = alice.fetch("/thumbnail?type=avatar&file=Bobbot.png").await;
    assert_ne!(a.status, StatusCode::OK);
    // The process's own port wants the signed cookie.
    let direct = reqwest::Client::new();
    let port = s.process("alice")["port"].as_u64().unwrap();
    let r = direct
        .get(format!("http://127.0.0.1:{port}/api/ping"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = direct
        .post(format!("http://127.0.0.1:{port}/api/characters/all"))
        .header("Cookie", "innkeeper_sid=whatever")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    s.stop().await;
}

#[tokio::test]
async fn without_an_app_innkeeper_serves_its_own_pages_as_before() {
    let s = Server::start().await;
    assert!(s.app.hosting().is_none());
    let c = s.login("default-user", "").await;
    let home = navigate(&c, "/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home
        .body
        .as_str()
        .unwrap()
        .contains("/innkeeper/static/app.js"));
    for path in [
        "/static/app.js",
        "/innkeeper/static/app.js",
        "/favicon.ico",
        "/img/default-user.png",
    ] {
        assert_eq!(c.fetch(path).await.status, StatusCode::OK, "{path}");
    }
    let a = c.fetch("/version").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let _: Value = json!(null);
    s.stop().await;
}

#[tokio::test]
async fn a_page_load_while_it_starts_gets_the_starting_page_and_api_calls_wait() {
    // The real SillyTavern, started through a wrapper that first sleeps,
    // so the start is slow enough to be seen.
    let scripts = tempfile::tempdir().unwrap();
    let slow = scripts.path().join("slow-node");
    std::fs::write(&slow, "#!/bin/sh\nsleep 5\nexec node \"$@\"\n").unwrap();
    std::fs::set_permissions(&slow, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let node = slow.to_string_lossy().into_owned();
    let s = Server::hosted(move |c| c.app.node = node).await;
    let mut alice = s.user("alice").await;
    assert_eq!(s.process("alice")["state"], "starting");
    let page = navigate(&alice, "/").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(page.header("retry-after"), Some("1"));
    let html = page.body.as_str().unwrap();
    assert!(html.contains("Starting SillyTavern"), "{html}");
    assert!(html.contains("http-equiv=\"refresh\""), "{html}");
    // An API call waits for the start instead.
    let t = Instant::now();
    assert!(!alice.character_names().await.is_empty());
    assert!(t.elapsed() > Duration::from_millis(500));
    let page = navigate(&alice, "/").await;
    assert_eq!(page.status, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn sillytavern_static_files_come_from_its_public_folder_without_a_process() {
    let s = Server::hosted(|_| {}).await;
    let alice = s.user("alice").await;
    s.wait_state("alice", "running", START).await;
    s.app
        .hosting()
        .unwrap()
        .stop("alice", innkeeper::hosting::supervisor::StopReason::Admin)
        .await;
    assert_eq!(s.process("alice")["state"], "stopped");
    let public = common::sillytavern::install().join("public");
    let css = std::fs::read(public.join("css/st-tailwind.css")).unwrap();
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut req = alice.http.get(format!("{}{path}", alice.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send()
    };

    // The file itself, as Express would type and validate it.
    let resp = get("/css/st-tailwind.css", &[]).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "text/css; charset=UTF-8");
    assert_eq!(h["cache-control"], "public, max-age=0");
    assert!(h.get("content-encoding").is_none());
    let etag = h["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with("W/\""), "{etag}");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &css[..]);

    // A matching validator gets 304; another version's does not.
    let resp = get("/css/st-tailwind.css", &[("if-none-match", &etag)])
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    assert!(resp.bytes().await.unwrap().is_empty());
    let resp = get("/css/st-tailwind.css", &[("if-none-match", "W/\"1-1\"")])
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    // Gzip when the browser takes it, the same bytes once inflated.
    let resp = get("/css/st-tailwind.css", &[("accept-encoding", "gzip")])
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    assert_eq!(resp.headers()["vary"], "Accept-Encoding");
    let packed = resp.bytes().await.unwrap();
    assert!(packed.len() < css.len());
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&packed[..]), &mut plain).unwrap();
    assert_eq!(plain, css);

    // Module scripts need a script type.
    let resp = get("/script.js", &[]).await.unwrap();
    assert_eq!(
        resp.headers()["content-type"],
        "application/javascript; charset=UTF-8"
    );

    // None of it needed the process.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.process("alice")["state"], "stopped");

    // What is not a plain file of public/ is the process's to answer, and
    // nothing outside public/ comes back.
    let config =
        std::fs::read_to_string(common::sillytavern::install().join("config.yaml")).unwrap();
    let secret_line = config
        .lines()
        .find(|l| l.starts_with("cookieSecret"))
        .unwrap()
        .to_string();
    for path in [
        "/%2e%2e/config.yaml",
        "/css/..%2F..%2Fconfig.yaml",
        "/.%2e/config.yaml",
    ] {
        let resp = get(path, &[]).await.unwrap();
        let body = resp.text().await.unwrap();
        assert!(!body.contains(&secret_line), "{path}");
    }
    s.stop().await;
}
