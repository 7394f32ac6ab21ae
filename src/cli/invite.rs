//! `innkeeper invite create|list|revoke`: invitation links from the
//! console, for an admin who is not logged in anywhere.

use clap::Subcommand;

use innkeeper::accounts::invites::InviteSpec;
use innkeeper::app::{Actor, App};
use innkeeper::store::invites::InviteRow;

#[derive(Subcommand)]
pub enum InviteCommand {
    /// Make an invitation link (shown once).
    Create {
        /// Days until the link stops working.
        #[arg(long, default_value_t = 7)]
        days: i64,
        /// How many accounts it may create.
        #[arg(long, default_value_t = 1)]
        uses: i64,
        /// The accounts it creates are admins.
        #[arg(long)]
        admin: bool,
        /// Set the handle (the person cannot choose another).
        #[arg(long)]
        handle: Option<String>,
        /// Suggest a display name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Every invitation with its state and uses left.
    List,
    /// Withdraw an invitation (by the id `list` shows).
    Revoke { id: i64 },
}

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn line(r: &InviteRow, now: i64) -> String {
    format!(
        "{:<5} {:<8} {:>4}/{:<4} {:<6} {:<20} {:<12} {:<16}",
        r.id,
        format!("{:?}", r.state(now)).to_lowercase(),
        r.uses_left,
        r.uses,
        if r.admin { "yes" } else { "no" },
        when(r.expires),
        r.handle.as_deref().unwrap_or("-"),
        r.created_by.as_deref().unwrap_or("-"),
    )
}

pub async fn run(app: &App, cmd: InviteCommand) -> Result<(), String> {
    let actor = Actor::console();
    let now = app.clock.now_ms();
    match cmd {
        InviteCommand::Create {
            days,
            uses,
            admin,
            handle,
            name,
        } => {
            let spec = InviteSpec {
                days: Some(days),
                uses: Some(uses),
                admin,
                handle,
                name,
            };
            let (row, token) = app
                .invites()
                .create(&actor, spec)
                .await
                .map_err(|e| format!("cannot create the invitation: {e}"))?;
            let scheme = if app.config.ssl.enabled {
                "https"
            } else {
                "http"
            };
            println!(
                "Invitation {} for {} account(s), until {}.",
                row.id,
                row.uses,
                when(row.expires)
            );
            println!("Its link (shown only now): /invite/{token}");
            println!(
                "Give it with this server's address in front, e.g. {scheme}://localhost:{}/invite/{token}",
                app.config.port
            );
        }
        InviteCommand::List => {
            let rows = app.invites().list().await.map_err(|e| e.to_string())?;
            println!(
                "{:<5} {:<8} {:>9} {:<6} {:<20} {:<12} {:<16}",
                "ID", "STATE", "LEFT/ALL", "ADMIN", "EXPIRES", "HANDLE", "CREATED BY"
            );
            for r in &rows {
                println!("{}", line(r, now));
            }
        }
        InviteCommand::Revoke { id } => {
            app.invites()
                .revoke(&actor, id)
                .await
                .map_err(|e| format!("cannot revoke invitation {id}: {e}"))?;
            println!("Invitation {id} withdrawn; its link no longer works.");
        }
    }
    Ok(())
}
