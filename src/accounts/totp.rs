//! Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA1,
//! 30-second steps, 6 digits, the shape every authenticator app knows.
//! Also the base32 text (RFC 4648, no padding) secrets are shown in.

use hmac::{Hmac, KeyInit, Mac};
use subtle::ConstantTimeEq;

/// Seconds per step.
pub const STEP_SECONDS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Bytes of a new secret (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;
/// Steps on either side of the current one that are still accepted, for
/// clocks that drift and codes typed at the end of their window.
pub const TOLERANCE: i64 = 1;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The step a time (ms since the epoch) falls in.
pub fn step_at(now_ms: i64) -> i64 {
    now_ms.div_euclid(STEP_SECONDS * 1000)
}

/// The RFC 4226 value for one counter, truncated to `digits` digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = (hash[hash.len() - 1] & 0x0f) as usize;
    let bin = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    bin % 10u32.pow(digits)
}

/// The 6-digit code of `step`, zero-padded.
pub fn code_at(secret: &[u8], step: i64) -> String {
    format!(
        "{:0width$}",
        hotp(secret, step.max(0) as u64, DIGITS),
        width = DIGITS as usize
    )
}

/// The step within the tolerance around `now_step` whose code is `code`
/// and that is newer than `last_used` (a step is good once); None
/// otherwise. Every candidate is compared, in constant time.
pub fn verify(secret: &[u8], code: &str, now_step: i64, last_used: Option<i64>) -> Option<i64> {
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut found = None;
    for step in now_step - TOLERANCE..=now_step + TOLERANCE {
        let same: bool = code_at(secret, step)
            .as_bytes()
            .ct_eq(code.as_bytes())
            .into();
        let fresh = last_used.is_none_or(|last| step > last);
        if same && fresh && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// A new random secret.
pub fn new_secret() -> [u8; SECRET_BYTES] {
    rand::random()
}

/// Base32 without padding, as authenticator apps take it.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Reads base32 (any case; spaces, dashes and padding ignored).
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !matches!(c, ' ' | '-' | '=')) {
        let c = c.to_ascii_uppercase() as u8;
        let value = BASE32.iter().position(|&x| x == c)? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The `otpauth://` address a QR code carries to an authenticator app.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let issuer_enc = utf8_percent_encode(issuer, NON_ALPHANUMERIC).to_string();
    let account_enc = utf8_percent_encode(account, NON_ALPHANUMERIC).to_string();
    format!(
        "otpauth://totp/{issuer_enc}:{account_enc}?secret={}&issuer={issuer_enc}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        base32(secret)
    )
}

/// A QR code of `text` as an SVG picture.
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 (8 digits).
    const VECTORS: &[(i64, u32)] = &[
        (59, 94287082),
        (1111111109, 7081804),
        (1111111111, 14050471),
        (1234567890, 89005924),
        (2000000000, 69279037),
        (20000000000, 65353130),
    ];

    #[test]
    fn rfc6238_vectors() {
        let secret = b"12345678901234567890";
        for &(t, want) in VECTORS {
            let step = step_at(t * 1000);
            assert_eq!(hotp(secret, step as u64, 8), want, "T={t}");
            assert_eq!(code_at(secret, step), format!("{:06}", want % 1_000_000));
        }
    }

    #[test]
    fn rfc4226_vectors() {
        let secret = b"12345678901234567890";
        let want = [755224, 287082, 359152, 969429, 338314];
        for (i, w) in want.iter().enumerate() {
            assert_eq!(hotp(secret, i as u64, 6), *w);
        }
    }

    #[test]
    fn base32_round_trip() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(from_base32("mzxw6ytboi").unwrap(), b"foobar");
        assert_eq!(
            from_base32("MZXW 6YTB OI======").unwrap(),
            b"foobar".to_vec()
        );
        assert!(from_base32("not base32!").is_none());
        let s = new_secret();
        assert_eq!(from_base32(&base32(&s)).unwrap(), s.to_vec());
        assert_eq!(base32(&s).len(), 32);
    }

    #[test]
    fn a_step_works_once_and_within_tolerance() {
        let secret = b"12345678901234567890";
        let now = 1000;
        let code = code_at(secret, now);
        assert_eq!(verify(secret, &code, now, None), Some(now));
        assert_eq!(verify(secret, &code, now, Some(now)), None, "replay");
        assert_eq!(
            verify(secret, &code_at(secret, now - 1), now, None),
            Some(now - 1)
        );
        assert_eq!(
            verify(secret, &code_at(secret, now + 1), now, None),
            Some(now + 1)
        );
        assert_eq!(verify(secret, &code_at(secret, now - 2), now, None), None);
        assert_eq!(
            verify(secret, &code_at(secret, now - 1), now, Some(now)),
            None,
            "older than the last used"
        );
        assert_eq!(verify(secret, "12345", now, None), None);
        assert_eq!(verify(secret, "abcdef", now, None), None);
    }

    #[test]
    fn qr_is_svg() {
        let svg = qr_svg("otpauth://totp/Innkeeper:alice?secret=ABC").unwrap();
        assert!(svg.contains("<svg"));
    }
}
