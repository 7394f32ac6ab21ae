//! Password hashing: scrypt PHC strings for new hashes, SillyTavern's
//! legacy format for imported ones, NFC normalisation, constant-time
//! comparison, and a semaphore so a login storm cannot starve the server or
//! exhaust memory (each hash takes 128·N·r bytes), with hashes run on a
//! fixed thread per slot.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use scrypt::password_hash::phc::PasswordHash;
use scrypt::password_hash::{PasswordHasher, PasswordVerifier};
use scrypt::{Params, Scrypt};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use unicode_normalization::UnicodeNormalization;

use crate::accounts::hash_pool::HashPool;

/// A stored password in one of the two schemes.
#[derive(Debug, Clone, Copy)]
pub enum Stored<'a> {
    /// `$scrypt$ln=..,r=..,p=..$salt$hash`.
    Phc(&'a str),
    /// SillyTavern: base64(scrypt(NFC(pw), salt text as bytes, N=16384, r=8, p=1, 64 bytes)).
    Legacy { hash: &'a str, salt: &'a str },
}

impl<'a> Stored<'a> {
    /// Reads the two stored columns.
    pub fn from_columns(password: &'a str, legacy_salt: Option<&'a str>) -> Stored<'a> {
        match legacy_salt {
            Some(salt) => Stored::Legacy {
                hash: password,
                salt,
            },
            None => Stored::Phc(password),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// Hashes and verifies passwords on the blocking pool, at most
/// `concurrency` at a time.
#[derive(Clone)]
pub struct Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of a random password with the current parameters, verified
    /// against for unknown handles so they take as long as known ones.
    /// Made on first use, so start-up does not pay for a hash.
    dummy: Arc<std::sync::OnceLock<String>>,
    /// One thread per slot (see hash_pool for why not the blocking pool).
    pool: Arc<HashPool>,
}

fn pool_failed() -> HashError {
    HashError::Failed("the hashing thread stopped".into())
}

impl Hasher {
    pub fn new(log_n: u8, r: u32, p: u32, concurrency: usize) -> Result<Hasher, HashError> {
        let params = Params::new(log_n, r, p).map_err(|e| HashError::Failed(e.to_string()))?;
        Ok(Hasher {
            params,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            pool: Arc::new(HashPool::new(concurrency.max(1))),
            dummy: Arc::new(std::sync::OnceLock::new()),
        })
    }

    /// A new PHC hash of `password`.
    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let params = self.params;
        let pw = password.to_string();
        self.blocking(move || hash_with(&params, &pw)).await?
    }

    /// Checks `password` against a stored hash.
    pub async fn verify(&self, password: &str, stored: Stored<'_>) -> Result<bool, HashError> {
        let pw = password.to_string();
        let stored = owned(stored);
        self.blocking(move || verify_owned(&pw, &stored)).await
    }

    /// Checks `password` (or, with None for `stored`, spends the time of a
    /// check for an unknown handle) once a hashing slot is free. `gate`
    /// runs first and `after` gets the result, both while the slot is held,
    /// so a failure limit checked in `gate` and counted in `after` cannot be
    /// outrun by parallel guesses. Err from `gate` skips the check.
    pub async fn verify_gated<E>(
        &self,
        password: &str,
        stored: Option<Stored<'_>>,
        gate: impl FnOnce() -> Result<(), E>,
        after: impl FnOnce(bool),
    ) -> Result<Result<bool, E>, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError::Failed(e.to_string()))?;
        if let Err(e) = gate() {
            return Ok(Err(e));
        }
        let pw = password.to_string();
        let stored = stored.map(owned);
        let (dummy, params) = (self.dummy.clone(), self.params);
        let ok = self
            .pool
            .run(move || match stored {
                Some(stored) => verify_owned(&pw, &stored),
                None => {
                    // Same work as a real check, so an unknown handle takes as long.
                    let stored = dummy.get_or_init(|| {
                        let random: [u8; 16] = rand::random();
                        hash_with(&params, &hex::encode(random)).unwrap_or_default()
                    });
                    verify_owned(&pw, &OwnedStored::Phc(stored.clone()));
                    false
                }
            })
            .await
            .ok_or_else(pool_failed)?;
        after(ok);
        Ok(Ok(ok))
    }

    /// True when a stored hash should be replaced by one with the current
    /// scheme and parameters (checked after a successful login).
    pub fn needs_rehash(&self, stored: Stored<'_>) -> bool {
        match stored {
            Stored::Legacy { .. } => true,
            Stored::Phc(s) => match PasswordHash::new(s) {
                Ok(h) => match Params::try_from(&h) {
                    Ok(p) => {
                        p.log_n() != self.params.log_n()
                            || p.r() != self.params.r()
                            || p.p() != self.params.p()
                    }
                    Err(_) => true,
                },
                Err(_) => true,
            },
        }
    }

    /// Synchronous hash for console commands (no runtime needed).
    pub fn hash_blocking(&self, password: &str) -> Result<String, HashError> {
        hash_with(&self.params, password)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError::Failed(e.to_string()))?;
        self.pool.run(f).await.ok_or_else(pool_failed)
    }
}

enum OwnedStored {
    Phc(String),
    Legacy { hash: String, salt: String },
}

fn owned(s: Stored<'_>) -> OwnedStored {
    match s {
        Stored::Phc(h) => OwnedStored::Phc(h.to_string()),
        Stored::Legacy { hash, salt } => OwnedStored::Legacy {
            hash: hash.to_string(),
            salt: salt.to_string(),
        },
    }
}

fn normalize(password: &str) -> String {
    password.nfc().collect()
}

fn hash_with(params: &Params, password: &str) -> Result<String, HashError> {
    let salt: [u8; 16] = rand::random();
    let hash = Scrypt::new_with_params(*params)
        .hash_password_with_salt(normalize(password).as_bytes(), &salt)
        .map_err(|e| HashError::Failed(e.to_string()))?;
    Ok(hash.to_string())
}

fn verify_owned(password: &str, stored: &OwnedStored) -> bool {
    let pw = normalize(password);
    match stored {
        OwnedStored::Phc(s) => match PasswordHash::new(s) {
            // The verifier compares outputs in constant time.
            Ok(h) => Scrypt::new().verify_password(pw.as_bytes(), &h).is_ok(),
            Err(_) => false,
        },
        OwnedStored::Legacy { hash, salt } => {
            let Ok(expected) = B64.decode(hash.trim()) else {
                return false;
            };
            legacy_hash_bytes(&pw, salt)
                .map(|got| got.ct_eq(&expected).into())
                .unwrap_or(false)
        }
    }
}

/// SillyTavern's scheme: scrypt(NFC(password), salt text bytes, 2^14, 8, 1) → 64 bytes.
pub fn legacy_hash_bytes(password: &str, salt: &str) -> Option<Vec<u8>> {
    let params = Params::new_with_output_len(14, 8, 1, 64).ok()?;
    let mut out = vec![0u8; 64];
    scrypt::scrypt(
        normalize(password).as_bytes(),
        salt.as_bytes(),
        &params,
        &mut out,
    )
    .ok()?;
    Some(out)
}

/// The base64 text SillyTavern stores for a password (tests, import checks).
pub fn legacy_hash(password: &str, salt: &str) -> Option<String> {
    legacy_hash_bytes(password, salt).map(|b| B64.encode(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: &str = "q83vEjRWeJq8mJmZ3a7G1g==";

    #[test]
    fn legacy_vectors() {
        assert_eq!(
            legacy_hash("SecurePassword", SALT).unwrap(),
            "Xp8jj9yb0c7KoaMMwEA4lNN80Rl6ki8DppzxUPeciPjU1CmGsL7LrbZFOszQ02w+lQ9ZfOWD/l+XTv8+YSEJFw=="
        );
        let want = "M0j/Zcqq5PIiAjDuUaE5/sJwiPVDl7DYogHSa/FYlmr0wiARK8S6M4UJ7lgGnxw2h0QyXmzSWlzldLM7hwJmuw==";
        assert_eq!(legacy_hash("p\u{e4}ssword", SALT).unwrap(), want);
        assert_eq!(legacy_hash("pa\u{308}ssword", SALT).unwrap(), want);
    }

    #[tokio::test]
    async fn phc_round_trip_and_rehash_rules() {
        let h = Hasher::new(4, 8, 1, 2).unwrap();
        let stored = h.hash("p\u{e4}ssword").await.unwrap();
        assert!(stored.starts_with("$scrypt$ln=4,r=8,p=1$"), "{stored}");
        assert!(h
            .verify("pa\u{308}ssword", Stored::Phc(&stored))
            .await
            .unwrap());
        assert!(!h.verify("password", Stored::Phc(&stored)).await.unwrap());
        assert!(!h.needs_rehash(Stored::Phc(&stored)));
        let stronger = Hasher::new(5, 8, 1, 1).unwrap();
        assert!(stronger.needs_rehash(Stored::Phc(&stored)));
        let legacy = Stored::Legacy {
            hash: "Xp8jj9yb0c7KoaMMwEA4lNN80Rl6ki8DppzxUPeciPjU1CmGsL7LrbZFOszQ02w+lQ9ZfOWD/l+XTv8+YSEJFw==",
            salt: SALT,
        };
        assert!(h.verify("SecurePassword", legacy).await.unwrap());
        assert!(!h.verify("securepassword", legacy).await.unwrap());
        assert!(h.needs_rehash(legacy));
        assert!(!h.verify("x", Stored::Phc("not a hash")).await.unwrap());
    }
}
