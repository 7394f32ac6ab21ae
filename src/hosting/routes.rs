//! Which requests Innkeeper answers itself when an app is hosted, and
//! which go to the user's SillyTavern (SPEC §11, "Routing").
//!
//! Innkeeper keeps: `/login`, `/csrf-token`, `/healthz`, `/api/ping`,
//! every `/api/users/*` (SillyTavern's Account and admin panels call them),
//! the six `/api/settings/*` routes, the user-file routes, its own admin
//! routes, and its own pages and assets under `/innkeeper/`. Everything
//! else goes to the process. The decision is made on a normalised path
//! (percent-decoded, dot segments resolved, repeated slashes merged,
//! lower case: Express routes ignore case), so no spelling of an account
//! route can reach SillyTavern's own account code.

/// Exact paths Innkeeper answers.
const EXACT: &[&str] = &[
    "/login",
    "/csrf-token",
    "/healthz",
    "/api/ping",
    "/api/server-info",
    "/api/backup/full",
    "/innkeeper",
    // SillyTavern 1.12.6 has no such file; SPEC §5 makes it ours.
    "/img/default-user.png",
    "/signup",
    "/api/signup",
    "/api/settings/get",
    "/api/settings/save",
    "/api/settings/get-snapshots",
    "/api/settings/load-snapshot",
    "/api/settings/make-snapshot",
    "/api/settings/restore-snapshot",
];

/// Path prefixes Innkeeper answers: its account API, admin routes, own
/// pages, persona pictures and the user-file routes of SPEC §5.
const PREFIXES: &[&str] = &[
    "/api/users/",
    "/api/audit/",
    "/api/sessions/",
    "/api/invites/",
    "/invite/",
    "/api/app/",
    "/api/permissions/",
    "/api/connections/",
    "/innkeeper/",
    "/avatars/",
    "/characters/",
    "/backgrounds/",
    "/user avatars/",
    "/assets/",
    "/user/images/",
    "/user/files/",
    "/scripts/extensions/third-party/",
];

/// True when Innkeeper answers `raw_path` itself.
pub fn kept(raw_path: &str) -> bool {
    let path = normalise(raw_path);
    EXACT.contains(&path.as_str()) || PREFIXES.iter().any(|p| path.starts_with(p))
}

/// The path as a router that decodes, resolves dot segments and ignores
/// case would see it.
pub fn normalise(raw: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    let mut parts: Vec<&str> = Vec::new();
    for seg in decoded.split(['/', '\\']) {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut out = String::from("/");
    out.push_str(&parts.join("/"));
    if decoded.ends_with('/') && out.len() > 1 {
        out.push('/');
    }
    out.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_routes_stay_in_every_spelling() {
        for p in [
            "/api/users/create",
            "/API/Users/create",
            "/api//users/create",
            "/api/./users/create",
            "/api/characters/../users/create",
            "/api/users%2Fcreate",
            "/api%2fusers/delete",
            "/api/settings/get",
            "/api/settings/save",
            "/login",
            "/csrf-token",
            "/characters/a.png",
            "/User%20Avatars/x.png",
            "/innkeeper/static/app.js",
            "/innkeeper",
            "/api/app/status",
            "/api/sessions/list",
            "/api/invites/accept",
            "/invite/abc",
        ] {
            assert!(kept(p), "{p}");
        }
    }

    #[test]
    fn the_app_gets_the_rest() {
        for p in [
            "/",
            "/index.html",
            "/version",
            "/thumbnail",
            "/api/characters/all",
            "/api/backends/chat-completions/generate",
            "/api/settings/other",
            "/img/user-default.png",
            "/favicon.ico",
            "/css/st-tailwind.css",
            "/scripts/extensions/memory/index.js",
            "/api/usersx",
            "/loginx",
        ] {
            assert!(!kept(p), "{p}");
        }
    }
}
