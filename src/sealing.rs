//! Secrets kept at rest in the database, sealed under a key file in the
//! data root (32 random bytes as hex, mode 0600, made on first use): the
//! two-factor secrets and the shared API connections' values. A copy of
//! `innkeeper.db` alone then reveals none of them; the data root as a
//! whole (a full backup holds both) does.
//!
//! The construction is HMAC-SHA256 throughout: a keystream of HMAC blocks
//! over (purpose, context, nonce, block number) XORed with the secret,
//! then a 128-bit HMAC tag over the nonce and ciphertext (encrypt, then
//! MAC; the tag is checked in constant time before anything is opened).
//! The context binds a sealed value to its row (a handle, a connection
//! name), so a value copied onto another row does not open.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

const NONCE: usize = 16;
const TAG: usize = 16;
const BLOCK: usize = 32;
/// Largest secret sealed (an API key is far smaller).
pub const MAX_SECRET: usize = 16 * 1024;

/// A key and the purpose it seals for (part of every HMAC input, so the
/// same key file could serve two purposes without crossing them).
pub struct Sealer {
    key: [u8; 32],
    purpose: &'static str,
}

impl Sealer {
    pub fn new(key: [u8; 32], purpose: &'static str) -> Sealer {
        Sealer { key, purpose }
    }

    /// `secret` sealed for `context`: "v1:" and base64 of nonce ‖
    /// ciphertext ‖ tag. Secrets past [`MAX_SECRET`] are cut there; callers
    /// refuse them before.
    pub fn seal(&self, context: &str, secret: &[u8]) -> String {
        let secret = &secret[..secret.len().min(MAX_SECRET)];
        let nonce: [u8; NONCE] = rand::random();
        let mut ct = secret.to_vec();
        self.apply_keystream(context, &nonce, &mut ct);
        let tag = self.tag(context, &nonce, &ct);
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        out.extend_from_slice(&tag);
        format!(
            "v1:{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        )
    }

    /// The secret, or None when `sealed` was not sealed for `context` with
    /// this key and purpose (or was altered).
    pub fn open(&self, context: &str, sealed: &str) -> Option<Vec<u8>> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(sealed.strip_prefix("v1:")?)
            .ok()?;
        if raw.len() < NONCE + TAG || raw.len() > NONCE + MAX_SECRET + TAG {
            return None;
        }
        let (nonce, rest) = raw.split_at(NONCE);
        let (ct, sent_tag) = rest.split_at(rest.len() - TAG);
        let want = self.tag(context, nonce, ct);
        if !bool::from(want.ct_eq(sent_tag)) {
            return None;
        }
        let mut plain = ct.to_vec();
        self.apply_keystream(context, nonce, &mut plain);
        Some(plain)
    }

    fn mac(&self, what: &str, context: &str, nonce: &[u8]) -> Hmac<Sha256> {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("any key length"));
        m.update(format!("{} {what}\0", self.purpose).as_bytes());
        m.update(context.as_bytes());
        m.update(b"\0");
        m.update(nonce);
        m
    }

    /// XORs the keystream into `data`. Block 0 carries no block number,
    /// so secrets sealed before longer ones were needed (one block) still
    /// open.
    fn apply_keystream(&self, context: &str, nonce: &[u8], data: &mut [u8]) {
        for (i, chunk) in data.chunks_mut(BLOCK).enumerate() {
            let mut m = self.mac("secret", context, nonce);
            if i > 0 {
                m.update(&(i as u32).to_be_bytes());
            }
            let block = m.finalize().into_bytes();
            for (d, k) in chunk.iter_mut().zip(block.iter()) {
                *d ^= k;
            }
        }
    }

    fn tag(&self, context: &str, nonce: &[u8], ct: &[u8]) -> [u8; TAG] {
        let mut m = self.mac("tag", context, nonce);
        m.update(ct);
        let full = m.finalize().into_bytes();
        let mut out = [0u8; TAG];
        out.copy_from_slice(&full[..TAG]);
        out
    }
}

/// Reads the key file `name` in `dir`, making it (0600, synced) when it
/// does not exist yet. Two processes making it at once agree on one.
pub fn load_or_create_key(dir: &Path, name: &str) -> std::io::Result<[u8; 32]> {
    let path = dir.join(name);
    let read = |path: &Path| -> std::io::Result<[u8; 32]> {
        let text = std::fs::read_to_string(path)?;
        let bytes = hex::decode(text.trim()).ok().filter(|b| b.len() == 32);
        bytes
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| std::io::Error::other(format!("{} is not a key", path.display())))
    };
    match read(&path) {
        Ok(key) => return Ok(key),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        Err(_) => {}
    }
    let key: [u8; 32] = rand::random();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut f) => {
            f.write_all(hex::encode(key).as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(key)
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(&path),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_for_its_context_key_and_purpose() {
        let key: [u8; 32] = rand::random();
        let s = Sealer::new(key, "test");
        for len in [0usize, 1, 31, 32, 33, 200, 1000] {
            let secret: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let sealed = s.seal("alice", &secret);
            assert_eq!(s.open("alice", &sealed).unwrap(), secret, "len {len}");
            assert!(s.open("bob", &sealed).is_none());
            assert!(Sealer::new(key, "other").open("alice", &sealed).is_none());
            assert!(Sealer::new(rand::random(), "test")
                .open("alice", &sealed)
                .is_none());
        }
        let sealed = s.seal("alice", b"sk-a-very-recognisable-value");
        assert!(!sealed.contains("recognisable"));
        // One flipped bit anywhere is refused.
        let mut raw = base64::engine::general_purpose::STANDARD
            .decode(&sealed[3..])
            .unwrap();
        raw[NONCE + 2] ^= 1;
        let altered = format!(
            "v1:{}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        );
        assert!(s.open("alice", &altered).is_none());
        assert!(s.open("alice", "v1:!!").is_none());
        assert!(s.open("alice", "plain").is_none());
    }

    #[test]
    fn key_file_is_made_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_key(dir.path(), "k.key").unwrap();
        let b = load_or_create_key(dir.path(), "k.key").unwrap();
        assert_eq!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("k.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.path().join("bad.key"), "zz").unwrap();
        assert!(load_or_create_key(dir.path(), "bad.key").is_err());
    }
}
