//! Innkeeper: several people, one server, each with their own SillyTavern
//! data folder. See README.md for the tour and SPEC.md for the contract.

pub mod accounts;
pub mod allocator;
pub mod app;
pub mod clock;
pub mod codes;
pub mod config;
pub mod console;
pub mod error;
pub mod hooks;
pub mod hosting;
pub mod http;
pub mod import;
pub mod limits;
pub mod permissions;
pub mod safety;
pub mod sealing;
pub mod server;
pub mod sessions;
pub mod store;
pub mod tls;
pub mod userdata;

pub use server::serve;
