//! The first request a SillyTavern client makes, end to end.

mod common;

use common::Server;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn csrf_then_list_then_login() {
    let s = Server::start().await;
    let mut c = s.client();
    let (status, body) = c.post("/api/users/list", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["handle"], "default-user");
    assert_eq!(body[0]["avatar"], "/img/default-user.png");
    let (status, body) = c
        .post("/api/users/login", json!({ "handle": "default-user" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let me: serde_json::Value = c.get("/api/users/me").await.json().await.unwrap();
    assert_eq!(me["handle"], "default-user");
    assert_eq!(me["admin"], true);
    s.stop().await;
}
