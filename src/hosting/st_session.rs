//! The session cookie SillyTavern 1.12.6 accepts (`cookie-session` signed
//! with keygrip): `session-<first 8 hex of sha256(hostname)>` holding the
//! base64 of `{"handle":"…"}`, and `<name>.sig` holding the HMAC-SHA1 of
//! `<name>=<value>` under the install's `cookieSecret`, in URL-safe base64
//! without padding. Innkeeper sends this pair, and nothing else of the
//! browser's cookies, on every request it forwards to a user's process.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Signs SillyTavern sessions for one install on this machine.
#[derive(Clone)]
pub struct StSession {
    name: String,
    secret: Vec<u8>,
}

impl StSession {
    /// `hostname` must be what Node's `os.hostname()` returns on this
    /// machine (see [`machine_hostname`]); `secret` the install's
    /// `cookieSecret`.
    pub fn new(hostname: &str, secret: &str) -> StSession {
        let suffix = hex::encode(Sha256::digest(hostname.as_bytes()));
        StSession {
            name: format!("session-{}", &suffix[..8]),
            secret: secret.as_bytes().to_vec(),
        }
    }

    /// The cookie's name, `session-xxxxxxxx`.
    pub fn cookie_name(&self) -> &str {
        &self.name
    }

    /// The whole `Cookie` header value that logs `handle` in.
    pub fn cookie_header(&self, handle: &str) -> String {
        let json = serde_json::json!({ "handle": handle }).to_string();
        let value = base64::engine::general_purpose::STANDARD.encode(json);
        let signature = self.sign(&format!("{}={value}", self.name));
        format!("{n}={value}; {n}.sig={signature}", n = self.name)
    }

    /// keygrip's signature: HMAC-SHA1, base64 with `/`→`_`, `+`→`-`, no `=`.
    fn sign(&self, data: &str) -> String {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(data.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

/// The machine's host name as Node's `os.hostname()` sees it.
pub fn machine_hostname() -> std::io::Result<String> {
    let text = std::fs::read_to_string("/proc/sys/kernel/hostname")?;
    Ok(text.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values computed with SillyTavern 1.12.6's own `cookie-session` and
    /// keygrip (Node 20) for host `tavern` and secret `testsecret123`.
    #[test]
    fn matches_keygrip() {
        let s = StSession::new("tavern", "testsecret123");
        assert_eq!(s.cookie_name(), "session-34a7065a");
        assert_eq!(
            s.cookie_header("alice"),
            "session-34a7065a=eyJoYW5kbGUiOiJhbGljZSJ9; session-34a7065a.sig=AATrI8U4HheoHRlAJV679bkLP24"
        );
    }
}
