//! Permission profiles: a name, the switches it allows and its usage
//! limits. Three are built in — `admin` (everything), `member`
//! (SillyTavern 1.12.6's own behaviour: everything) and `guest` (no
//! extension installs, no own API keys, no URL imports, no backups) —
//! and cannot be deleted; their switches and limits can be changed,
//! except that `admin` always allows everything. An account with the
//! admin flag always has the `admin` profile: an admin can change any
//! setting anyway, so holding one back would only be in their way.

use std::collections::BTreeSet;

use super::{PermissionError, Switch};
use crate::store::permissions::{ProfileRow, UserChoice};

pub const ADMIN: &str = "admin";
pub const MEMBER: &str = "member";
pub const GUEST: &str = "guest";

/// Usage limits; None is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub per_hour: Option<u32>,
    pub per_day: Option<u32>,
    pub at_once: Option<u32>,
}

/// A profile read from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub builtin: bool,
    pub allow: BTreeSet<Switch>,
    pub limits: Limits,
}

/// A stored limit: NULL or 0 is none.
fn limit(v: Option<i64>) -> Option<u32> {
    v.filter(|n| *n > 0).map(|n| n.min(u32::MAX as i64) as u32)
}

impl Profile {
    pub fn from_row(r: &ProfileRow) -> Profile {
        let allow = if r.name == ADMIN {
            Switch::ALL.into_iter().collect()
        } else {
            r.allow.split(',').filter_map(Switch::from_name).collect()
        };
        Profile {
            name: r.name.clone(),
            builtin: r.builtin,
            allow,
            limits: Limits {
                per_hour: limit(r.per_hour),
                per_day: limit(r.per_day),
                at_once: limit(r.at_once),
            },
        }
    }

    pub fn to_row(&self) -> ProfileRow {
        ProfileRow {
            name: self.name.clone(),
            builtin: self.builtin,
            allow: self
                .allow
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(","),
            per_hour: self.limits.per_hour.map(i64::from),
            per_day: self.limits.per_day.map(i64::from),
            at_once: self.limits.at_once.map(i64::from),
        }
    }

    pub fn allows(&self, s: Switch) -> bool {
        self.allow.contains(&s)
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "builtin": self.builtin,
            "allow": self.allow.iter().map(|s| s.name()).collect::<Vec<_>>(),
            "limits": self.limits,
        })
    }
}

/// A profile name: 1–32 of a–z, 0–9, `-` and `_`, starting with a letter.
pub fn check_name(name: &str) -> Result<(), PermissionError> {
    let ok = (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(PermissionError::Invalid(format!(
            "'{name}' is not a profile name: use 1 to 32 of a-z, 0-9, - and _, starting with a letter"
        )))
    }
}

/// Switch names as given by an admin, each checked.
pub fn parse_switches<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<BTreeSet<Switch>, PermissionError> {
    names
        .into_iter()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| {
            Switch::from_name(n).ok_or_else(|| {
                PermissionError::Invalid(format!(
                    "'{n}' is not a permission; known: {}",
                    Switch::ALL.map(|s| s.name()).join(", ")
                ))
            })
        })
        .collect()
}

/// An account's permissions as they apply now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub profile: Profile,
    /// The profile's limits with the account's own overrides laid over.
    pub limits: Limits,
}

/// Resolves an account's profile: `admin` for admins; else its chosen
/// profile, else `default` (config `permissions.defaultProfile`); a name
/// that no longer exists falls back to `guest`, the safe side.
pub fn resolve(
    admin: bool,
    choice: &UserChoice,
    default: &str,
    find: impl Fn(&str) -> Option<Profile>,
) -> Effective {
    let wanted = if admin {
        ADMIN
    } else {
        choice.profile.as_deref().unwrap_or(default)
    };
    let profile = find(wanted)
        .or_else(|| find(GUEST))
        .unwrap_or_else(|| Profile {
            name: GUEST.into(),
            builtin: true,
            allow: [Switch::Plugins, Switch::Generate].into_iter().collect(),
            limits: Limits::default(),
        });
    // An override of 0 lifts the profile's limit; NULL keeps it.
    let over = |o: Option<i64>, base: Option<u32>| match o {
        None => base,
        Some(n) => limit(Some(n)),
    };
    let limits = Limits {
        per_hour: over(choice.per_hour, profile.limits.per_hour),
        per_day: over(choice.per_day, profile.limits.per_day),
        at_once: over(choice.at_once, profile.limits.at_once),
    };
    Effective { profile, limits }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, allow: &str, per_hour: Option<i64>) -> ProfileRow {
        ProfileRow {
            name: name.into(),
            builtin: false,
            allow: allow.into(),
            per_hour,
            per_day: None,
            at_once: None,
        }
    }

    #[test]
    fn resolution_follows_admin_choice_default_then_guest() {
        let rows = [
            row(ADMIN, "", Some(5)),
            row(MEMBER, "generate,secrets.own", None),
            row(GUEST, "generate", Some(3)),
            row("kids", "generate", Some(10)),
        ];
        let find = |n: &str| rows.iter().find(|r| r.name == n).map(Profile::from_row);
        let none = UserChoice::default();
        let kids = UserChoice {
            profile: Some("kids".into()),
            ..Default::default()
        };
        let gone = UserChoice {
            profile: Some("deleted".into()),
            ..Default::default()
        };
        let cases: &[(bool, &UserChoice, &str, &str, Option<u32>)] = &[
            (true, &kids, MEMBER, ADMIN, Some(5)),
            (false, &kids, MEMBER, "kids", Some(10)),
            (false, &none, MEMBER, MEMBER, None),
            (false, &none, "kids", "kids", Some(10)),
            (false, &gone, MEMBER, GUEST, Some(3)),
        ];
        for (admin, choice, default, want, per_hour) in cases {
            let e = resolve(*admin, choice, default, find);
            assert_eq!(e.profile.name, *want, "{admin} {choice:?} {default}");
            assert_eq!(e.limits.per_hour, *per_hour);
        }
        // The admin profile allows everything whatever its row says.
        assert!(Switch::ALL.iter().all(|s| find(ADMIN).unwrap().allows(*s)));
        // Overrides: NULL keeps, 0 lifts, N replaces.
        for (o, want) in [(None, Some(10)), (Some(0), None), (Some(4), Some(4))] {
            let c = UserChoice {
                profile: Some("kids".into()),
                per_hour: o,
                ..Default::default()
            };
            assert_eq!(resolve(false, &c, MEMBER, find).limits.per_hour, want);
        }
    }

    #[test]
    fn names_and_switches_are_checked() {
        for good in ["kids", "a", "team-2", "x_y"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Kids", "2team", "a b", "ä", &"a".repeat(33)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        let s = parse_switches(["generate", " plugins ", ""]).unwrap();
        assert_eq!(s.len(), 2);
        let e = parse_switches(["generate", "fly"]).unwrap_err().to_string();
        assert!(e.contains("'fly'") && e.contains("secrets.own"), "{e}");
        let p = Profile::from_row(&row("x", "generate,nonsense,plugins", Some(0)));
        assert_eq!(p.allow.len(), 2);
        assert_eq!(p.limits.per_hour, None);
        assert_eq!(Profile::from_row(&p.to_row()), p);
    }
}
