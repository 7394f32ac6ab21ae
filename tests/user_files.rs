//! The user-file routes (issue 13, point 2): a file a user uploaded never
//! runs as this site (sandboxed, no type sniffing; persona pictures only
//! as pictures), and files answer conditional and range requests, so
//! audio and video can seek.

mod common;

use common::Server;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn uploaded_pages_are_sandboxed_and_persona_pictures_are_pictures_only() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw"), false).await;
    let home = s.user_dir("alice");
    std::fs::write(
        home.join("characters/evil.html"),
        "<script>alert(document.cookie)</script>",
    )
    .unwrap();
    std::fs::write(
        home.join("User Avatars/evil.svg"),
        "<svg onload=\"alert(1)\"/>",
    )
    .unwrap();
    let mut alice = s.login("alice", "pw").await;
    let page = alice.get("/characters/evil.html").await;
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.starts_with("sandbox"), "{csp}");
    assert!(!csp.contains("script-src"), "{csp}");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    // An SVG named as the persona picture is not shown to anyone.
    let (status, _) = alice
        .post("/api/settings/save", json!({ "user_avatar": "evil.svg" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        alice.fetch("/api/users/me").await.body["avatar"],
        "/img/default-user.png"
    );
    assert_eq!(
        s.client().fetch("/avatars/alice").await.status,
        StatusCode::NOT_FOUND
    );
    s.stop().await;
}

#[tokio::test]
async fn files_answer_ranges_and_conditional_requests() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw"), false).await;
    let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(s.user_dir("alice").join("user/files/song.mp3"), &data).unwrap();
    let alice = s.login("alice", "pw").await;
    let url = s.url("/user/files/song.mp3");
    let whole = alice.http.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    let etag = whole.headers()["etag"].to_str().unwrap().to_string();
    let modified = whole.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(&whole.bytes().await.unwrap()[..], &data[..]);

    let get = |headers: Vec<(&'static str, String)>| {
        let mut r = alice.http.get(&url);
        for (k, v) in headers {
            r = r.header(k, v);
        }
        r.send()
    };
    for (range, start, end) in [
        ("bytes=100-199", 100, 199),
        ("bytes=-10", 990, 999),
        ("bytes=900-", 900, 999),
        ("bytes=990-5000", 990, 999),
    ] {
        let r = get(vec![("Range", range.into())]).await.unwrap();
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            r.headers()["content-range"],
            format!("bytes {start}-{end}/1000").as_str(),
            "{range}"
        );
        assert_eq!(&r.bytes().await.unwrap()[..], &data[start..=end], "{range}");
    }
    let r = get(vec![("Range", "bytes=2000-".into())]).await.unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.headers()["content-range"], "bytes */1000");
    // A range for another version of the file gets the whole file.
    let r = get(vec![
        ("Range", "bytes=0-9".into()),
        ("If-Range", "W/\"other\"".into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().len(), 1000);
    // Conditional requests.
    let r = get(vec![("If-None-Match", etag.clone())]).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let r = get(vec![("If-Modified-Since", modified)]).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    std::fs::write(
        s.user_dir("alice").join("user/files/song.mp3"),
        b"changed, and longer than before: a new version",
    )
    .unwrap();
    let r = get(vec![("If-None-Match", etag)]).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    s.stop().await;
}
