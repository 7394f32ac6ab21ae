//! Handles: the unique account ids, and turning free text into one.

/// Longest handle accepted.
pub const MAX_LEN: usize = 64;

/// The account every install has.
pub const DEFAULT_USER: &str = "default-user";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandleError {
    #[error("handle is empty")]
    Empty,
    #[error("handle is longer than {MAX_LEN} characters")]
    TooLong,
}

/// True when `s` already follows the rules: `a-z`, `0-9`, single inner
/// dashes, 1 to 64 characters.
pub fn is_valid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_LEN
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Free text → handle: transliterate to ASCII, lowercase, every run of
/// other characters becomes one dash, no dash at either end. Letters and
/// digits stay together (`juan555` stays `juan555`).
pub fn slugify(text: &str) -> Result<String, HandleError> {
    let out = slug_of_any_length(text);
    if out.is_empty() {
        return Err(HandleError::Empty);
    }
    if out.len() > MAX_LEN {
        return Err(HandleError::TooLong);
    }
    Ok(out)
}

/// The handle to suggest for free text (a display name, say): its slug,
/// cut to [`MAX_LEN`] characters (and of any dash the cut leaves at the
/// end) when longer, with whether it was cut. Empty when nothing is left.
pub fn suggest(text: &str) -> (String, bool) {
    let mut out = slug_of_any_length(text);
    if out.len() <= MAX_LEN {
        return (out, false);
    }
    out.truncate(MAX_LEN);
    let kept = out.trim_end_matches('-').len();
    out.truncate(kept);
    (out, true)
}

/// The slug rules without the length limit (ASCII only, so every byte is
/// a character and cutting by bytes is safe).
fn slug_of_any_length(text: &str) -> String {
    let ascii = deunicode::deunicode(text).to_ascii_lowercase();
    let mut out = String::with_capacity(ascii.len());
    let mut pending_dash = false;
    for ch in ascii.chars() {
        if ch.is_ascii_lowercase() || ch.is_ascii_digit() {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(ch);
        } else {
            pending_dash = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_cases() {
        for (input, want) in [
            ("Hello World!", "hello-world"),
            ("Дмитрий", "dmitrii"),
            ("juan555", "juan555"),
            ("cool-guy1337", "cool-guy1337"),
            ("flux-the-cat", "flux-the-cat"),
            ("default-user", "default-user"),
            ("../etc", "etc"),
            ("  --a__b--  ", "a-b"),
            ("9x", "9x"),
        ] {
            assert_eq!(slugify(input).as_deref(), Ok(want), "{input:?}");
        }
        assert_eq!(slugify(""), Err(HandleError::Empty));
        assert_eq!(slugify("!!! ///"), Err(HandleError::Empty));
        assert_eq!(slugify(&"a".repeat(65)), Err(HandleError::TooLong));
        assert_eq!(slugify(&"a".repeat(64)).unwrap().len(), 64);
    }

    #[test]
    fn suggestions_are_cut_to_the_limit() {
        assert_eq!(suggest("Zoë Quinn"), ("zoe-quinn".into(), false));
        assert_eq!(suggest("!!!"), (String::new(), false));
        let long = "word ".repeat(20);
        let (cut, was_cut) = suggest(&long);
        assert!(was_cut && cut.len() <= MAX_LEN && is_valid(&cut), "{cut}");
        // A cut that ends on a dash drops it.
        let (cut, _) = suggest(&format!("{} b", "a".repeat(63)));
        assert_eq!(cut, "a".repeat(63));
        assert_eq!(suggest(&"a".repeat(64)), ("a".repeat(64), false));
    }

    #[test]
    fn validity() {
        for ok in [
            "default-user",
            "juan555",
            "flux-the-cat",
            "cool-guy1337",
            "a",
        ] {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "A",
            "a b",
            "../x",
            "a.b",
            &"a".repeat(65),
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
    }
}
