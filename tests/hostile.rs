//! Hostile input: random and malformed bodies, wrong types, huge strings,
//! invalid UTF-8, odd headers, broken cookies and every path-traversal form
//! we know, sent byte for byte to every route, logged in as an admin and
//! anonymous. Never a 5xx, never a dropped connection, never a byte of a
//! file outside the caller's folder, and the server still answers after.
//! Plus property tests of the parsers and validators behind those routes.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::Server;
use innkeeper::accounts::handle;
use innkeeper::userdata::{safe_path, snapshots};
use proptest::prelude::*;
use proptest::test_runner::{Config as PropConfig, TestCaseError, TestRunner};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Text planted next to the data root: no answer may ever contain it.
const OUTSIDE_SECRET: &str = "OUTSIDE-SECRET-7f3a9c";
/// Text planted in another user's folder: only an admin's backup of that
/// user may carry it.
const VICTIM_SECRET: &str = "VICTIM-SECRET-51be02";
/// Start of the SQLite file and of /etc/passwd.
const FORBIDDEN: &[&str] = &[OUTSIDE_SECRET, "SQLite format 3", "root:x:0:0"];

const GET_ROUTES: &[&str] = &[
    "/",
    "/index.html",
    "/login",
    "/csrf-token",
    "/healthz",
    "/api/server-info",
    "/api/ping",
    "/api/users/me",
    "/favicon.ico",
    "/img/default-user.png",
    "/static/login.js",
    "/avatars/victim",
    "/characters/x.png",
    "/backgrounds/x",
    "/User%20Avatars/x",
    "/assets/x",
    "/user/images/x",
    "/user/files/x",
    "/scripts/extensions/third-party/x",
];

/// Every POST route but logout (which would end the admin's session).
const POST_ROUTES: &[&str] = &[
    "/api/users/list",
    "/api/users/login",
    "/api/users/recover-step1",
    "/api/users/recover-step2",
    "/api/users/change-name",
    "/api/users/change-avatar",
    "/api/users/change-password",
    "/api/users/backup",
    "/api/users/reset-settings",
    "/api/users/reset-step1",
    "/api/users/reset-step2",
    "/api/users/usage",
    "/api/settings/get",
    "/api/settings/save",
    "/api/settings/get-snapshots",
    "/api/settings/load-snapshot",
    "/api/settings/make-snapshot",
    "/api/settings/restore-snapshot",
    "/api/users/get",
    "/api/users/create",
    "/api/users/delete",
    "/api/users/enable",
    "/api/users/disable",
    "/api/users/promote",
    "/api/users/demote",
    "/api/users/slugify",
    "/api/users/clear-limits",
    "/api/audit/list",
    "/api/backup/full",
];

/// Path-traversal forms, each aimed at a file outside the folder.
const TRAVERSALS: &[&str] = &[
    "../../../secret.txt",
    "../../../../secret.txt",
    "../../innkeeper.db",
    "../../victim/characters/secret.txt",
    "..%2f..%2f..%2fsecret.txt",
    "..%2F..%2F..%2Fsecret.txt",
    "%2e%2e/%2e%2e/%2e%2e/secret.txt",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt",
    "%252e%252e%252f%252e%252e%252fsecret.txt",
    "..%5c..%5c..%5csecret.txt",
    "..\\..\\..\\secret.txt",
    "....//....//....//secret.txt",
    "..;/..;/..;/secret.txt",
    "%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/secret.txt",
    "%ef%bc%8e%ef%bc%8e/%ef%bc%8e%ef%bc%8e/secret.txt",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "//etc/passwd",
    "..%00/secret.txt",
    "secret.txt%00.png",
    "../../../secret.txt%00.png",
    "./../.././../secret.txt",
    "a/../../../../secret.txt",
    "a/%2e%2e/%2e%2e/%2e%2e/%2e%2e/secret.txt",
    "C:/Windows/win.ini",
    "C:%5cWindows%5cwin.ini",
    "file:///etc/passwd",
    "..%252f..%252f..%252fsecret.txt",
    "%2e%2e%5c%2e%2e%5csecret.txt",
    "../../../../../../../../../../etc/passwd",
];

/// Handles and names as an attacker would write them.
const HANDLES: &[&str] = &[
    "victim",
    "default-user",
    "nobody",
    "../victim",
    "..",
    "../../secret.txt",
    "victim/../boss",
    "Victim",
    "victim\u{0}",
    "%2e%2e",
    "con",
    "a--b",
    "-a",
    "ünïcødé",
    "settings_victim_../../x",
];

struct Fixture {
    base: String,
    /// The admin's session cookie and CSRF token.
    sid: String,
    token: String,
}

/// One raw request; status 0 when the server closed without an answer.
async fn send(base: &str, request: &[u8]) -> (u16, Vec<u8>) {
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let _ = stream.write_all(request).await;
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut out)).await;
    assert!(
        read.is_ok(),
        "no answer within 30 s to {:?}",
        String::from_utf8_lossy(&request[..request.len().min(300)])
    );
    let status = std::str::from_utf8(&out[..out.len().min(20)])
        .ok()
        .and_then(|s| s.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, out)
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The head (lower-cased text) and body of a raw HTTP/1.1 answer, the
/// body put together from its chunks when it was sent chunked (as
/// streamed backups are): Err when the chunks are cut or broken. None
/// when the answer has no end of head.
fn split_answer(answer: &[u8]) -> Option<(String, Result<Vec<u8>, String>)> {
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
    let rest = &answer[end + 4..];
    if !head.contains("\r\ntransfer-encoding: chunked") {
        return Some((head, Ok(rest.to_vec())));
    }
    let body = dechunk(rest).ok_or_else(|| "cut or broken chunks".to_string());
    Some((head, body))
}

/// The data of a chunked body, None unless it ends with the last chunk.
fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = rest.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&rest[..line]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// The name and unpacked content of each entry of a zip.
type Entries = Vec<(String, Vec<u8>)>;

/// The name and unpacked content of every entry of a zip answer (a
/// backup): a secret in a deflated entry never shows in the answer's
/// bytes. None when the answer is not a zip; Err when it claims to be one
/// (by its type or its first bytes) and cannot be read whole.
fn zip_entries(answer: &[u8]) -> Option<Result<Entries, String>> {
    use std::io::Read;
    let (head, body) = split_answer(answer)?;
    let typed = head.contains("\r\ncontent-type: application/zip");
    let body = match body {
        Ok(body) if typed || body.starts_with(b"PK\x03\x04") => body,
        Err(e) if typed => return Some(Err(e)),
        _ => return None,
    };
    let read = || -> Result<Entries, String> {
        let mut archive =
            zip::ZipArchive::new(std::io::Cursor::new(body)).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).map_err(|e| e.to_string())?;
            let name = entry.name().map_err(|e| e.to_string())?.into_owned();
            let mut content = Vec::new();
            entry
                .read_to_end(&mut content)
                .map_err(|e| format!("{name}: {e}"))?;
            out.push((name, content));
        }
        Ok(out)
    };
    Some(read())
}

/// Asserts the answer is neither a 5xx, nor missing, nor leaking, in its
/// bytes or, for a zip, in any entry's name or unpacked content.
fn judge(path: &str, status: u16, body: &[u8], may_hold_victim: bool) -> Result<(), TestCaseError> {
    prop_assert!(status != 0, "no answer for {path}");
    prop_assert!(
        status < 500,
        "{status} for {path}: {}",
        String::from_utf8_lossy(body)
    );
    let mut places = vec![("the answer".to_string(), body.to_vec())];
    match zip_entries(body) {
        None => {}
        Some(Ok(entries)) => {
            for (name, content) in entries {
                places.push((
                    format!("the name of zip entry {name:?}"),
                    name.clone().into_bytes(),
                ));
                places.push((format!("zip entry {name:?}"), content));
            }
        }
        Some(Err(e)) => prop_assert!(false, "{path} answered a zip that does not read: {e}"),
    }
    for (place, bytes) in &places {
        for secret in FORBIDDEN {
            prop_assert!(
                !contains(bytes, secret),
                "{path} leaked {secret} in {place}"
            );
        }
        if !may_hold_victim {
            prop_assert!(
                !contains(bytes, VICTIM_SECRET),
                "{path} leaked another user's file in {place}"
            );
        }
    }
    Ok(())
}

/// A zip holding `content` deflated, sent as a streamed backup is: chunked.
fn chunked_zip_answer(name: &str, content: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(name, options).unwrap();
    zip.write_all(content).unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let mut answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/zip\r\n\
                       transfer-encoding: chunked\r\n\r\n"
        .to_vec();
    for chunk in bytes.chunks(100) {
        answer.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        answer.extend_from_slice(chunk);
        answer.extend_from_slice(b"\r\n");
    }
    answer.extend_from_slice(b"0\r\n\r\n");
    answer
}

/// The oracle finds a secret in a deflated zip entry of a chunked answer,
/// where a search of the answer's bytes cannot; and it refuses a zip
/// answer cut short rather than letting it pass unread.
#[test]
fn the_leak_oracle_looks_inside_zip_answers() {
    let padding = "chat line\n".repeat(200);
    for secret in FORBIDDEN.iter().chain([&VICTIM_SECRET]) {
        let answer = chunked_zip_answer(
            "chats/a.jsonl",
            format!("{padding}{secret}{padding}").as_bytes(),
        );
        assert!(
            !contains(&answer, secret),
            "deflated, {secret} is not in the bytes"
        );
        let may_hold_victim = false;
        assert!(
            judge("/api/users/backup", 200, &answer, may_hold_victim).is_err(),
            "{secret} inside the zip went unseen"
        );
    }
    let victims = chunked_zip_answer(
        "characters/secret.txt",
        format!("{padding}{VICTIM_SECRET}").as_bytes(),
    );
    assert!(judge("/api/users/backup", 200, &victims, true).is_ok());
    let clean = chunked_zip_answer("chats/a.jsonl", padding.as_bytes());
    assert!(judge("/api/users/backup", 200, &clean, false).is_ok());
    let cut = &clean[..clean.len() / 2];
    assert!(judge("/api/users/backup", 200, cut, false).is_err());
}

/// A raw HTTP/1.1 request with a correct Content-Length.
fn build(method: &str, path: &str, headers: &[(String, Vec<u8>)], body: &[u8]) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n")
        .into_bytes();
    for (k, v) in headers {
        r.extend_from_slice(k.as_bytes());
        r.extend_from_slice(b": ");
        r.extend_from_slice(v);
        r.extend_from_slice(b"\r\n");
    }
    r.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    r.extend_from_slice(body);
    r
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(vec![
            "handle", "name", "password", "newPassword", "oldPassword", "avatar", "code",
            "text", "purge", "admin", "before", "limit", "settings",
        ])
        .prop_map(str::to_string),
        1 => "\\PC{0,12}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,40}".prop_map(Value::from),
        proptest::sample::select(HANDLES).prop_map(Value::from),
        proptest::sample::select(TRAVERSALS)
            .prop_map(|t| Value::from(format!("settings_boss_{t}"))),
        Just(Value::from("data:image/png;base64,QUFB")),
        (0usize..200_000).prop_map(|n| Value::from("é".repeat(n))),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        // A body of the right shape with one field broken.
        3 => (proptest::collection::btree_map(key(), json_value(), 0..5))
            .prop_map(|m| serde_json::to_vec(&m).unwrap()),
        1 => proptest::collection::vec(any::<u8>(), 0..300),
        // Invalid UTF-8 inside a JSON string.
        1 => ("\\PC{0,20}", any::<u8>()).prop_map(|(s, b)| {
            let mut v = format!("{{\"handle\":\"{s}").into_bytes();
            v.push(0x80 | b);
            v.extend_from_slice(b"\",\"name\":\"x\"}");
            v
        }),
        // Truncated JSON.
        1 => (json_value(), any::<usize>()).prop_map(|(v, cut)| {
            let b = serde_json::to_vec(&v).unwrap();
            let n = if b.is_empty() { 0 } else { cut % b.len() };
            b[..n].to_vec()
        }),
        1 => Just(b"{\"a\":".repeat(10_000)),
        1 => Just("[".repeat(100_000).into_bytes()),
    ]
}

/// A header value: printable, sometimes with bytes past ASCII.
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => "[ -~]{0,80}".prop_map(String::into_bytes),
        1 => proptest::collection::vec(prop_oneof![0x20u8..0x7f, 0x80u8..=0xff], 0..60),
        1 => (0usize..6000).prop_map(|n| "A".repeat(n).into_bytes()),
    ]
}

fn odd_headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let name = proptest::sample::select(vec![
        "Cookie",
        "X-Forwarded-For",
        "X-Real-IP",
        "X-Forwarded-Proto",
        "Authorization",
        "Remote-User",
        "If-None-Match",
        "Accept-Encoding",
        "Origin",
        "Referer",
        "X-CSRF-Token",
        "Range",
        "Expect",
    ]);
    proptest::collection::vec((name.prop_map(str::to_string), header_value()), 0..3)
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    proptest::option::of(proptest::sample::select(vec![
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=zzz",
        "application/jsonx",
        "",
    ]))
}

#[derive(Debug, Clone)]
struct Case {
    admin: bool,
    method: &'static str,
    path: String,
    body: Vec<u8>,
    content_type: Option<&'static str>,
    csrf: u8,
    cookie: u8,
    headers: Vec<(String, Vec<u8>)>,
}

fn case() -> impl Strategy<Value = Case> {
    let route = prop_oneof![
        4 => proptest::sample::select(POST_ROUTES).prop_map(|p| ("POST", p.to_string())),
        1 => proptest::sample::select(GET_ROUTES).prop_map(|p| ("GET", p.to_string())),
        1 => (proptest::sample::select(vec!["PUT", "DELETE", "OPTIONS", "PATCH", "HEAD", "BREW"]),
              proptest::sample::select(POST_ROUTES)).prop_map(|(m, p)| (m, p.to_string())),
        1 => (proptest::sample::select(POST_ROUTES), "[a-zA-Z0-9%&=._~-]{0,40}")
            .prop_map(|(p, q)| ("POST", format!("{p}?{q}"))),
    ];
    (
        any::<bool>(),
        route,
        body(),
        content_type(),
        0u8..4,
        0u8..4,
        odd_headers(),
    )
        .prop_map(
            |(admin, (method, path), body, content_type, csrf, cookie, headers)| Case {
                admin,
                method,
                path,
                body,
                content_type,
                csrf,
                cookie,
                headers,
            },
        )
}

impl Case {
    fn request(&self, f: &Fixture) -> Vec<u8> {
        let mut h: Vec<(String, Vec<u8>)> = Vec::new();
        let cookie = match (self.admin, self.cookie) {
            (true, 0..=2) => Some(format!("innkeeper_sid={}", f.sid)),
            (true, _) => Some(format!(
                "a=b; innkeeper_sid={};;; =; innkeeper_sid=junk",
                f.sid
            )),
            (false, 0) => None,
            (false, 1) => Some("innkeeper_sid=".into()),
            (false, 2) => Some(format!("innkeeper_sid={}", "f".repeat(4000))),
            (false, _) => Some("innkeeper_sid=../../secret.txt; __Host-innkeeper_sid=%00".into()),
        };
        if let Some(c) = cookie {
            h.push(("Cookie".into(), c.into_bytes()));
        }
        match self.csrf {
            0..=2 => h.push(("X-CSRF-Token".into(), f.token.clone().into_bytes())),
            3 => h.push(("X-CSRF-Token".into(), format!("{}x", f.token).into_bytes())),
            _ => {}
        }
        if let Some(t) = self.content_type {
            h.push(("Content-Type".into(), t.as_bytes().to_vec()));
        }
        h.extend(self.headers.iter().cloned());
        build(self.method, &self.path, &h, &self.body)
    }
}

async fn fixture(s: &Server) -> Fixture {
    s.create_user("boss", Some("boss-pw"), true).await;
    s.create_user("victim", Some("victim-pw"), false).await;
    let outside = s.dir.path().join("secret.txt");
    std::fs::write(&outside, OUTSIDE_SECRET).unwrap();
    std::fs::write(s.data_root().join("secret.txt"), OUTSIDE_SECRET).unwrap();
    std::fs::write(
        s.user_dir("victim").join("characters/secret.txt"),
        VICTIM_SECRET,
    )
    .unwrap();
    std::fs::write(s.user_dir("boss").join("characters/mine.txt"), "mine").unwrap();
    let (mut c, sid) = s.login_with_cookie("boss", "boss-pw").await;
    let token = c.refresh_token().await;
    Fixture {
        base: s.base.clone(),
        sid,
        token,
    }
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(PropConfig {
        cases,
        failure_persistence: None,
        ..PropConfig::default()
    })
}

#[test]
fn random_requests_never_fail_the_server_nor_leak_files() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(Server::start_with(common::forwarding));
    let f = rt.block_on(fixture(&server));
    let tried = Arc::new(AtomicU64::new(0));
    let statuses = Arc::new(std::sync::Mutex::new(
        std::collections::BTreeMap::<u16, u64>::new(),
    ));

    let mut r = runner(2500);
    r.run(&case(), |c| {
        let (status, out) = rt.block_on(send(&f.base, &c.request(&f)));
        tried.fetch_add(1, Ordering::Relaxed);
        *statuses.lock().unwrap().entry(status).or_default() += 1;
        let may_hold_victim = c.admin && c.path.starts_with("/api/users/backup");
        judge(&c.path, status, &out, may_hold_victim)
    })
    .unwrap();

    // The server task is alive and the admin session still works.
    let (status, _) = rt.block_on(send(&f.base, &build("GET", "/healthz", &[], b"")));
    assert_eq!(status, 200, "healthz after the storm");
    println!(
        "hostile: {} random requests, statuses {:?}",
        tried.load(Ordering::Relaxed),
        statuses.lock().unwrap()
    );
    rt.block_on(server.stop());
}

#[tokio::test]
async fn every_traversal_form_stays_inside_the_callers_folder() {
    let server = Server::start().await;
    let f = fixture(&server).await;
    let mut tried = 0;
    let cookies = [Some(format!("innkeeper_sid={}", f.sid)), None];
    let prefixes = [
        "/characters/",
        "/backgrounds/",
        "/User%20Avatars/",
        "/User Avatars/",
        "/assets/",
        "/user/images/",
        "/user/files/",
        "/scripts/extensions/third-party/",
        "/avatars/",
        "/static/",
        "/img/",
        "/",
        "/api/",
    ];
    for cookie in &cookies {
        let h: Vec<(String, Vec<u8>)> = cookie
            .iter()
            .map(|c| ("Cookie".to_string(), c.clone().into_bytes()))
            .collect();
        for prefix in prefixes {
            for t in TRAVERSALS {
                let path = format!("{prefix}{t}")
                    .replace(' ', "%20")
                    .replace('\\', "%5c");
                let (status, out) = send(&f.base, &build("GET", &path, &h, b"")).await;
                tried += 1;
                judge(&path, status, &out, false).unwrap();
            }
        }
        // Snapshot names and handles with the same tricks.
        let mut hp = h.clone();
        hp.push(("X-CSRF-Token".into(), f.token.clone().into_bytes()));
        hp.push(("Content-Type".into(), b"application/json".to_vec()));
        for t in TRAVERSALS.iter().chain(HANDLES) {
            for name in [
                t.to_string(),
                format!("settings_boss_{t}"),
                format!("settings_boss_x/{t}"),
                format!("settings_boss_{t}.json"),
            ] {
                for route in [
                    "/api/settings/load-snapshot",
                    "/api/settings/restore-snapshot",
                ] {
                    let body = serde_json::to_vec(&json!({ "name": name })).unwrap();
                    let (status, out) = send(&f.base, &build("POST", route, &hp, &body)).await;
                    tried += 1;
                    judge(route, status, &out, false).unwrap();
                    assert!(
                        matches!(status, 400 | 403 | 404),
                        "{route} {name:?}: {status}"
                    );
                }
            }
            // The backup first, while the account still exists: its zip
            // goes through the oracle before a delete can make it a 404.
            for route in [
                "/api/users/backup",
                "/api/users/delete",
                "/api/users/usage",
                "/api/users/change-name",
                "/api/users/disable",
                "/api/users/create",
                "/api/users/recover-step1",
            ] {
                let body = serde_json::to_vec(&json!({ "handle": t, "name": t })).unwrap();
                let (status, out) = send(&f.base, &build("POST", route, &hp, &body)).await;
                tried += 1;
                judge(route, status, &out, route == "/api/users/backup").unwrap();
            }
        }
    }
    // The oracle reads real backups: the admin's backup of victim holds the
    // secret planted there, unpacked from the zip.
    let hp = vec![
        (
            "Cookie".to_string(),
            format!("innkeeper_sid={}", f.sid).into_bytes(),
        ),
        ("X-CSRF-Token".to_string(), f.token.clone().into_bytes()),
        ("Content-Type".to_string(), b"application/json".to_vec()),
    ];
    let body = serde_json::to_vec(&json!({ "handle": "victim" })).unwrap();
    let (status, out) = send(&f.base, &build("POST", "/api/users/backup", &hp, &body)).await;
    assert_eq!(status, 200);
    let entries = zip_entries(&out)
        .expect("the backup is a zip")
        .expect("the backup reads");
    assert!(
        entries
            .iter()
            .any(|(name, content)| name == "characters/secret.txt"
                && contains(content, VICTIM_SECRET)),
        "victim's secret is in their backup: {:?}",
        entries.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    // Nothing outside the data root was touched or removed.
    assert_eq!(
        std::fs::read_to_string(server.dir.path().join("secret.txt")).unwrap(),
        OUTSIDE_SECRET
    );
    assert!(server
        .user_dir("victim")
        .join("characters/secret.txt")
        .is_file());
    let (status, _) = send(&f.base, &build("GET", "/healthz", &[], b"")).await;
    assert_eq!(status, 200);
    println!("hostile: {tried} traversal requests");
    server.stop().await;
}

proptest! {
    #![proptest_config(PropConfig { cases: 2000, failure_persistence: None, ..PropConfig::default() })]

    #[test]
    fn slugify_gives_a_valid_handle_or_an_error_and_is_idempotent(text in "\\PC{0,80}|[ -~]{0,80}") {
        if let Ok(h) = handle::slugify(&text) {
            prop_assert!(handle::is_valid(&h), "{text:?} → {h:?}");
            prop_assert_eq!(handle::slugify(&h), Ok(h.clone()));
            prop_assert!(safe_path::check_relative(&h).is_ok());
        }
    }

    #[test]
    fn valid_handles_slugify_to_themselves(h in "[a-z0-9]{1,10}(-[a-z0-9]{1,10}){0,3}") {
        prop_assert!(handle::is_valid(&h));
        prop_assert_eq!(handle::slugify(&h), Ok(h.clone()));
    }

    #[test]
    fn snapshot_names_never_name_a_path(h in "[a-z0-9]{1,8}(-[a-z0-9]{1,8})?", name in "\\PC{0,60}|settings_[a-z0-9-]{0,12}_[ -~]{0,20}") {
        if snapshots::valid_name(&h, &name) {
            let prefix = format!("settings_{}_", h);
            prop_assert!(name.starts_with(&prefix));
            prop_assert!(name.ends_with(".json"));
            prop_assert!(!name.contains('/') && !name.contains('\\') && !name.contains('\0'));
            prop_assert!(!name[..name.len() - 5].contains('.'));
            let rel = safe_path::check_relative(&name).unwrap();
            prop_assert_eq!(rel.components().count(), 1);
        }
    }

    #[test]
    fn well_formed_snapshot_names_are_accepted(h in "[a-z0-9]{1,8}(-[a-z0-9]{1,8})?", stamp in "[A-Za-z0-9_-]{1,30}") {
        let name = format!("settings_{h}_{stamp}.json");
        prop_assert!(snapshots::valid_name(&h, &name));
        let other = format!("{h}x");
        prop_assert!(!snapshots::valid_name(&other, &name));
    }

    #[test]
    fn config_parse_never_panics_on_random_text(text in "\\PC{0,200}|[ -~\n\t]{0,200}") {
        let _ = innkeeper::config::parse(&text);
    }

    #[test]
    fn config_parse_never_panics_on_yaml_like_structures(entries in proptest::collection::vec((yaml_key(), yaml_scalar(), 0usize..3), 0..12)) {
        let mut text = String::new();
        for (k, v, indent) in &entries {
            text.push_str(&"  ".repeat(*indent));
            text.push_str(&format!("{k}: {v}\n"));
        }
        match innkeeper::config::parse(&text) {
            Ok((c, _)) => {
                prop_assert!((4..=10).contains(&c.recovery.code_digits));
                prop_assert!(c.limits.json_mb >= 1);
            }
            Err(problems) => prop_assert!(!problems.is_empty()),
        }
    }
}

fn yaml_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(vec![
            "dataRoot", "listen", "port", "protocol", "ipv4", "ipv6", "whitelistMode", "whitelist",
            "trustedProxies", "basicAuthMode", "basicAuthUser", "username", "password",
            "enableUserAccounts", "sessionTimeout", "numberOfBackups", "hostWhitelist", "hosts",
            "sso", "trustedHeader", "header", "recovery", "codeDigits", "hooks", "timeoutMs",
            "memoryLimitMb", "passwordHash", "logN", "r", "p", "concurrency", "ssl", "limits",
            "jsonMb", "settingsMb", "avatarMb", "logging", "level", "enabled",
        ])
        .prop_map(str::to_string),
        1 => "[a-zA-Z_.-]{1,12}",
    ]
}

fn yaml_scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u8>().prop_map(|n| n.to_string()),
        Just("true".into()),
        Just("no".into()),
        Just("~".into()),
        Just("[127.0.0.1, ::1, 10.0.0.0/8, nonsense]".into()),
        Just("{a: 1}".into()),
        Just("- x".into()),
        Just("&a x".into()),
        Just("*a".into()),
        Just("!!binary aGk=".into()),
        Just("'unterminated".into()),
        Just("1e400".into()),
        Just("99999999999999999999999".into()),
        "[ -~]{0,20}",
    ]
}
