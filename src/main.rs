//! The `innkeeper` command: start the server, or manage accounts from the
//! console with the same rules the web UI follows.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

use innkeeper::config::{self, Overrides};

#[derive(Parser)]
#[command(
    name = "innkeeper",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("INNKEEPER_COMMIT"), ")"),
    about = "Several people, one server, each with their own SillyTavern data"
)]
struct Cli {
    /// Path of config.yaml (written with defaults when missing).
    #[arg(long, global = true, default_value = "config.yaml")]
    config: PathBuf,
    /// TCP port (overrides the file).
    #[arg(long, global = true)]
    port: Option<u16>,
    /// Listen on every interface, not only loopback (overrides the file).
    #[arg(long, global = true)]
    listen: bool,
    /// Data root (overrides the file).
    #[arg(long = "data-root", global = true)]
    data_root: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (the default).
    Serve,
    /// Set (or, without a password, clear) an account's password, re-enable
    /// it, clear its login limits and remove its two-factor login.
    Recover {
        handle: String,
        password: Option<String>,
    },
    /// Manage accounts.
    #[command(subcommand)]
    User(cli::user::UserCommand),
    /// Import the accounts, avatars, snapshots and user folders of a
    /// SillyTavern data root (safe to run twice).
    #[command(name = "import-sillytavern")]
    ImportSillytavern {
        /// The SillyTavern data root (the folder that holds `_storage/`).
        path: PathBuf,
        /// Print the plan only; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Replace accounts whose handle already exists here.
        #[arg(long)]
        overwrite: bool,
    },
    /// Write a zip of the whole data root (with a consistent copy of the
    /// database) to a file.
    Backup {
        /// Back up the whole data root (the only kind the console makes).
        #[arg(long)]
        all: bool,
        /// Where to write the zip.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// The hosted SillyTavern processes (see the README, "Hosting
    /// SillyTavern").
    #[command(subcommand)]
    App(cli::app::AppCommand),
    /// Invitation links that let someone create their own account.
    #[command(subcommand)]
    Invite(cli::invite::InviteCommand),
    /// Permission profiles: what accounts may do in their SillyTavern and
    /// how much they may generate.
    #[command(subcommand)]
    Profile(cli::profile::ProfileCommand),
    /// Restore a whole-root backup into an empty data root (refused while
    /// a server runs on it).
    Restore {
        /// The zip written by `innkeeper backup --all`.
        file: PathBuf,
        /// Restore even though the data root is not empty: what the archive
        /// holds at its top (user folders, the database) replaces the
        /// entries of the same name; the others stay.
        #[arg(long)]
        force: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, None | Some(Command::Serve)) {
        // Before anything allocates much: see allocator.rs.
        innkeeper::allocator::fix_mmap_threshold();
    }
    let overrides = Overrides {
        port: cli.port,
        listen: cli.listen.then_some(true),
        data_root: cli.data_root.clone(),
    };
    let loaded = match config::load(&cli.config, &overrides) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&loaded.config.logging.level);
    if loaded.created {
        tracing::info!("wrote the default config to {}", cli.config.display());
    }
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => innkeeper::server::run(loaded.config).await,
            Command::Recover { handle, password } => {
                cli::user::recover(loaded.config, handle, password).await
            }
            Command::User(cmd) => cli::user::run(loaded.config, cmd).await,
            Command::ImportSillytavern {
                path,
                dry_run,
                overwrite,
            } => cli::data::import(loaded.config, path, dry_run, overwrite).await,
            Command::Backup { all, output } => cli::data::backup(loaded.config, all, output).await,
            Command::Restore { file, force } => cli::data::restore(loaded.config, file, force),
            Command::App(cmd) => cli::app::run(loaded.config, cmd).await,
            Command::Invite(cmd) => match cli::open(loaded.config) {
                Ok(app) => cli::invite::run(&app, cmd).await,
                Err(e) => Err(e),
            },
            Command::Profile(cmd) => match cli::open(loaded.config) {
                Ok(app) => cli::profile::run(&app, cmd).await,
                Err(e) => Err(e),
            },
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(level: &str) {
    let level = level.parse().unwrap_or(tracing::Level::INFO);
    // Logs go to stderr; stdout carries the URL line and console codes.
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
