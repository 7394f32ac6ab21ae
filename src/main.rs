//! The `innkeeper` command: start the server, or manage accounts from the
//! console with the same rules the web UI follows.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

mod cli;

use innkeeper::accounts::service::NewUser;
use innkeeper::app::{Actor, App};
use innkeeper::clock::Clock;
use innkeeper::config::{self, Config, Overrides, Stack};
use innkeeper::console::Console;
use innkeeper::fields;
use innkeeper::hooks::EventKind;
use innkeeper::import::{self, ImportOptions};

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
    User(UserCommand),
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
    App(AppCommand),
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

#[derive(Subcommand)]
enum AppCommand {
    /// Every process with its state, since, pid, memory, restarts and last error.
    Status,
    /// Stop a user's process (it starts again at their next request).
    Stop { handle: String },
    /// Restart a user's process, also one that failed too often.
    Restart { handle: String },
}

#[derive(Subcommand)]
enum UserCommand {
    /// List every account.
    List,
    /// Create an account (the handle is slugified).
    Create {
        handle: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        password: Option<String>,
        #[arg(long)]
        admin: bool,
    },
    /// Delete an account; its folder stays unless --purge.
    Delete {
        handle: String,
        #[arg(long)]
        purge: bool,
    },
    Enable {
        handle: String,
    },
    Disable {
        handle: String,
    },
    Promote {
        handle: String,
    },
    Demote {
        handle: String,
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
            Command::Serve => serve(loaded.config).await,
            Command::Recover { handle, password } => recover(loaded.config, handle, password).await,
            Command::User(cmd) => user(loaded.config, cmd).await,
            Command::ImportSillytavern {
                path,
                dry_run,
                overwrite,
            } => import(loaded.config, path, dry_run, overwrite).await,
            Command::Backup { all, output } => backup(loaded.config, all, output).await,
            Command::Restore { file, force } => restore(loaded.config, file, force),
            Command::App(cmd) => app_command(loaded.config, cmd).await,
            Command::Invite(cmd) => match open(loaded.config) {
                Ok(app) => cli::invite::run(&app, cmd).await,
                Err(e) => Err(e),
            },
            Command::Profile(cmd) => match open(loaded.config) {
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

fn open(config: Config) -> Result<Arc<App>, String> {
    App::open(config, Clock::default(), Console::default()).map_err(|e| e.to_string())
}

async fn serve(config: Config) -> Result<(), String> {
    let started = std::time::SystemTime::now();
    innkeeper::server::raise_fd_limit();
    // Held until the server exits: a restore (or a second server) on this
    // data root is refused meanwhile.
    std::fs::create_dir_all(&config.data_root).map_err(|e| {
        format!(
            "cannot create the data root {}: {e}",
            config.data_root.display()
        )
    })?;
    let _root_lock = innkeeper::userdata::root_lock::acquire(&config.data_root)
        .map_err(|e| format!("cannot start: {e}"))?;
    // A SillyTavern root started for the first time: take its accounts in
    // before anything checks them (the safety check needs their passwords).
    let auto_import = import::should_auto_import(&config.data_root);
    let app = open(config)?;
    if auto_import {
        let opts = ImportOptions {
            source: app.data_root.clone(),
            dry_run: false,
            overwrite: false,
            progress: true,
        };
        app.console.line(
            "Found a SillyTavern data root without an Innkeeper database: importing it first.",
        );
        let report = import::import_into(&app, &opts).await.map_err(|e| {
            format!(
                "the automatic SillyTavern import failed: {e}\n(fix the cause, then run `innkeeper import-sillytavern {}`)",
                app.data_root.display()
            )
        })?;
        for line in report.to_string().lines() {
            app.console.line(line);
        }
    }
    let verdict = innkeeper::safety::check(&app)
        .await
        .map_err(|e| e.to_string())?;
    for w in &verdict.loud {
        tracing::error!("{w}");
    }
    for w in &verdict.warnings {
        tracing::warn!("{w}");
    }
    if !verdict.refusals.is_empty() {
        let mut msg = String::from("refusing to listen on all interfaces in an unsafe setup:");
        for r in &verdict.refusals {
            msg.push_str(&format!("\n  - {r}"));
        }
        msg.push_str("\n(set securityOverride: true in config.yaml to start anyway)");
        return Err(msg);
    }
    // Processes an earlier, killed Innkeeper left end first; then the
    // hosted app's install is checked, so a broken one stops the start.
    innkeeper::hosting::attach(&app)
        .await
        .map_err(|e| e.to_string())?;
    let c = &app.config;
    let v4 = IpAddr::V4(if c.listen {
        Ipv4Addr::UNSPECIFIED
    } else {
        Ipv4Addr::LOCALHOST
    });
    let v6 = IpAddr::V6(if c.listen {
        Ipv6Addr::UNSPECIFIED
    } else {
        Ipv6Addr::LOCALHOST
    });
    let mut listeners = Vec::new();
    for (stack, ip) in [(c.protocol.ipv4, v4), (c.protocol.ipv6, v6)] {
        if !stack.wanted() {
            continue;
        }
        // A second stack shares the first one's port (useful with port 0).
        let port = listeners
            .first()
            .and_then(|l: &tokio::net::TcpListener| l.local_addr().ok())
            .map_or(c.port, |a| a.port());
        let addr = SocketAddr::new(ip, port);
        match bind(addr) {
            Ok(listener) => listeners.push(listener),
            Err(e) if stack == Stack::Auto => {
                tracing::info!("not listening on {addr} (protocol set to auto): {e}")
            }
            Err(e) => return Err(format!("cannot listen on {addr}: {e}")),
        }
    }
    let first = listeners
        .first()
        .and_then(|l| l.local_addr().ok())
        .ok_or("no address to listen on")?;
    let shown = match first.ip() {
        IpAddr::V4(v) if v.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), first.port())
        }
        IpAddr::V6(v) if v.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), first.port())
        }
        _ => first,
    };
    let scheme = if app.tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{shown}/");
    let stop_signal = shutdown_signal();
    let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut tasks = Vec::new();
    for listener in listeners {
        let mut stop = stop_tx.subscribe();
        tasks.push(tokio::spawn(innkeeper::serve(
            app.clone(),
            listener,
            async move {
                let _ = stop.recv().await;
            },
        )));
    }
    // Requests are answered from here on; the ready line follows the
    // start-up repair of the data root.
    let repairing = app.clone();
    tokio::task::spawn_blocking(move || repairing.repair(started))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    app.console
        .line(&format!("Innkeeper is listening on {url}"));
    app.hook_after(
        EventKind::ServerStarted,
        None,
        &Actor::console(),
        fields! { "version" => env!("CARGO_PKG_VERSION"), "url" => url },
    )
    .await;
    stop_signal.await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(());
    for t in tasks {
        let _ = t.await;
    }
    if let Some(h) = app.hosting() {
        h.shutdown().await;
    }
    Ok(())
}

/// Binds one stack. IPv6 sockets are IPv6-only, so `0.0.0.0` and `[::]`
/// can both listen on one port.
fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    tokio::net::TcpListener::from_std(socket.into())
}

/// Waits for Ctrl-C or SIGTERM. The SIGTERM handler is installed when this
/// is called, not when first polled, so a stop sent right after the URL
/// line still ends the server gracefully.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {}
            _ = term => {}
        }
    }
}

async fn recover(config: Config, handle: String, password: Option<String>) -> Result<(), String> {
    let app = open(config)?;
    let two_factor_removed = app
        .console_recover(&handle, password.as_deref())
        .await
        .map_err(|e| format!("cannot recover '{handle}': {e}"))?;
    match password {
        Some(_) => println!("Password of '{handle}' set; the account is enabled."),
        None => println!("Password of '{handle}' removed; the account is enabled."),
    }
    if two_factor_removed {
        println!("Two-factor login of '{handle}' removed: they can turn it on again on their account page.");
    }
    Ok(())
}

async fn user(config: Config, cmd: UserCommand) -> Result<(), String> {
    let app = open(config)?;
    let actor = Actor::console();
    let fail =
        |what: &str, h: &str, e: innkeeper::error::AppError| format!("cannot {what} '{h}': {e}");
    match cmd {
        UserCommand::List => {
            let users = app.list_users().await.map_err(|e| e.to_string())?;
            println!(
                "{:<24} {:<24} {:<6} {:<8} {:<8}",
                "HANDLE", "NAME", "ADMIN", "ENABLED", "PASSWORD"
            );
            for u in users {
                println!(
                    "{:<24} {:<24} {:<6} {:<8} {:<8}",
                    u.handle,
                    u.name,
                    yes(u.admin),
                    yes(u.enabled),
                    yes(u.password.is_some())
                );
            }
        }
        UserCommand::Create {
            handle,
            name,
            password,
            admin,
        } => {
            let req = NewUser {
                name: name.unwrap_or_else(|| handle.clone()),
                handle: handle.clone(),
                password,
                admin,
            };
            let h = app
                .create_user(&actor, req)
                .await
                .map_err(|e| fail("create", &handle, e))?;
            println!("Created '{h}'.");
        }
        UserCommand::Delete { handle, purge } => {
            app.require_user(&handle)
                .await
                .map_err(|e| fail("delete", &handle, e))?;
            app.delete_user(&actor, &handle, purge)
                .await
                .map_err(|e| fail("delete", &handle, e))?;
            if purge {
                println!("Deleted '{handle}' and its data folder.");
            } else {
                println!("Deleted '{handle}'; its data folder is kept and is re-used if the handle is created again.");
            }
        }
        UserCommand::Enable { handle } => {
            app.set_enabled(&actor, &handle, true)
                .await
                .map_err(|e| fail("enable", &handle, e))?;
            println!("Enabled '{handle}'.");
        }
        UserCommand::Disable { handle } => {
            app.set_enabled(&actor, &handle, false)
                .await
                .map_err(|e| fail("disable", &handle, e))?;
            println!("Disabled '{handle}'.");
        }
        UserCommand::Promote { handle } => {
            app.set_admin(&actor, &handle, true)
                .await
                .map_err(|e| fail("promote", &handle, e))?;
            println!("'{handle}' is now an admin.");
        }
        UserCommand::Demote { handle } => {
            app.set_admin(&actor, &handle, false)
                .await
                .map_err(|e| fail("demote", &handle, e))?;
            println!("'{handle}' is now a regular user.");
        }
    }
    Ok(())
}

async fn import(
    config: Config,
    path: PathBuf,
    dry_run: bool,
    overwrite: bool,
) -> Result<(), String> {
    let opts = ImportOptions {
        source: path,
        dry_run,
        overwrite,
        progress: true,
    };
    let report = import::run(&config, &opts)
        .await
        .map_err(|e| format!("import failed: {e}"))?;
    print!("{report}");
    Ok(())
}

async fn backup(config: Config, all: bool, output: PathBuf) -> Result<(), String> {
    if !all {
        return Err("only whole-root backups are made from the console: add --all".into());
    }
    let app = open(config)?;
    let plan = app.full_backup_plan().await.map_err(|e| e.to_string())?;
    let out = output.clone();
    let written = tokio::task::spawn_blocking(move || {
        let tmp = out.with_extension("zip.partial");
        let file = std::fs::File::create(&tmp)?;
        let result =
            innkeeper::userdata::backup::write_archive(&plan, std::io::BufWriter::new(file));
        for f in &plan.cleanup {
            let _ = std::fs::remove_file(f);
        }
        let mut writer = result?;
        std::io::Write::flush(&mut writer)?;
        writer
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()?;
        std::fs::rename(&tmp, &out)?;
        std::fs::metadata(&out).map(|m| m.len())
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("cannot write {}: {e}", output.display()))?;
    println!("Wrote {} ({written} bytes).", output.display());
    Ok(())
}

fn restore(config: Config, file: PathBuf, force: bool) -> Result<(), String> {
    let n = innkeeper::userdata::restore::restore(&file, &config.data_root, force)
        .map_err(|e| e.to_string())?;
    println!(
        "Restored {n} files into {}. Start the server to use them.",
        config.data_root.display()
    );
    Ok(())
}

async fn app_command(config: Config, cmd: AppCommand) -> Result<(), String> {
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

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
