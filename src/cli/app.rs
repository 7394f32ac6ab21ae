//! `innkeeper app status|stop|restart`: the hosted SillyTavern processes,
//! through the running server's console requests.

use clap::Subcommand;

use innkeeper::config::Config;

#[derive(Subcommand)]
pub enum AppCommand {
    /// Every process with its state, since, pid, memory, restarts and last error.
    Status,
    /// Stop a user's process (it starts again at their next request).
    Stop { handle: String },
    /// Restart a user's process, also one that failed too often.
    Restart { handle: String },
}

pub async fn run(config: Config, cmd: AppCommand) -> Result<(), String> {
    use innkeeper::hosting::console;
    let root = &config.data_root;
    let text = match cmd {
        AppCommand::Status => console::status(root)?,
        AppCommand::Stop { handle } => console::stop(root, &handle).await?,
        AppCommand::Restart { handle } => console::restart(root, &handle).await?,
    };
    println!("{}", text.trim_end());
    Ok(())
}
