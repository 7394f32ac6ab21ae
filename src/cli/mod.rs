//! Console commands, one file per command group (new groups start here;
//! the older ones still live in main.rs).

pub mod invite;
pub mod profile;
