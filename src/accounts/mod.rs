//! Accounts: handle rules, password hashing, and the operations on users
//! shared by the HTTP API and the console commands.

pub mod auth;
pub mod directory;
pub mod handle;
pub mod hash_pool;
pub mod invites;
pub mod password;
pub mod service;
pub mod signup;
pub mod totp;
pub mod two_factor;
