//! A POST whose handler does not need its body still reads it before
//! answering (issue 13, point 3): otherwise the connection closes on unread
//! data, the kernel resets it, and a client can lose the end of the answer.

mod common;

use std::time::Duration;

use common::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn a_big_answer_to_a_post_whose_body_comes_late_arrives_whole() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw"), false).await;
    // A 4 MiB settings.json.
    let big = serde_json::json!({ "blob": "x".repeat(4 * 1024 * 1024) }).to_string();
    std::fs::write(s.user_dir("alice").join("settings.json"), &big).unwrap();
    let (mut alice, cookie) = s.login_with_cookie("alice", "pw").await;
    let token = alice.refresh_token().await;
    let addr = s.base.trim_start_matches("http://").to_string();
    for round in 0..30 {
        let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
        // As a browser sends it: the headers, then the body a moment later.
        let head = format!(
            "POST /api/settings/get HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: innkeeper_sid={cookie}\r\n\
             X-CSRF-Token: {token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\
             Connection: keep-alive\r\n\r\n"
        );
        sock.write_all(head.as_bytes()).await.unwrap();
        sock.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(15)).await;
        let _ = sock.write_all(b"{}").await;
        // Read the answer by its length (the connection stays open).
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut want: Option<(usize, usize)> = None;
        let mut error = None;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some((head, len)) = want {
                if out.len() >= head + len {
                    break;
                }
            }
            match tokio::time::timeout_at(deadline, sock.read(&mut buf)).await {
                Ok(Ok(0)) => {
                    error = Some("closed early".to_string());
                    break;
                }
                Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
                Ok(Err(e)) => {
                    error = Some(e.to_string());
                    break;
                }
                Err(_) => {
                    error = Some("timed out".into());
                    break;
                }
            }
            if want.is_none() {
                if let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") {
                    let headers = String::from_utf8_lossy(&out[..end]).to_ascii_lowercase();
                    assert!(
                        headers.starts_with("http/1.1 200"),
                        "round {round}: {headers}"
                    );
                    let len = headers
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map(|v| v.trim().parse().unwrap())
                        .expect("content-length");
                    want = Some((end + 4, len));
                }
            }
        }
        let (head, len) = want.expect("an answer");
        assert!(
            error.is_none(),
            "round {round}: {} of {len} bytes, then {error:?}",
            out.len() - head
        );
    }
    s.stop().await;
}
