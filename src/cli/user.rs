//! `innkeeper user …` and `innkeeper recover`: accounts from the console,
//! with the rules the admin page follows.

use clap::Subcommand;

use innkeeper::accounts::service::NewUser;
use innkeeper::app::Actor;
use innkeeper::config::Config;

use super::open;

#[derive(Subcommand)]
pub enum UserCommand {
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

pub async fn recover(
    config: Config,
    handle: String,
    password: Option<String>,
) -> Result<(), String> {
    let app = open(config)?;
    let two_factor_removed = app
        .accounts()
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

pub async fn run(config: Config, cmd: UserCommand) -> Result<(), String> {
    let app = open(config)?;
    let actor = Actor::console();
    let fail =
        |what: &str, h: &str, e: innkeeper::error::AppError| format!("cannot {what} '{h}': {e}");
    match cmd {
        UserCommand::List => {
            let users = app
                .accounts()
                .list_users()
                .await
                .map_err(|e| e.to_string())?;
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
                .accounts()
                .create_user(&actor, req)
                .await
                .map_err(|e| fail("create", &handle, e))?;
            println!("Created '{h}'.");
        }
        UserCommand::Delete { handle, purge } => {
            app.accounts()
                .require_user(&handle)
                .await
                .map_err(|e| fail("delete", &handle, e))?;
            app.accounts()
                .delete_user(&actor, &handle, purge)
                .await
                .map_err(|e| fail("delete", &handle, e))?;
            if purge {
                println!("Deleted '{handle}' and its data folder.");
            } else {
                println!("Deleted '{handle}'; its data folder is kept and is re-used if the handle is created again.");
            }
        }
        UserCommand::Enable { handle } => {
            app.accounts()
                .set_enabled(&actor, &handle, true)
                .await
                .map_err(|e| fail("enable", &handle, e))?;
            println!("Enabled '{handle}'.");
        }
        UserCommand::Disable { handle } => {
            app.accounts()
                .set_enabled(&actor, &handle, false)
                .await
                .map_err(|e| fail("disable", &handle, e))?;
            println!("Disabled '{handle}'.");
        }
        UserCommand::Promote { handle } => {
            app.accounts()
                .set_admin(&actor, &handle, true)
                .await
                .map_err(|e| fail("promote", &handle, e))?;
            println!("'{handle}' is now an admin.");
        }
        UserCommand::Demote { handle } => {
            app.accounts()
                .set_admin(&actor, &handle, false)
                .await
                .map_err(|e| fail("demote", &handle, e))?;
            println!("'{handle}' is now a regular user.");
        }
    }
    Ok(())
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
