//! What stands in front of every route: the IP whitelist, single-account
//! basic auth, and the security headers every answer carries.

mod common;

use base64::Engine;
use common::{raw_request, Server};

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

#[tokio::test]
async fn basic_auth_mode_challenges_until_the_right_pair() {
    let s = Server::start_with(|c| {
        c.basic_auth_mode = true;
        c.basic_auth_user.username = "innkeeper".into();
        c.basic_auth_user.password = "s3cret".into();
    })
    .await;
    let http = reqwest::Client::new();
    for auth in [
        None,
        Some(basic("innkeeper", "wrong")),
        Some(basic("other", "s3cret")),
    ] {
        let mut req = http.get(s.url("/healthz"));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401);
        let challenge = resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.starts_with("Basic realm="), "{challenge}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert!(body["error"].is_string());
    }
    let resp = http
        .get(s.url("/healthz"))
        .header("Authorization", basic("innkeeper", "s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    s.stop().await;
}

#[tokio::test]
async fn clients_outside_the_whitelist_get_a_403_page() {
    // Only a range the test client is not in.
    let s = Server::start_with(|c| c.whitelist = vec!["192.0.2.0/24".into()]).await;
    let (status, text) = raw_request(
        &s.base,
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        text.contains("text/html") && text.contains("127.0.0.1"),
        "{text}"
    );
    s.stop().await;
    // With whitelistMode off, anyone may connect.
    let s = Server::start_with(|c| {
        c.whitelist = vec!["192.0.2.0/24".into()];
        c.whitelist_mode = false;
    })
    .await;
    let (status, _) = raw_request(
        &s.base,
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200);
    s.stop().await;
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let s = Server::start().await;
    let mut c = s.client();
    let answers = [
        c.fetch("/login").await,
        c.fetch("/static/style.css").await,
        c.fetch("/api/users/me").await,
        c.fetch("/no/such/path").await,
        c.send("/api/users/list", serde_json::json!({}), &[]).await,
    ];
    for a in answers {
        let csp = a.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(a.header("x-content-type-options"), Some("nosniff"));
        assert!(a.header("referrer-policy").is_some());
    }
    // Embedded assets are cached by ETag.
    let first = c.fetch("/static/style.css").await;
    let etag = first.header("etag").expect("etag").to_string();
    let again = c
        .http
        .get(s.url("/static/style.css"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let page = c.fetch("/login").await;
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    // Scripts (ES modules importing each other) and styles are revalidated
    // on every load, so an upgrade never mixes old and new modules;
    // pictures may stay a day.
    for path in ["/static/app.js", "/static/api.js", "/static/style.css"] {
        let a = c.fetch(path).await;
        assert_eq!(a.status, 200, "{path}");
        assert_eq!(a.header("cache-control"), Some("no-cache"), "{path}");
        assert!(a.header("etag").is_some(), "{path}");
    }
    let img = c.fetch("/favicon.ico").await;
    assert_eq!(img.header("cache-control"), Some("public, max-age=86400"));
    s.stop().await;
}
