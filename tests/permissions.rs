//! Permissions, shared API connections and usage limits (issue 16),
//! against the real SillyTavern 1.12.6 and a small OpenAI-compatible
//! server that records the `Authorization` header it gets.

mod common;

use std::io::Read;
use std::time::Duration;

use common::llm::{Llm, Seen};
use common::{Client, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};

const START: Duration = Duration::from_secs(90);
const SHARED: &str = "sk-house-3f9a1c77e2b84d06a5";

/// A chat completion request through the user's SillyTavern; `extra`
/// fields go over the defaults (source "custom", model "test", streamed).
async fn generate(c: &mut Client, extra: Value) -> reqwest::Response {
    if c.token.is_none() {
        c.refresh_token().await;
    }
    let mut body = json!({
        "chat_completion_source": "custom",
        "model": "test",
        "messages": [{ "role": "user", "content": "Hi" }],
        "stream": true,
        "temperature": 1,
        "max_tokens": 50,
    });
    for (k, v) in extra.as_object().expect("an object") {
        body[k] = v.clone();
    }
    c.http
        .post(format!("{}/api/backends/chat-completions/generate", c.base))
        .header("X-CSRF-Token", c.token.clone().unwrap_or_default())
        .json(&body)
        .send()
        .await
        .expect("generate")
}

/// Reads a whole generation's answer after releasing the model server.
async fn finish(llm: &mut Llm, resp: reqwest::Response) -> String {
    assert_eq!(resp.status(), 200);
    llm.release();
    let text = tokio::time::timeout(Duration::from_secs(30), resp.text())
        .await
        .expect("the stream ended in time")
        .expect("body");
    assert!(text.contains("[DONE]"), "{text}");
    text
}

/// The next request the model server saw, with its Authorization header.
async fn next_request(llm: &mut Llm) -> (String, String) {
    loop {
        if let Seen::Request {
            path,
            authorization,
            ..
        } = llm.next(30).await
        {
            return (path, authorization);
        }
    }
}

/// True when the model server saw no request within `ms`.
async fn saw_nothing(llm: &mut Llm, ms: u64) -> bool {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    loop {
        match llm.seen.try_recv() {
            Ok(Seen::Request { .. }) => return false,
            Ok(_) => continue,
            Err(_) => return true,
        }
    }
}

fn is_ours(a: &common::Answer) -> bool {
    a.status == StatusCode::FORBIDDEN && a.error().contains("(ask an admin)")
}

async fn admin(s: &Server) -> Client {
    s.create_user("boss", Some("pw"), true).await;
    s.login("boss", "pw").await
}

async fn ok(c: &mut Client, path: &str, body: Value) -> Value {
    let (status, v) = c.post(path, body.clone()).await;
    assert!(status.is_success(), "{path} {body} → {status} {v}");
    v
}

#[tokio::test]
async fn guests_get_403_on_each_denied_route_members_do_not_and_changes_apply_at_once() {
    let s = Server::hosted(|_| {}).await;
    let mut boss = admin(&s).await;
    s.create_user("gina", Some("pw"), false).await;
    s.create_user("mia", Some("pw"), false).await;
    ok(
        &mut boss,
        "/api/permissions/users/set",
        json!({ "handle": "gina", "profile": "guest" }),
    )
    .await;
    let mut gina = s.login("gina", "pw").await;
    let mut mia = s.login("mia", "pw").await;
    s.wait_state("gina", "running", START).await;
    s.wait_state("mia", "running", START).await;

    let denied: &[(&str, Value, &str)] = &[
        (
            "/api/extensions/install",
            json!({ "url": "http://127.0.0.1:9/none.git" }),
            "install, update or delete extensions",
        ),
        (
            "/api/extensions/delete",
            json!({ "extensionName": "none" }),
            "install, update or delete extensions",
        ),
        (
            "/api/secrets/write",
            json!({ "key": "api_key_openai", "value": "sk-mine" }),
            "use its own API keys",
        ),
        ("/api/secrets/view", json!({}), "use its own API keys"),
        (
            "/api/secrets/find",
            json!({ "key": "api_key_openai" }),
            "use its own API keys",
        ),
        (
            "/api/content/importURL",
            json!({ "url": "https://example.invalid/card.png" }),
            "import from a URL",
        ),
        (
            "/api/content/importUUID",
            json!({ "url": "no-such-id" }),
            "import from a URL",
        ),
        (
            "/api/users/backup",
            json!({ "handle": "gina" }),
            "download backups",
        ),
    ];
    for (path, body, says) in denied {
        let a = gina.st(path, body.clone()).await;
        assert!(is_ours(&a), "guest {path}: {} {}", a.status, a.body);
        assert!(a.error().contains(says), "{path}: {}", a.error());
        assert_eq!(a.header("content-type"), Some("application/json"), "{path}");
        // Any spelling of the route is the same route.
        let upper = path.to_uppercase().replace("/API/", "/api/");
        if !path.starts_with("/api/users/") {
            let a = gina.st(&upper, body.clone()).await;
            assert!(is_ours(&a), "guest {upper}: {} {}", a.status, a.body);
        }
        let a = mia.st(path, body.clone()).await;
        assert!(!is_ours(&a), "member {path} refused: {}", a.body);
    }
    // The member's own key went through to SillyTavern.
    let own: Value = serde_json::from_slice(
        &std::fs::read(s.user_dir("mia").join("secrets.json")).expect("mia's secrets.json"),
    )
    .unwrap();
    assert_eq!(own["api_key_openai"], "sk-mine");
    // Each refusal is in the audit log.
    let (_, audit) = boss.post("/api/audit/list", json!({ "limit": 200 })).await;
    let rows = audit.to_string();
    assert!(
        rows.matches("permission.denied").count() >= denied.len(),
        "{rows}"
    );

    // A profile without plugins or generation.
    ok(
        &mut boss,
        "/api/permissions/profiles/save",
        json!({ "name": "readers", "allow": ["backup.download"] }),
    )
    .await;
    ok(
        &mut boss,
        "/api/permissions/users/set",
        json!({ "handle": "mia", "profile": "readers" }),
    )
    .await;
    // The very next request of the running process follows the change.
    for (path, says) in [
        ("/api/plugins/anything", "use server plugins"),
        ("/api/backends/chat-completions/generate", "generate"),
        ("/api/sd/comfy/generate", "generate"),
        ("/api/translate/google", "generate"),
        ("/api/secrets/write", "use its own API keys"),
    ] {
        let a = mia.st(path, json!({ "key": "x", "value": "y" })).await;
        assert!(is_ours(&a), "readers {path}: {} {}", a.status, a.body);
        assert!(a
            .error()
            .ends_with(&format!("may not {says} (ask an admin)")));
    }
    assert_eq!(
        s.process("mia")["state"],
        "running",
        "no restart was needed"
    );
    ok(
        &mut boss,
        "/api/permissions/users/set",
        json!({ "handle": "mia", "profile": null }),
    )
    .await;
    let a = mia
        .st(
            "/api/secrets/write",
            json!({ "key": "api_key_claude", "value": "c" }),
        )
        .await;
    assert!(!is_ours(&a), "back to member: {}", a.body);

    // The account page's own view.
    let (status, me) = gina.post("/api/permissions/me", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(me["profile"], "guest");
    let allowed = |name: &str| {
        me["switches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["allowed"]
            .clone()
    };
    assert_eq!(allowed("generate"), true);
    assert_eq!(allowed("secrets.own"), false);
    // Non-admins cannot read or change anyone's permissions.
    for path in [
        "/api/permissions/users",
        "/api/permissions/profiles",
        "/api/connections/list",
    ] {
        assert_eq!(gina.post(path, json!({})).await.0, 403, "{path}");
    }
    let (status, _) = gina
        .post(
            "/api/permissions/users/set",
            json!({ "handle": "gina", "profile": "member" }),
        )
        .await;
    assert_eq!(status, 403);
    s.stop().await;
}

#[tokio::test]
async fn url_imports_to_loopback_are_refused_unless_allowed() {
    let s = Server::hosted(|_| {}).await;
    s.create_user("mia", Some("pw"), false).await;
    let mut mia = s.login("mia", "pw").await;
    s.wait_state("mia", "running", START).await;
    let target = format!("{}/card.png", s.base);
    for url in [
        target.as_str(),
        "http://localhost:8000/x.png",
        "http://[::1]:8000/x.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433/x.png",
    ] {
        let a = mia
            .st("/api/content/importURL", json!({ "url": url }))
            .await;
        assert!(is_ours(&a), "{url}: {} {}", a.status, a.body);
        assert!(
            a.error().contains("private or local address"),
            "{}",
            a.error()
        );
    }
    s.stop().await;

    let s = Server::hosted(|c| c.permissions.allow_private_fetch = true).await;
    s.create_user("mia", Some("pw"), false).await;
    let mut mia = s.login("mia", "pw").await;
    s.wait_state("mia", "running", START).await;
    let a = mia
        .st("/api/content/importURL", json!({ "url": target }))
        .await;
    assert!(!is_ours(&a), "allowed: {} {}", a.status, a.body);
    s.stop().await;
}

/// The last lines of `handle`'s SillyTavern log, for a failure message.
fn log_tail(s: &Server, handle: &str) -> String {
    let log = s.data_root().join(".app").join(format!("{handle}.log"));
    let text = std::fs::read_to_string(&log).unwrap_or_else(|e| format!("({e})"));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Every file in a zip, as (name, bytes).
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut out = Vec::new();
            f.read_to_end(&mut out).unwrap();
            (f.name().expect("a name").to_string(), out)
        })
        .collect()
}

#[tokio::test]
async fn a_shared_key_reaches_the_model_server_but_never_the_user() {
    let mut house = Llm::start().await;
    let mut elsewhere = Llm::start().await;
    let s = Server::hosted(|_| {}).await;
    let mut boss = admin(&s).await;
    s.create_user("mia", Some("pw"), false).await;
    let mut mia = s.login("mia", "pw").await;
    s.wait_state("mia", "running", START).await;
    // The user's own key of another kind stays whatever happens.
    let a = mia
        .st(
            "/api/secrets/write",
            json!({ "key": "api_key_claude", "value": "mine" }),
        )
        .await;
    assert!(a.status.is_success(), "{}", a.body);

    ok(
        &mut boss,
        "/api/connections/save",
        json!({
            "name": "House model",
            "secretKey": "api_key_custom",
            "value": SHARED,
            "endpoint": house.url,
            "models": ["test"],
        }),
    )
    .await;
    ok(
        &mut boss,
        "/api/connections/save",
        json!({ "name": "House OpenAI", "secretKey": "api_key_openai", "value": format!("{SHARED}-oa") }),
    )
    .await;
    for name in ["House model", "House OpenAI"] {
        ok(
            &mut boss,
            "/api/connections/grant",
            json!({ "name": name, "profile": "member" }),
        )
        .await;
    }
    // Written into the running process's secrets file, beside the user's own.
    let file = s.user_dir("mia").join("secrets.json");
    let secrets: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(secrets["api_key_custom"], SHARED);
    assert_eq!(
        secrets["api_key_claude"],
        "mine",
        "the user's own key is gone; keys in the file: {:?}; SillyTavern's log ends:\n{}",
        secrets.as_object().map(|m| m.keys().collect::<Vec<_>>()),
        log_tail(&s, "mia")
    );
    assert_eq!(s.process("mia")["state"], "running");

    // The key reaches the allowed server through SillyTavern.
    let resp = generate(&mut mia, json!({ "custom_url": house.url })).await;
    let (path, auth) = next_request(&mut house).await;
    assert_eq!(path, "/v1/chat/completions");
    assert_eq!(auth, format!("Bearer {SHARED}"));
    finish(&mut house, resp).await;

    // Pointed elsewhere, or at another model, it is refused before it leaves.
    let other = elsewhere.url.clone();
    for body in [
        json!({ "custom_url": other }),
        json!({ "custom_url": format!("{other}/") }),
        json!({ "custom_url": house.url, "model": "gpt-big" }),
        json!({ "chat_completion_source": "openai", "reverse_proxy": other, "proxy_password": "" }),
        json!({ "chat_completion_source": "an-unknown-source", "custom_url": other }),
    ] {
        let resp = generate(&mut mia, body.clone()).await;
        let a = common::Answer::read(resp).await;
        assert!(is_ours(&a), "{body}: {} {}", a.status, a.body);
    }
    // The model list call sends the key too: held to the same rule.
    let a = mia
        .st(
            "/api/backends/chat-completions/status",
            json!({ "chat_completion_source": "custom", "custom_url": other }),
        )
        .await;
    assert!(is_ours(&a), "status elsewhere: {} {}", a.status, a.body);
    // A body the proxy cannot read as SillyTavern would is not passed on.
    let a = mia
        .post_body(
            "/api/backends/chat-completions/generate",
            "application/json",
            b"{\"chat_completion_source\":\"custom\",\"custom_url\":".to_vec(),
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    // Nor one SillyTavern would inflate first.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(
        &mut gz,
        json!({ "chat_completion_source": "custom", "custom_url": other, "model": "test" })
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let resp = mia
        .http
        .post(format!(
            "{}/api/backends/chat-completions/generate",
            mia.base
        ))
        .header("X-CSRF-Token", mia.token.clone().unwrap_or_default())
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "gzip")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(
        saw_nothing(&mut elsewhere, 500).await,
        "the other server was reached"
    );

    // Reading or replacing the shared key is refused; the file keeps it.
    for (path, body) in [
        ("/api/secrets/find", json!({ "key": "api_key_custom" })),
        (
            "/api/secrets/write",
            json!({ "key": "api_key_custom", "value": "sk-attacker" }),
        ),
    ] {
        let a = mia.st(path, body).await;
        assert!(is_ours(&a), "{path}: {} {}", a.status, a.body);
        assert!(a.error().contains("shared key"), "{}", a.error());
    }
    let secrets: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(secrets["api_key_custom"], SHARED);

    // Nothing the user can fetch carries it.
    let mut seen: Vec<(String, String)> = Vec::new();
    for (path, body) in [
        ("/api/secrets/view", json!({})),
        ("/api/secrets/read", json!({})),
        ("/api/secrets/find", json!({ "key": "api_key_openai" })),
        ("/api/settings/get", json!({})),
        ("/api/permissions/me", json!({})),
        ("/api/users/me", json!({})),
    ] {
        let a = mia.st(path, body).await;
        seen.push((path.to_string(), a.body.to_string()));
    }
    std::fs::create_dir_all(s.user_dir("mia").join("user/files")).unwrap();
    std::os::unix::fs::symlink(
        s.user_dir("mia").join("secrets.json"),
        s.user_dir("mia").join("user/files/link.json"),
    )
    .unwrap();
    for path in [
        "/secrets.json",
        "/user/files/link.json",
        "/user/files/../../secrets.json",
        "/user/files/..%2f..%2fsecrets.json",
        "/characters/..%2fsecrets.json",
        "/mia/secrets.json",
        "/data/mia/secrets.json",
        "/user/secrets.json",
    ] {
        let a = mia.fetch(path).await;
        seen.push((path.to_string(), a.body.to_string()));
    }
    let resp = mia
        .post_raw("/api/users/backup", json!({ "handle": "mia" }))
        .await;
    assert_eq!(resp.status(), 200);
    let zip = resp.bytes().await.unwrap();
    let entries = unzip(&zip);
    let backed_up = entries
        .iter()
        .find(|(n, _)| n == "secrets.json")
        .expect("secrets.json in the backup");
    let backed_up: Value = serde_json::from_slice(&backed_up.1).unwrap();
    assert_eq!(backed_up, json!({ "api_key_claude": "mine" }));
    for (name, bytes) in &entries {
        seen.push((
            format!("backup:{name}"),
            String::from_utf8_lossy(bytes).into_owned(),
        ));
    }
    // Nor does anything an admin's pages load.
    for path in [
        "/api/connections/list",
        "/api/permissions/users",
        "/api/permissions/profiles",
        "/api/users/get",
        "/api/audit/list",
        "/api/app/status",
    ] {
        let (_, v) = boss.post(path, json!({})).await;
        seen.push((path.to_string(), v.to_string()));
    }
    for (what, text) in &seen {
        assert!(
            !text.contains(SHARED),
            "{what} carries the shared key: {text}"
        );
    }
    // Nor the database: values are sealed under the key file.
    let db = std::fs::read(s.data_root().join("innkeeper.db")).unwrap();
    assert!(!String::from_utf8_lossy(&db).contains(SHARED));
    let key_mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(s.data_root().join("connections.key"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(key_mode & 0o777, 0o600);

    // Revoking takes it out of the file; the user's own key stays.
    for name in ["House model", "House OpenAI"] {
        ok(
            &mut boss,
            "/api/connections/revoke",
            json!({ "name": name, "profile": "member" }),
        )
        .await;
    }
    let secrets: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(secrets, json!({ "api_key_claude": "mine" }));
    // Without shared keys nothing holds the user to the endpoint.
    let resp = generate(&mut mia, json!({ "custom_url": elsewhere.url })).await;
    let (_, auth) = next_request(&mut elsewhere).await;
    assert!(!auth.contains(SHARED), "{auth}");
    finish(&mut elsewhere, resp).await;
    s.stop().await;
}

const REFUSE_MODEL: &str = r#"
innkeeper.on("before_generate", function(ev)
  if ev.model == "forbidden" then
    return { allow = false, reason = "That model is not for " .. ev.handle .. " (" .. ev.kind .. ", " .. ev.source .. ")" }
  end
end)
"#;

/// Moves the server's clock past the next full hour when that is near, so
/// the test's hour window cannot end while it runs; returns the offset
/// (to apply again after a restart, which starts a fresh clock).
fn steady_hour(s: &Server) -> i64 {
    const HOUR: i64 = 3_600_000;
    let now = s.app.clock.now_ms();
    let left = HOUR - now.rem_euclid(HOUR);
    let offset = if left < 5 * 60_000 { left + 60_000 } else { 0 };
    s.app.clock.advance(offset);
    offset
}

#[tokio::test]
async fn limits_refuse_past_the_window_survive_a_restart_and_bound_parallel_streams() {
    let mut llm = Llm::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
    std::fs::write(dir.path().join("scripts/models.lua"), REFUSE_MODEL).unwrap();
    let mut config = common::test_config(dir.path());
    common::sillytavern::hosted(&mut config);
    let s = Server::start_in(dir, config).await;
    let offset = steady_hour(&s);
    let mut boss = admin(&s).await;
    s.create_user("lim", Some("pw"), false).await;
    s.create_user("par", Some("pw"), false).await;
    ok(
        &mut boss,
        "/api/permissions/profiles/save",
        json!({ "name": "metered", "allow": ["generate"], "perHour": 2, "perDay": 50 }),
    )
    .await;
    ok(
        &mut boss,
        "/api/permissions/users/set",
        json!({ "handle": "lim", "profile": "metered" }),
    )
    .await;
    ok(
        &mut boss,
        "/api/permissions/users/set",
        json!({ "handle": "par", "atOnce": 1 }),
    )
    .await;
    let mut lim = s.login("lim", "pw").await;
    s.wait_state("lim", "running", START).await;

    // A hook refuses by model, and the refusal is not counted.
    let a = common::Answer::read(
        generate(
            &mut lim,
            json!({ "custom_url": llm.url, "model": "forbidden" }),
        )
        .await,
    )
    .await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(a.error(), "That model is not for lim (text, custom)");
    for _ in 0..2 {
        let resp = generate(&mut lim, json!({ "custom_url": llm.url })).await;
        next_request(&mut llm).await;
        finish(&mut llm, resp).await;
    }
    let over = |a: &common::Answer| {
        assert_eq!(a.status, 429, "{}", a.body);
        let retry: u64 = a
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!((1..=3600).contains(&retry), "{retry}");
        let resets = a.body["resetsAt"].as_str().expect("resetsAt");
        assert!(resets.ends_with(":00:00Z"), "{resets}");
        assert!(a.error().contains("this hour"), "{}", a.error());
    };
    let a = common::Answer::read(generate(&mut lim, json!({ "custom_url": llm.url })).await).await;
    over(&a);
    assert!(saw_nothing(&mut llm, 300).await);
    let (_, me) = lim.post("/api/permissions/me", json!({})).await;
    assert_eq!(me["usage"], json!({ "hour": 2, "day": 2 }), "{me}");
    assert_eq!(me["limits"]["perDay"], 50);

    // The counts are on disk: a restart does not hand out fresh ones.
    let s = s.restart().await;
    s.app.clock.advance(offset);
    let mut lim = s.login("lim", "pw").await;
    s.wait_state("lim", "running", START).await;
    let a = common::Answer::read(generate(&mut lim, json!({ "custom_url": llm.url })).await).await;
    over(&a);
    let mut boss = s.login("boss", "pw").await;
    let (_, history) = boss
        .post("/api/permissions/usage", json!({ "handle": "lim" }))
        .await;
    let days = history["days"].as_array().expect("days");
    assert_eq!(days.len(), 14);
    assert_eq!(days[13]["count"], 2, "{history}");

    // One at a time: a second stream while the first runs gets 429.
    let mut par = s.login("par", "pw").await;
    s.wait_state("par", "running", START).await;
    let first = generate(&mut par, json!({ "custom_url": llm.url })).await;
    assert_eq!(first.status(), 200);
    next_request(&mut llm).await;
    let mut parallel = Vec::new();
    for _ in 0..3 {
        let mut c = Client::new(&par.base);
        c.http = par.http.clone();
        c.token = par.token.clone();
        parallel.push(tokio::spawn(async move {
            common::Answer::read(
                generate(&mut c, json!({ "custom_url": "http://127.0.0.1:9/v1" })).await,
            )
            .await
        }));
    }
    for p in parallel {
        let a = p.await.unwrap();
        assert_eq!(a.status, 429, "{}", a.body);
        assert!(a.error().contains("running"), "{}", a.error());
        assert!(a.header("retry-after").is_some());
    }
    finish(&mut llm, first).await;
    // The place is given back when the answer ends.
    let resp = generate(&mut par, json!({ "custom_url": llm.url })).await;
    next_request(&mut llm).await;
    finish(&mut llm, resp).await;
    s.stop().await;
}
