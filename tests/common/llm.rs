//! A small OpenAI-compatible server for the streaming tests (the one part
//! of the chain that may be ours: a real model is out of reach). It
//! answers `POST …/chat/completions` with server-sent events: the first
//! chunk at once, the rest only when the test releases them, so a test
//! can see that chunks reach the browser before the stream has ended. It
//! reports when a client connection closes.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};

/// What the server saw.
#[derive(Debug)]
pub enum Seen {
    /// A request came in (its path, body and `Authorization` header, empty
    /// when none).
    Request {
        path: String,
        body: String,
        authorization: String,
    },
    /// The first chunk was written.
    SentFirst,
    /// Every chunk was written.
    SentAll,
    /// The client closed the connection before the stream ended.
    Closed(Instant),
}

pub struct Llm {
    /// `http://127.0.0.1:<port>/v1`, the base URL SillyTavern is given.
    pub url: String,
    pub seen: mpsc::UnboundedReceiver<Seen>,
    release: Arc<Notify>,
}

/// Chunks after the first.
pub const REST: &[&str] = &[" there", ", how", " are", " you?"];

impl Llm {
    pub async fn start() -> Llm {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/v1", listener.local_addr().expect("addr"));
        let (tx, seen) = mpsc::unbounded_channel();
        let release = Arc::new(Notify::new());
        let r = release.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, tx.clone(), r.clone()));
            }
        });
        Llm { url, seen, release }
    }

    /// Lets the stream under way send the rest of its chunks.
    pub fn release(&self) {
        self.release.notify_one();
    }

    /// The next thing seen, within `secs` seconds.
    pub async fn next(&mut self, secs: u64) -> Seen {
        tokio::time::timeout(std::time::Duration::from_secs(secs), self.seen.recv())
            .await
            .expect("the model server saw nothing in time")
            .expect("the model server stopped")
    }
}

fn chunk(text: &str) -> String {
    let event = serde_json::json!({
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "test",
        "choices": [{ "index": 0, "delta": { "content": text }, "finish_reason": null }],
    });
    let data = format!("data: {event}\n\n");
    format!("{:x}\r\n{data}\r\n", data.len())
}

async fn serve(mut stream: TcpStream, tx: mpsc::UnboundedSender<Seen>, release: Arc<Notify>) {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    // Headers, then the body by Content-Length.
    let (head_end, length) = loop {
        let Ok(n) = stream.read(&mut tmp).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..pos]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (pos + 4, length);
        }
    };
    while buf.len() < head_end + length {
        let Ok(n) = stream.read(&mut tmp).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
    let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
    let authorization = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("authorization")
                .then(|| value.trim().to_string())
        })
        .unwrap_or_default();
    let _ = tx.send(Seen::Request {
        path,
        body,
        authorization,
    });
    let start = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
                 Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    if stream.write_all(start.as_bytes()).await.is_err()
        || stream.write_all(chunk("Hello").as_bytes()).await.is_err()
    {
        let _ = tx.send(Seen::Closed(Instant::now()));
        return;
    }
    let _ = tx.send(Seen::SentFirst);
    // Wait for the test, watching for the client going away meanwhile.
    tokio::select! {
        _ = release.notified() => {}
        n = stream.read(&mut tmp) => {
            if matches!(n, Ok(0) | Err(_)) {
                let _ = tx.send(Seen::Closed(Instant::now()));
                return;
            }
        }
    }
    for text in REST {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        if stream.write_all(chunk(text).as_bytes()).await.is_err() {
            let _ = tx.send(Seen::Closed(Instant::now()));
            return;
        }
    }
    let done = "data: [DONE]\n\n";
    let _ = stream
        .write_all(format!("{:x}\r\n{done}\r\n0\r\n\r\n", done.len()).as_bytes())
        .await;
    let _ = tx.send(Seen::SentAll);
}

/// A streamed generation through the proxy, headers received.
pub struct Generation {
    pub resp: reqwest::Response,
    pub started: Instant,
}

/// Asks the user's SillyTavern for a streamed chat completion from the
/// model server at `url` (source "custom"); returns once the answer's
/// headers are in.
pub async fn start_generation(c: &mut super::Client, url: &str) -> Generation {
    if c.token.is_none() {
        c.refresh_token().await;
    }
    let started = Instant::now();
    let resp = c
        .http
        .post(format!("{}/api/backends/chat-completions/generate", c.base))
        .header("X-CSRF-Token", c.token.clone().unwrap_or_default())
        .json(&serde_json::json!({
            "chat_completion_source": "custom",
            "custom_url": url,
            "model": "test",
            "messages": [{ "role": "user", "content": "Hi" }],
            "stream": true,
            "temperature": 1,
            "max_tokens": 50,
        }))
        .send()
        .await
        .expect("generate");
    assert_eq!(resp.status(), 200, "generate answered {}", resp.status());
    Generation { resp, started }
}

impl Generation {
    /// The next piece of the body, within `secs` seconds (None at the end).
    pub async fn next_chunk(&mut self, secs: u64) -> Option<bytes::Bytes> {
        tokio::time::timeout(std::time::Duration::from_secs(secs), self.resp.chunk())
            .await
            .expect("no chunk in time")
            .expect("body error")
    }

    /// Reads the rest; returns every chunk.
    pub async fn finish(mut self) -> Vec<bytes::Bytes> {
        let mut out = Vec::new();
        while let Some(c) = self.next_chunk(30).await {
            out.push(c);
        }
        out
    }
}
