//! End-to-end tests of the browser UI in a real headless Chromium (issue 4).
//!
//! Each test starts its own server (tests/common) and its own browser
//! (support.rs), acts as a person would through the `data-test` hooks of
//! web/TESTING.md, and cross-checks with the server where that helps. Each
//! saves a screenshot under target/screenshots/<test>.png; `readme_screenshots`
//! writes the pictures of docs/screenshots/ shown in the README.
//!
//! Chromium and chromedriver must be installed (tests/run.sh does that); a
//! missing browser fails the tests rather than skipping them.

#[path = "../common/mod.rs"]
mod common;
mod support;

mod account;
mod admin;
mod hosting;
mod invite;
mod login;
mod permissions;
mod screenshots;
mod sessions;
mod signup;
mod st_page;
mod status;
mod two_factor;
