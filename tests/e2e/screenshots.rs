//! The pictures in the README: the login page (list and discreet), the
//! account view and the admin view, each 1280 and 360 px wide, written to
//! target/screenshots/readme/ on every run (so the suite proves they can be
//! taken) and into docs/screenshots/ when INNKEEPER_UPDATE_SCREENSHOTS=1 is
//! set — the committed pictures then change only when someone means it.

use std::path::{Path, PathBuf};

use base64::Engine;
use innkeeper::accounts::service::NewUser;
use innkeeper::app::Actor;
use serde_json::json;

use crate::common::Server;
use crate::support::{login_list, png_with, t, Browser};

const WIDTHS: [(u32, u32); 2] = [(1280, 900), (360, 780)];

fn docs_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if crate::support::updating_docs_screenshots() {
        root.join("docs/screenshots")
    } else {
        root.join("target/screenshots/readme")
    }
}

/// A soft two-colour gradient, as a data URL.
fn avatar(from: [u8; 3], to: [u8; 3]) -> String {
    let n = 96;
    let png = png_with(n, n, |x, y| {
        let k = (x + y) as f32 / (2 * (n - 1)) as f32;
        let mix = |a: u8, b: u8| (a as f32 + (b as f32 - a as f32) * k).round() as u8;
        [
            mix(from[0], to[0]),
            mix(from[1], to[1]),
            mix(from[2], to[2]),
        ]
    });
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

/// A few people with names, pictures and passwords, as a real server would have.
async fn populate(s: &Server) {
    let people = [
        (
            "mira",
            "Mira Okafor",
            Some("pw-mira"),
            true,
            Some(([232, 121, 62], [142, 48, 96])),
        ),
        (
            "flux-the-cat",
            "Flux the Cat",
            None,
            false,
            Some(([92, 160, 214], [40, 72, 150])),
        ),
        ("sam", "Sam Rivera", Some("pw-sam"), false, None),
        (
            "june",
            "June Park",
            Some("pw-june"),
            false,
            Some(([120, 190, 120], [32, 110, 90])),
        ),
    ];
    for (handle, name, password, admin, colours) in people {
        s.app
            .accounts()
            .create_user(
                &Actor::console(),
                NewUser {
                    handle: handle.into(),
                    name: name.into(),
                    password: password.map(str::to_string),
                    admin,
                },
            )
            .await
            .expect("user created");
        if let Some((from, to)) = colours {
            s.app
                .accounts()
                .change_avatar(&Actor::console(), handle, Some(avatar(from, to)))
                .await
                .expect("avatar set");
        }
    }
    // A settings snapshot, so the account view shows one.
    let text = std::fs::read_to_string(s.user_dir("mira").join("settings.json")).expect("settings");
    let settings: serde_json::Value = serde_json::from_str(&text).expect("settings JSON");
    s.app
        .settings()
        .save("mira", &settings)
        .await
        .expect("settings saved");
}

/// Saves the viewport at each width as docs/screenshots/<name>-<width>.png,
/// scrolled to `narrow_from` (a selector) on the narrow screen, and the whole
/// page screen by screen as target/screenshots/readme_screenshots-<name>-<width>-page<n>.png.
async fn shoot(b: &Browser, name: &str, narrow_from: Option<&str>) {
    std::fs::create_dir_all(docs_dir()).expect("docs/screenshots");
    for (w, h) in WIDTHS {
        b.viewport(w, h).await;
        let from = narrow_from.filter(|_| w < 1280);
        b.c.execute(
            "const e = arguments[0] && document.querySelector(arguments[0]); \
             const bar = document.querySelector('.topbar'); \
             window.scrollTo(0, e ? e.getBoundingClientRect().top + window.scrollY \
               - (bar ? bar.offsetHeight : 0) - 12 : 0); return true;",
            vec![json!(from)],
        )
        .await
        .expect("scroll");
        b.wait_idle().await;
        let png = b.c.screenshot().await.expect("screenshot");
        std::fs::write(docs_dir().join(format!("{name}-{w}.png")), png).expect("write screenshot");

        // The whole page, one screen at a time, for people to review.
        let full = b.js("return document.documentElement.scrollHeight;").await;
        let pages = full
            .as_u64()
            .unwrap_or(0)
            .div_ceil(u64::from(h - 120))
            .min(12);
        for page in 0..pages {
            b.js(&format!(
                "window.scrollTo(0, {}); return true;",
                page * u64::from(h - 120)
            ))
            .await;
            b.shot(&format!("readme_screenshots-{name}-{w}-page{page}"))
                .await;
        }
    }
    b.viewport(1280, 900).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_screenshots() {
    let s = Server::start().await;
    populate(&s).await;
    let discreet = Server::start_with(|c| c.enable_discreet_login = true).await;
    let b = Browser::start("readme_screenshots", &s.base).await;

    b.goto("/login").await;
    b.wait_login_page().await;
    assert_eq!(b.count(&t("login-user-card")).await, 5);
    shoot(&b, "login-list", None).await;

    b.goto_url(&discreet.url("/login")).await;
    b.wait_login_page().await;
    assert!(b.visible(&t("discreet-handle")).await);
    shoot(&b, "login-discreet", None).await;

    login_list(&b, "mira", Some("pw-mira")).await;
    b.open_view("account").await;
    shoot(&b, "account", None).await;
    b.open_view("admin").await;
    assert_eq!(b.count(&t("admin-user-row")).await, 5);
    shoot(&b, "admin", Some(&t("admin-users-card"))).await;

    for name in ["login-list", "login-discreet", "account", "admin"] {
        for (w, _) in WIDTHS {
            let path = docs_dir().join(format!("{name}-{w}.png"));
            let png = std::fs::read(&path).expect("screenshot written");
            let (pw, _) = crate::support::png_size(&png);
            assert_eq!(pw, w, "{} is {w} px wide", path.display());
        }
    }
    b.close().await;
    discreet.stop().await;
    s.stop().await;
}
