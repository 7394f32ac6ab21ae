//! Running behind proxies and on the open network: host whitelist, trusted
//! proxies, header SSO, per-user basic auth, whole-root backups and
//! restore, HTTPS.

mod common;

use std::io::Read;

use base64::Engine;
use common::{raw_request, Answer, Server};
use reqwest::StatusCode;
use serde_json::json;

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

#[tokio::test]
async fn host_whitelist_refuses_foreign_hosts() {
    let s = Server::start_with(|c| {
        c.host_whitelist.enabled = true;
        c.host_whitelist.hosts = vec!["tavern.example.org".into()];
    })
    .await;
    let get = |host: &str| {
        let base = s.base.clone();
        let req = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        async move { raw_request(&base, &req).await }
    };
    let (status, body) = get("evil.example.com").await;
    assert_eq!(status, 403);
    assert!(
        body.contains("evil.example.com") && body.contains("hostWhitelist.hosts"),
        "{body}"
    );
    assert_eq!(get("tavern.example.org").await.0, 200);
    assert_eq!(get("tavern.example.org:8000").await.0, 200);
    assert_eq!(get("localhost:8000").await.0, 200);
    assert_eq!(get("127.0.0.1").await.0, 200);
    assert_eq!(get("127.8.9.10:8000").await.0, 200);
    assert_eq!(get("app.localhost").await.0, 200);
    assert_eq!(get("[::1]:8000").await.0, 200);
    // Names that only look like loopback are foreign (DNS can point them
    // anywhere).
    for host in [
        "127.evil.example",
        "127.0.0.1.evil.example",
        "localhost.evil.example",
        "evil-localhost",
        "[::1].evil.example",
        "127.0.0.1.",
        "0x7f.0.0.1",
    ] {
        assert_eq!(get(host).await.0, 403, "{host}");
    }
    s.stop().await;
}

/// With 127.0.0.1 trusted, X-Forwarded-For decides the client (and a
/// non-whitelisted forwarded client is refused); with another range
/// trusted, the same header is ignored.
#[tokio::test]
async fn forwarded_headers_count_only_from_trusted_proxies() {
    for (trusted, believed) in [("127.0.0.1", true), ("192.0.2.0/24", false)] {
        let s = Server::start_with(|c| c.trusted_proxies = vec![trusted.into()]).await;
        let (status, _) = raw_request(
            &s.base,
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(
            status,
            if believed { 403 } else { 200 },
            "trusted {trusted}"
        );
        let (status, _) = raw_request(
            &s.base,
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Real-IP: 203.0.113.9\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(
            status,
            if believed { 403 } else { 200 },
            "X-Real-IP, trusted {trusted}"
        );
        s.stop().await;
    }

    // The audit log and the login limits see the believed address.
    for (trusted, expect_ip) in [("127.0.0.1", "10.9.8.7"), ("192.0.2.0/24", "127.0.0.1")] {
        let s = Server::start_with(|c| {
            c.trusted_proxies = vec![trusted.into()];
            common::forwarding(c);
        })
        .await;
        s.create_user("carol", Some("right"), false).await;
        let mut c = s.client();
        let body = |password: &str| json!({"handle": "carol", "password": password});
        for _ in 0..5 {
            let a = c
                .post_from("10.9.8.7", "/api/users/login", body("no"))
                .await;
            assert_eq!(a.status, StatusCode::FORBIDDEN);
        }
        // Limited by IP: the limited address is the believed one.
        let a = c
            .post_from("10.9.8.7", "/api/users/login", body("right"))
            .await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
        let entries = s
            .app
            .store
            .run(|c| innkeeper::store::audit::list(c, None, 1))
            .await
            .unwrap();
        assert_eq!(
            entries[0].ip.as_deref(),
            Some(expect_ip),
            "trusted {trusted}"
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn https_per_trusted_proxy_makes_cookies_secure() {
    let s = Server::start().await;
    let mut c = s.client();
    let a = c
        .send(
            "/api/users/login",
            json!({"handle": "default-user"}),
            &[("X-Forwarded-Proto", "https")],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let line = a
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|l| l.starts_with("__Host-innkeeper_sid="))
        .expect("__Host- cookie")
        .to_string();
    assert!(
        line.contains("Secure") && line.contains("HttpOnly") && line.contains("Path=/"),
        "{line}"
    );
    s.stop().await;

    let s = Server::start_with(|c| c.trusted_proxies = vec!["192.0.2.1".into()]).await;
    let mut c = s.client();
    let a = c
        .send(
            "/api/users/login",
            json!({"handle": "default-user"}),
            &[("X-Forwarded-Proto", "https")],
        )
        .await;
    let line = a
        .session_cookie_line()
        .expect("plain cookie from an untrusted peer");
    assert!(!line.contains("Secure"), "{line}");
    s.stop().await;
}

#[tokio::test]
async fn sso_header_logs_in_from_trusted_proxies_only() {
    let s = Server::start_with(|c| c.sso.trusted_header.enabled = true).await;
    s.create_user("dora", Some("pw"), false).await;
    let client = reqwest::Client::new();
    let me = |header: Option<&'static str>| {
        let mut r = client.get(s.url("/api/users/me"));
        if let Some(h) = header {
            r = r.header("Remote-User", h);
        }
        r.send()
    };
    let resp = me(Some("dora")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        common::session_cookie_in(resp.headers()).is_some(),
        "a session is started"
    );
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["handle"], "dora");
    // Slug rules apply to the header.
    let v: serde_json::Value = me(Some("Dora")).await.unwrap().json().await.unwrap();
    assert_eq!(v["handle"], "dora");
    // Unknown handle without autoCreate.
    let resp = me(Some("stranger")).await.unwrap();
    assert_eq!(resp.status(), 403);
    assert!(s.user_row("stranger").await.is_none());
    // No header: anonymous.
    assert_eq!(me(None).await.unwrap().status(), 403);
    // A request that fails after the SSO login (here: a POST without a
    // CSRF token) still hands out the session it started.
    let resp = client
        .post(s.url("/api/settings/get"))
        .header("Remote-User", "dora")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let cookie = common::session_cookie_in(resp.headers()).expect("the new session's cookie");
    let me = common::Replay::new(&s.base, &cookie)
        .get("/api/users/me")
        .await;
    assert_eq!(me.body["handle"], "dora", "{}", me.body);
    s.stop().await;

    // autoCreate makes a regular user.
    let s = Server::start_with(|c| {
        c.sso.trusted_header.enabled = true;
        c.sso.trusted_header.auto_create = true;
    })
    .await;
    let resp = reqwest::Client::new()
        .get(s.url("/api/users/me"))
        .header("Remote-User", "New Person")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let u = s.user_row("new-person").await.expect("created");
    assert!(!u.admin && u.enabled);
    assert!(s.user_dir("new-person").join("settings.json").is_file());
    s.stop().await;

    // From an untrusted address the header is ignored.
    let s = Server::start_with(|c| {
        c.sso.trusted_header.enabled = true;
        c.trusted_proxies = vec!["192.0.2.0/24".into()];
    })
    .await;
    let resp = reqwest::Client::new()
        .get(s.url("/api/users/me"))
        .header("Remote-User", "default-user")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    s.stop().await;
}

#[tokio::test]
async fn per_user_basic_auth_logs_in_with_one_prompt() {
    let s = Server::start_with(|c| {
        c.basic_auth_mode = true;
        c.per_user_basic_auth = true;
    })
    .await;
    s.create_user("erin", Some("secret"), false).await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let resp = client.get(s.url("/api/users/me")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().get("www-authenticate").is_some());
    let resp = client
        .get(s.url("/api/users/me"))
        .header("Authorization", basic("erin", "secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["handle"], "erin");
    // The session carries on without the header: one prompt, not two.
    assert_eq!(
        client
            .get(s.url("/api/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Password-less accounts cannot log in this way.
    let fresh = reqwest::Client::new();
    let resp = fresh
        .get(s.url("/api/users/me"))
        .header("Authorization", basic("default-user", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // Wrong passwords count against the login limits.
    for _ in 0..5 {
        let resp = fresh
            .get(s.url("/api/users/me"))
            .header("Authorization", basic("erin", "wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
    }
    let resp = fresh
        .get(s.url("/api/users/me"))
        .header("Authorization", basic("erin", "secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().get("retry-after").is_some());
    s.stop().await;
}

#[tokio::test]
async fn full_backup_restores_into_a_root_a_fresh_server_starts_on() {
    let s = Server::start_with(|c| c.backups.allow_full_data_backup = true).await;
    s.create_user("fay", Some("pw"), false).await;
    std::fs::write(
        s.user_dir("fay").join("characters/card.json"),
        b"{\"name\":\"x\"}",
    )
    .unwrap();
    let mut fay = s.login("fay", "pw").await;
    let (status, _) = fay.post("/api/backup/full", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins only");
    let mut admin = s.login("default-user", "").await;
    let resp = admin.post_raw("/api/backup/full", json!({})).await;
    assert_eq!(resp.status(), 200);
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.contains("innkeeper-data-"), "{disposition}");
    let bytes = resp.bytes().await.unwrap();
    let names: Vec<String> = {
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        (0..z.len())
            .map(|i| z.by_index(i).unwrap().name().unwrap().to_string())
            .collect()
    };
    assert!(names.contains(&"innkeeper.db".to_string()), "{names:?}");
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with("-wal") || n.contains(".innkeeper-tmp-")),
        "{names:?}"
    );
    // No copy of the database is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(s.data_root())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".innkeeper-tmp-")
        })
        .collect();
    assert!(leftovers.is_empty());
    s.stop().await;

    // Restore into an empty root and start a fresh server on it.
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("backup.zip");
    std::fs::write(&zip_path, &bytes).unwrap();
    let root = dir.path().join("restored");
    innkeeper::userdata::restore::restore(&zip_path, &root, false).unwrap();
    let store = innkeeper::store::Store::open(&root).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    drop(store);
    let mut card = String::new();
    std::fs::File::open(root.join("fay/characters/card.json"))
        .unwrap()
        .read_to_string(&mut card)
        .unwrap();
    assert_eq!(card, "{\"name\":\"x\"}");
    let config_dir = tempfile::tempdir().unwrap();
    let mut c = common::test_config(config_dir.path());
    c.data_root = root.clone();
    let s2 = Server::start_in(config_dir, c).await;
    let mut fay = s2.login("fay", "pw").await;
    let (status, body) = fay.post("/api/settings/get", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    s2.stop().await;
    // A second restore into the now non-empty root is refused.
    let err = innkeeper::userdata::restore::restore(&zip_path, &root, false).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
}

#[tokio::test]
async fn full_backup_is_off_by_default() {
    let s = Server::start().await;
    let mut admin = s.login("default-user", "").await;
    let a = Answer::read(admin.post_raw("/api/backup/full", json!({})).await).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.error().contains("allowFullDataBackup"));
    s.stop().await;
}

/// `ssl.enabled` serves HTTPS directly; cookies then are `Secure` with the
/// `__Host-` prefix; a missing certificate is an error naming the file.
#[tokio::test]
async fn https_is_served_directly_with_secure_cookies() {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;

    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).unwrap();

    let mut missing = common::test_config(dir.path());
    missing.ssl.enabled = true;
    missing.ssl.cert_path = dir.path().join("nope.pem");
    missing.ssl.key_path = key_path.clone();
    let err = innkeeper::app::App::open(
        missing,
        innkeeper::clock::Clock::default(),
        innkeeper::console::Console::default(),
    )
    .err()
    .expect("refused");
    assert!(err.to_string().contains("nope.pem"), "{err}");

    let mut c = common::test_config(dir.path());
    c.ssl.enabled = true;
    c.ssl.cert_path = cert_path;
    c.ssl.key_path = key_path;
    let s = Server::start_in(dir, c).await;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let request = |req: String| {
        let connector = connector.clone();
        let addr = s.base.trim_start_matches("http://").to_string();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
            tls.write_all(req.as_bytes()).await.unwrap();
            let mut out = Vec::new();
            let _ = tls.read_to_end(&mut out).await;
            String::from_utf8_lossy(&out).into_owned()
        }
    };
    let health =
        request("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".into())
            .await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let token =
        request("GET /csrf-token HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".into())
            .await;
    let cookie_line = token
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: __host-innkeeper_sid=")
        })
        .expect("__Host- cookie over HTTPS");
    assert!(cookie_line.contains("Secure"), "{cookie_line}");
    // Plain HTTP on the TLS port gets no answer.
    let (status, _) = raw_request(
        &s.base,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 0);
    s.stop().await;
}

#[test]
fn console_backup_and_restore() {
    let bin = env!("CARGO_BIN_EXE_innkeeper");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), "passwordHash:\n  logN: 4\n").unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    assert!(run(&["user", "create", "gil", "--password", "pw"])
        .status
        .success());
    std::fs::write(dir.path().join("data/gil/chats/c.jsonl"), "line\n").unwrap();
    let out = run(&["backup", "--all", "-o", "all.zip"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Refused into the non-empty root, accepted into an empty one.
    let out = run(&["restore", "all.zip"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    let out = run(&["--data-root", "copy", "restore", "all.zip"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("copy/gil/chats/c.jsonl")).unwrap(),
        "line\n"
    );
    let out = run(&["--data-root", "copy", "user", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("gil"));
}

/// SPEC §9 and issue 14, point 8: on loopback an admin without a password
/// is a warning (the normal first start), never an error; beyond loopback
/// it refuses the start, or with `securityOverride` is an error.
#[tokio::test]
async fn a_passwordless_admin_is_a_warning_on_loopback_only() {
    let s = Server::start().await;
    let v = innkeeper::safety::check(&s.app).await.unwrap();
    assert!(v.loud.is_empty() && v.refusals.is_empty(), "{v:?}");
    assert!(
        v.warnings[0].contains("admin account 'default-user' has no password"),
        "{v:?}"
    );
    s.stop().await;
    let s = Server::start_with(|c| c.listen = true).await;
    let v = innkeeper::safety::check(&s.app).await.unwrap();
    assert!(v.refusals[0].contains("has no password"), "{v:?}");
    s.stop().await;
    let s = Server::start_with(|c| {
        c.listen = true;
        c.security_override = true;
    })
    .await;
    let v = innkeeper::safety::check(&s.app).await.unwrap();
    assert!(v.loud[0].contains("has no password"), "{v:?}");
    s.stop().await;
}
