//! Streaming through the proxy (issue 12): a generation's server-sent
//! events reach the client as they come (the first before the model server
//! has sent the last), and a client that goes away closes the upstream
//! chain at once, so the model server sees its connection end within a
//! second. Also: what the proxy sends upstream (no browser cookie, no
//! forwarded-for, no credentials) and body limits with streamed uploads.

mod common;

use std::time::{Duration, Instant};

use common::llm::{start_generation, Llm, Seen, REST};
use common::Server;
use reqwest::StatusCode;
use serde_json::json;

const START: Duration = Duration::from_secs(90);

#[tokio::test]
async fn a_streamed_generation_arrives_in_chunks_before_it_ends() {
    let mut llm = Llm::start().await;
    let s = Server::hosted(|_| {}).await;
    s.create_user("alice", Some("pw"), false).await;
    let mut alice = s.login("alice", "pw").await;
    s.wait_state("alice", "running", START).await;

    let mut generation = start_generation(&mut alice, &llm.url).await;
    match llm.next(30).await {
        Seen::Request { path, body, .. } => {
            assert_eq!(path, "/v1/chat/completions");
            assert!(body.contains("\"stream\":true"), "{body}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(llm.next(30).await, Seen::SentFirst));
    // The first chunk is here while the model server still holds the rest.
    let first = generation.next_chunk(10).await.expect("a first chunk");
    let first = String::from_utf8_lossy(&first).into_owned();
    assert!(first.contains("Hello"), "{first}");
    assert!(llm.seen.try_recv().is_err(), "the server sent more already");
    llm.release();
    let rest = generation.finish().await;
    assert!(matches!(llm.next(10).await, Seen::SentAll));
    let text: String = rest.iter().map(|c| String::from_utf8_lossy(c)).collect();
    for piece in REST {
        assert!(text.contains(piece), "{piece:?} missing from {text}");
    }
    assert!(text.contains("[DONE]"));
    assert!(
        rest.len() >= 2,
        "the rest came in {} chunk(s): buffered",
        rest.len()
    );
    s.stop().await;
}

#[tokio::test]
async fn a_client_that_goes_away_closes_the_upstream_at_once() {
    let mut llm = Llm::start().await;
    let s = Server::hosted(|_| {}).await;
    s.create_user("alice", Some("pw"), false).await;
    let mut alice = s.login("alice", "pw").await;
    s.wait_state("alice", "running", START).await;
    for round in 0..3 {
        let mut generation = start_generation(&mut alice, &llm.url).await;
        assert!(matches!(llm.next(30).await, Seen::Request { .. }));
        assert!(matches!(llm.next(30).await, Seen::SentFirst));
        assert!(generation.next_chunk(10).await.is_some());
        // The Stop button: the browser drops the answer.
        let dropped = Instant::now();
        drop(generation);
        match llm.next(5).await {
            Seen::Closed(at) => {
                let took = at.duration_since(dropped);
                assert!(
                    took < Duration::from_secs(1),
                    "round {round}: the model server saw the close after {took:?}"
                );
            }
            other => panic!("round {round}: {other:?}"),
        }
        // The process is not left busy: the request ended.
        let end = Instant::now() + Duration::from_secs(5);
        while s.process("alice")["inFlight"] != 0 {
            assert!(Instant::now() < end, "{}", s.process("alice"));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    s.stop().await;
}

#[tokio::test]
async fn uploads_stream_through_and_bodies_over_the_limit_get_413() {
    let s = Server::hosted(|c| c.limits.settings_mb = 2).await;
    s.create_user("alice", Some("pw"), false).await;
    let mut alice = s.login("alice", "pw").await;
    s.wait_state("alice", "running", START).await;
    // A background upload as the frontend sends it (multipart).
    let png = std::fs::read(common::sillytavern::install().join("public/img/ai4.png")).unwrap();
    let boundary = "----innkeeper-test";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"test-bg.png\"\r\n\
             Content-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&png);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let a = alice
        .post_body(
            "/api/backgrounds/upload",
            &format!("multipart/form-data; boundary={boundary}"),
            body,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let stored = s.user_dir("alice").join("backgrounds/test-bg.png");
    assert_eq!(std::fs::read(&stored).unwrap(), png);
    // Over the limit, declared: refused before anything is sent.
    let big = vec![b'x'; 3 * 1024 * 1024];
    let a = alice
        .post_body("/api/characters/all", "application/json", big.clone())
        .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.body);
    // Over the limit, streamed without a length: cut off with 413.
    let token = alice.token.clone().unwrap();
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..48).map(|_| Ok(vec![b' '; 64 * 1024])).collect();
    let resp = alice
        .http
        .post(format!("{}/api/characters/all", alice.base))
        .header("X-CSRF-Token", token)
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // The process is fine afterwards.
    assert!(!alice.character_names().await.is_empty());
    let _ = json!(null);
    s.stop().await;
}

/// What the proxy sends upstream and lets back, seen by a server that
/// records the request it gets (the proxy itself is the part under test).
#[tokio::test]
async fn the_proxy_sends_only_the_signed_session_and_drops_cookies_coming_back() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 16384];
        let mut got = Vec::new();
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = sock.read(&mut buf).await.unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        let _ = tx.send(String::from_utf8_lossy(&got).into_owned());
        let answer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: session-x=1; path=/\r\n\
                      Set-Cookie: session-x.sig=2\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok";
        sock.write_all(answer.as_bytes()).await.unwrap();
    });
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in [
        ("cookie", "innkeeper_sid=browser-secret; session-x=forged"),
        ("authorization", "Basic dXNlcjpwYXNz"),
        ("x-csrf-token", "token"),
        ("x-forwarded-for", "203.0.113.9"),
        ("x-forwarded-host", "evil.example"),
        ("x-real-ip", "203.0.113.9"),
        ("forwarded", "for=203.0.113.9"),
        ("remote-user", "admin"),
        ("connection", "keep-alive, x-hop"),
        ("x-hop", "1"),
        ("accept", "application/json"),
        ("host", "innkeeper.example"),
    ] {
        headers.append(k, v.parse().unwrap());
    }
    let proxy = innkeeper::hosting::proxy::Proxy::new();
    let resp = proxy
        .forward(
            port,
            innkeeper::hosting::proxy::Forward {
                method: reqwest::Method::GET,
                path_and_query: "/api/ping?x=1".into(),
                headers,
                body: Box::pin(futures_util::stream::empty()),
                limit: 1024,
                cookie: "session-abc=eyJ9; session-abc.sig=sig".into(),
                strip: Some("remote-user".parse().unwrap()),
                inject: None,
                filter: None,
            },
            (),
        )
        .await
        .unwrap();
    let head = rx.await.unwrap().to_ascii_lowercase();
    assert!(head.starts_with("get /api/ping?x=1 http/1.1"), "{head}");
    assert!(
        head.contains(&format!("host: 127.0.0.1:{port}\r\n")),
        "{head}"
    );
    assert!(
        head.contains("cookie: session-abc=eyj9; session-abc.sig=sig\r\n"),
        "{head}"
    );
    assert!(head.contains("accept: application/json"), "{head}");
    for gone in [
        "browser-secret",
        "forged",
        "authorization",
        "x-csrf-token",
        "x-forwarded",
        "x-real-ip",
        "forwarded:",
        "remote-user",
        "x-hop",
        "evil.example",
        "innkeeper.example",
    ] {
        assert!(!head.contains(gone), "{gone} reached upstream: {head}");
    }
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("set-cookie").is_none());
    assert!(resp.headers().get("keep-alive").is_none());
}

#[tokio::test]
async fn an_upload_over_the_storage_quota_gets_507_and_small_calls_pass() {
    let s = Server::hosted(|c| c.quotas.default_mb = 1).await;
    s.create_user("alice", Some("pw"), false).await;
    std::fs::write(
        s.user_dir("alice").join("chats-export.bin"),
        vec![b'x'; 2 * 1024 * 1024],
    )
    .unwrap();
    let mut alice = s.login("alice", "pw").await;
    s.wait_state("alice", "running", START).await;
    let boundary = "----innkeeper-quota";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"over.png\"\r\n\
             Content-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&vec![0u8; 100 * 1024]);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let a = alice
        .post_body(
            "/api/backgrounds/upload",
            &format!("multipart/form-data; boundary={boundary}"),
            body,
        )
        .await;
    assert_eq!(a.status, StatusCode::INSUFFICIENT_STORAGE, "{}", a.body);
    assert!(
        a.error().starts_with("Storage quota exceeded"),
        "{}",
        a.body
    );
    assert!(!s.user_dir("alice").join("backgrounds/over.png").exists());
    // Small calls, deletes among them, still reach SillyTavern.
    let a = alice.st("/api/characters/all", serde_json::json!({})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = alice
        .st(
            "/api/backgrounds/delete",
            serde_json::json!({ "bg": "none.png" }),
        )
        .await;
    assert_ne!(a.status, StatusCode::INSUFFICIENT_STORAGE, "{}", a.body);
    s.stop().await;
}
