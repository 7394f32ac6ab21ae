//! Console commands, one file per command group; `main.rs` parses the
//! command line and calls them.

pub mod app;
pub mod data;
pub mod invite;
pub mod profile;
pub mod user;

use std::sync::Arc;

use innkeeper::app::App;
use innkeeper::clock::Clock;
use innkeeper::config::Config;
use innkeeper::console::Console;

/// The app over `config`'s data root, for a console command.
pub fn open(config: Config) -> Result<Arc<App>, String> {
    App::open(config, Clock::default(), Console::default()).map_err(|e| e.to_string())
}
