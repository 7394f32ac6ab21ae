//! `innkeeper profile list|show|save|delete|assign`: permission profiles
//! from the console (the admin panel's "Permissions" card does the same).

use clap::Subcommand;

use innkeeper::app::{Actor, App};
use innkeeper::permissions::profiles::{parse_switches, Limits, Profile};
use innkeeper::permissions::Switch;
use innkeeper::store::permissions::UserChoice;

#[derive(Subcommand)]
pub enum ProfileCommand {
    /// Every profile with what it allows and its limits.
    List,
    /// One profile, and which accounts have it.
    Show { name: String },
    /// Create or change a profile. What is not given is cleared: name
    /// every permission it allows and every limit it has.
    Save {
        name: String,
        /// Comma-separated permissions: extensions.manage, secrets.own,
        /// content.importUrl, backup.download, plugins, generate.
        #[arg(long, default_value = "")]
        allow: String,
        /// Generations per clock hour (0: no limit).
        #[arg(long, default_value_t = 0)]
        per_hour: u32,
        /// Generations per UTC day (0: no limit).
        #[arg(long, default_value_t = 0)]
        per_day: u32,
        /// Generations at once (0: no limit).
        #[arg(long, default_value_t = 0)]
        at_once: u32,
    },
    /// Delete a profile (not a built-in one, nor the default); its
    /// accounts get the default.
    Delete { name: String },
    /// Give an account a profile ("default" for the configured default).
    Assign { handle: String, profile: String },
}

fn limit(n: Option<u32>) -> String {
    n.map_or_else(|| "-".to_string(), |n| n.to_string())
}

fn line(p: &Profile, default: &str) -> String {
    let allow: Vec<_> = p.allow.iter().map(|s| s.name()).collect();
    format!(
        "{:<16} {:<8} {:>8} {:>8} {:>8}  {}",
        if p.name == default {
            format!("{}*", p.name)
        } else {
            p.name.clone()
        },
        if p.builtin { "built-in" } else { "" },
        limit(p.limits.per_hour),
        limit(p.limits.per_day),
        limit(p.limits.at_once),
        if allow.is_empty() {
            "(nothing)".to_string()
        } else {
            allow.join(",")
        }
    )
}

fn nonzero(n: u32) -> Option<u32> {
    (n > 0).then_some(n)
}

pub async fn run(app: &App, cmd: ProfileCommand) -> Result<(), String> {
    let actor = Actor::console();
    let default = app.config.permissions.default_profile.clone();
    let fail = |what: &str, e: innkeeper::error::AppError| format!("cannot {what}: {e}");
    match cmd {
        ProfileCommand::List => {
            println!(
                "{:<16} {:<8} {:>8} {:>8} {:>8}  allows",
                "profile", "", "per hour", "per day", "at once"
            );
            for p in app
                .permissions()
                .profiles()
                .await
                .map_err(|e| fail("list", e))?
            {
                println!("{}", line(&p, &default));
            }
            println!("(* the default, permissions.defaultProfile; - no limit)");
        }
        ProfileCommand::Show { name } => {
            let profiles = app
                .permissions()
                .profiles()
                .await
                .map_err(|e| fail("list", e))?;
            let p = profiles
                .iter()
                .find(|p| p.name == name)
                .ok_or_else(|| format!("no profile '{name}' (see `innkeeper profile list`)"))?;
            println!("{}", line(p, &default));
            for s in Switch::ALL {
                let mark = if p.allows(s) { "yes" } else { "no " };
                println!("  {mark}  {:<18} {}", s.name(), s.describe());
            }
            let users = app
                .users()
                .await
                .map_err(|e| format!("cannot list accounts: {e}"))?;
            let mut holders = Vec::new();
            for u in users.list.iter() {
                let eff = app
                    .permissions()
                    .effective(u)
                    .await
                    .map_err(|e| fail("read permissions", e))?;
                if eff.profile.name == name {
                    holders.push(u.handle.clone());
                }
            }
            println!(
                "accounts: {}",
                if holders.is_empty() {
                    "(none)".into()
                } else {
                    holders.join(", ")
                }
            );
        }
        ProfileCommand::Save {
            name,
            allow,
            per_hour,
            per_day,
            at_once,
        } => {
            let allow = parse_switches(allow.split(',')).map_err(|e| e.to_string())?;
            let limits = Limits {
                per_hour: nonzero(per_hour),
                per_day: nonzero(per_day),
                at_once: nonzero(at_once),
            };
            let p = app
                .permissions()
                .save_profile(&actor, &name, allow, limits)
                .await
                .map_err(|e| fail("save the profile", e))?;
            println!("{}", line(&p, &default));
        }
        ProfileCommand::Delete { name } => {
            app.permissions()
                .delete_profile(&actor, &name)
                .await
                .map_err(|e| fail("delete the profile", e))?;
            println!("deleted profile {name}");
        }
        ProfileCommand::Assign { handle, profile } => {
            let h = handle.clone();
            let mut choice: UserChoice = app
                .store
                .run(move |c| innkeeper::store::permissions::user_choice(c, &h))
                .await
                .map_err(|e| format!("cannot read {handle}'s permissions: {e}"))?;
            choice.profile = (profile != "default").then(|| profile.clone());
            app.permissions()
                .set_user_permissions(&actor, &handle, choice)
                .await
                .map_err(|e| fail("assign the profile", e))?;
            println!("{handle} now has the profile {profile}");
        }
    }
    Ok(())
}
