//! Lua's pattern functions (`string.find`, `match`, `gmatch`, `gsub`),
//! re-implemented so a long match can be stopped.
//!
//! Why: Lua's own matcher backtracks inside one C call, where the deadline
//! hook never runs, so `("a"):rep(20000):find(".-b")` or a pattern with a
//! few `.-` in a row holds its thread for seconds to years whatever the
//! event's budget says. This matcher follows the reference step for
//! step (Lua 5.4's `lstrlib.c`: same classes in the C locale, same
//! captures, same anchors, same handling of empty matches, same error
//! texts), but counts its steps and asks the call's clock every
//! [`STEPS_PER_CHECK`] of them, so it ends at the deadline like Lua code.
//!
//! Differences a script can see: errors raised here reach `pcall` as an
//! error object whose `tostring` is the message (not a plain string), and
//! `gsub` refuses to build a result larger than the script's memory limit.

use std::cell::Cell;
use std::sync::Arc;

use mlua::{Lua, LuaString, MultiValue, Table, Value};

/// Steps between two looks at the clock: a step is one call of the matcher
/// or one character tried, a few nanoseconds each.
pub const STEPS_PER_CHECK: u32 = 1024;

/// Lua's limits: captures per pattern and matcher recursion depth.
const MAX_CAPTURES: usize = 32;
const MAX_DEPTH: usize = 200;

const ESC: u8 = b'%';
const SPECIALS: &[u8] = b"^$*+?.([%-";

/// Says whether the call may go on; an error (the deadline's) stops it.
/// Gets the state, to tell where in the script the call was made.
pub type Check = Arc<dyn Fn(&Lua) -> mlua::Result<()> + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cap {
    Unfinished,
    Position,
    Len(usize),
}

fn fail(message: impl Into<String>) -> mlua::Error {
    mlua::Error::runtime(message.into())
}

/// Character classes (`%a`, `%d`, …) in the C locale, as Lua has them.
fn class_matches(c: u8, class: u8) -> bool {
    let found = match class.to_ascii_lowercase() {
        b'a' => c.is_ascii_alphabetic(),
        b'c' => c.is_ascii_control(),
        b'd' => c.is_ascii_digit(),
        b'g' => c.is_ascii_graphic(),
        b'l' => c.is_ascii_lowercase(),
        b'p' => c.is_ascii_punctuation(),
        // C's isspace also counts the vertical tab, Rust's does not.
        b's' => matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'),
        b'u' => c.is_ascii_uppercase(),
        b'w' => c.is_ascii_alphanumeric(),
        b'x' => c.is_ascii_hexdigit(),
        // Deprecated in Lua, still there: the NUL byte.
        b'z' => c == 0,
        _ => return class == c,
    };
    if class.is_ascii_uppercase() {
        !found
    } else {
        found
    }
}

/// One match attempt's state: the subject, the pattern, the captures.
struct Matcher<'a> {
    src: &'a [u8],
    pat: &'a [u8],
    level: usize,
    caps: [(usize, Cap); MAX_CAPTURES],
    depth: usize,
    steps: u32,
    check: &'a Check,
    lua: &'a Lua,
}

impl<'a> Matcher<'a> {
    fn new(lua: &'a Lua, src: &'a [u8], pat: &'a [u8], check: &'a Check) -> Matcher<'a> {
        Matcher {
            src,
            pat,
            level: 0,
            caps: [(0, Cap::Unfinished); MAX_CAPTURES],
            depth: MAX_DEPTH,
            steps: 0,
            check,
            lua,
        }
    }

    /// Forgets the captures of the previous attempt.
    fn reset(&mut self) {
        self.level = 0;
        self.depth = MAX_DEPTH;
    }

    fn tick(&mut self) -> mlua::Result<()> {
        self.steps += 1;
        if self.steps >= STEPS_PER_CHECK {
            self.steps = 0;
            (self.check)(self.lua)?;
        }
        Ok(())
    }

    /// The pattern byte at `i`, or 0 past the end (where C reads the
    /// string's terminating NUL).
    fn p(&self, i: usize) -> u8 {
        self.pat.get(i).copied().unwrap_or(0)
    }

    fn s(&self, i: usize) -> u8 {
        self.src.get(i).copied().unwrap_or(0)
    }

    /// Where the single-character class starting at `p` ends.
    fn class_end(&self, mut p: usize) -> mlua::Result<usize> {
        let c = self.p(p);
        p += 1;
        if c == ESC {
            if p >= self.pat.len() {
                return Err(fail("malformed pattern (ends with '%')"));
            }
            return Ok(p + 1);
        }
        if c == b'[' {
            if self.p(p) == b'^' {
                p += 1;
            }
            // The first character is taken as is, so `[]]` is a set.
            loop {
                if p >= self.pat.len() {
                    return Err(fail("malformed pattern (missing ']')"));
                }
                let c = self.pat[p];
                p += 1;
                if c == ESC && p < self.pat.len() {
                    p += 1;
                }
                if self.p(p) == b']' {
                    break;
                }
            }
            return Ok(p + 1);
        }
        Ok(p)
    }

    /// Whether `c` is in the set `[...]` that starts at `p` and whose `]`
    /// is at `end`.
    fn in_set(&self, c: u8, mut p: usize, end: usize) -> bool {
        let mut yes = true;
        if self.p(p + 1) == b'^' {
            yes = false;
            p += 1;
        }
        loop {
            p += 1;
            if p >= end {
                return !yes;
            }
            if self.pat[p] == ESC {
                p += 1;
                if class_matches(c, self.p(p)) {
                    return yes;
                }
            } else if self.p(p + 1) == b'-' && p + 2 < end {
                p += 2;
                if self.pat[p - 2] <= c && c <= self.pat[p] {
                    return yes;
                }
            } else if self.pat[p] == c {
                return yes;
            }
        }
    }

    /// Whether the subject byte at `s` matches the class at `p..ep`.
    fn single(&self, s: usize, p: usize, ep: usize) -> bool {
        let Some(&c) = self.src.get(s) else {
            return false;
        };
        match self.pat[p] {
            b'.' => true,
            ESC => class_matches(c, self.p(p + 1)),
            b'[' => self.in_set(c, p, ep - 1),
            literal => literal == c,
        }
    }

    /// Matches the pattern from `p` against the subject from `s`; the end
    /// of the match, or `None`.
    fn run(&mut self, mut s: usize, mut p: usize) -> mlua::Result<Option<usize>> {
        if self.depth == 0 {
            return Err(fail("pattern too complex"));
        }
        self.depth -= 1;
        self.tick()?;
        let end = loop {
            if p >= self.pat.len() {
                break Some(s);
            }
            match self.pat[p] {
                b'(' => {
                    break if self.p(p + 1) == b')' {
                        self.start_capture(s, p + 2, Cap::Position)?
                    } else {
                        self.start_capture(s, p + 1, Cap::Unfinished)?
                    };
                }
                b')' => break self.end_capture(s, p + 1)?,
                b'$' if p + 1 == self.pat.len() => break (s == self.src.len()).then_some(s),
                ESC if self.p(p + 1) == b'b' => match self.balance(s, p + 2)? {
                    Some(e) => {
                        s = e;
                        p += 4;
                    }
                    None => break None,
                },
                ESC if self.p(p + 1) == b'f' => {
                    p += 2;
                    if self.p(p) != b'[' {
                        return Err(fail("missing '[' after '%f' in pattern"));
                    }
                    let ep = self.class_end(p)?;
                    let previous = if s == 0 { 0 } else { self.s(s - 1) };
                    if !self.in_set(previous, p, ep - 1) && self.in_set(self.s(s), p, ep - 1) {
                        p = ep;
                    } else {
                        break None;
                    }
                }
                ESC if self.p(p + 1).is_ascii_digit() => {
                    match self.back_reference(s, self.p(p + 1))? {
                        Some(e) => {
                            s = e;
                            p += 2;
                        }
                        None => break None,
                    }
                }
                _ => {
                    let ep = self.class_end(p)?;
                    let next = self.p(ep);
                    if !self.single(s, p, ep) {
                        if matches!(next, b'*' | b'?' | b'-') {
                            p = ep + 1;
                            continue;
                        }
                        break None;
                    }
                    match next {
                        b'?' => {
                            if let Some(e) = self.run(s + 1, ep + 1)? {
                                break Some(e);
                            }
                            p = ep + 1;
                        }
                        b'+' => break self.max_expand(s + 1, p, ep)?,
                        b'*' => break self.max_expand(s, p, ep)?,
                        b'-' => break self.min_expand(s, p, ep)?,
                        _ => {
                            s += 1;
                            p = ep;
                        }
                    }
                }
            }
        };
        self.depth += 1;
        Ok(end)
    }

    fn max_expand(&mut self, s: usize, p: usize, ep: usize) -> mlua::Result<Option<usize>> {
        let mut count = 0;
        while self.single(s + count, p, ep) {
            count += 1;
            self.tick()?;
        }
        loop {
            if let Some(e) = self.run(s + count, ep + 1)? {
                return Ok(Some(e));
            }
            if count == 0 {
                return Ok(None);
            }
            count -= 1;
        }
    }

    fn min_expand(&mut self, mut s: usize, p: usize, ep: usize) -> mlua::Result<Option<usize>> {
        loop {
            if let Some(e) = self.run(s, ep + 1)? {
                return Ok(Some(e));
            }
            if !self.single(s, p, ep) {
                return Ok(None);
            }
            s += 1;
        }
    }

    fn start_capture(&mut self, s: usize, p: usize, what: Cap) -> mlua::Result<Option<usize>> {
        if self.level >= MAX_CAPTURES {
            return Err(fail("too many captures"));
        }
        self.caps[self.level] = (s, what);
        self.level += 1;
        let end = self.run(s, p)?;
        if end.is_none() {
            self.level -= 1;
        }
        Ok(end)
    }

    fn end_capture(&mut self, s: usize, p: usize) -> mlua::Result<Option<usize>> {
        let open = (0..self.level)
            .rev()
            .find(|&l| self.caps[l].1 == Cap::Unfinished)
            .ok_or_else(|| fail("invalid pattern capture"))?;
        self.caps[open].1 = Cap::Len(s - self.caps[open].0);
        let end = self.run(s, p)?;
        if end.is_none() {
            self.caps[open].1 = Cap::Unfinished;
        }
        Ok(end)
    }

    /// `%bxy`: a balanced run from `x` to its matching `y`.
    fn balance(&mut self, s: usize, p: usize) -> mlua::Result<Option<usize>> {
        if p + 1 >= self.pat.len() {
            return Err(fail("malformed pattern (missing arguments to '%b')"));
        }
        if self.s(s) != self.pat[p] || s >= self.src.len() {
            return Ok(None);
        }
        let (open, close) = (self.pat[p], self.pat[p + 1]);
        let mut depth = 1usize;
        for i in s + 1..self.src.len() {
            self.tick()?;
            let c = self.src[i];
            if c == close {
                depth -= 1;
                if depth == 0 {
                    return Ok(Some(i + 1));
                }
            } else if c == open {
                depth += 1;
            }
        }
        Ok(None)
    }

    /// `%1`…`%9`: the text of an earlier capture again.
    fn back_reference(&mut self, s: usize, digit: u8) -> mlua::Result<Option<usize>> {
        let index = self.closed_capture(digit)?;
        let (start, cap) = self.caps[index];
        let Cap::Len(len) = cap else {
            return Ok(None);
        };
        let rest = &self.src[s..];
        if rest.len() >= len && rest[..len] == self.src[start..start + len] {
            Ok(Some(s + len))
        } else {
            Ok(None)
        }
    }

    fn closed_capture(&self, digit: u8) -> mlua::Result<usize> {
        let n = i32::from(digit) - i32::from(b'1');
        match usize::try_from(n) {
            Ok(i) if i < self.level && self.caps[i].1 != Cap::Unfinished => Ok(i),
            _ => Err(fail(format!("invalid capture index %{}", n + 1))),
        }
    }

    /// Capture `i` of a match `s..e` as a Lua value; with no captures,
    /// capture 0 is the whole match.
    fn capture(&self, lua: &Lua, i: usize, s: usize, e: usize) -> mlua::Result<Value> {
        if i >= self.level {
            if i != 0 {
                return Err(fail(format!("invalid capture index %{}", i + 1)));
            }
            return Ok(Value::String(lua.create_string(&self.src[s..e])?));
        }
        let (start, cap) = self.caps[i];
        match cap {
            Cap::Unfinished => Err(fail("unfinished capture")),
            Cap::Position => Ok(Value::Integer((start + 1) as mlua::Integer)),
            Cap::Len(len) => Ok(Value::String(
                lua.create_string(&self.src[start..start + len])?,
            )),
        }
    }

    /// All captures of a match; the whole match when there are none and
    /// `whole` is given.
    fn captures(&self, lua: &Lua, whole: Option<(usize, usize)>) -> mlua::Result<MultiValue> {
        let (s, e) = whole.unwrap_or((0, 0));
        let count = if self.level == 0 && whole.is_some() {
            1
        } else {
            self.level
        };
        (0..count).map(|i| self.capture(lua, i, s, e)).collect()
    }
}

fn bad_argument(n: usize, function: &str, what: &str) -> mlua::Error {
    fail(format!("bad argument #{n} to '{function}' ({what})"))
}

/// `luaL_checklstring`: a string, or a number turned into one.
fn string_arg(lua: &Lua, value: Value, n: usize, function: &str) -> mlua::Result<LuaString> {
    match value {
        Value::String(s) => Ok(s),
        Value::Integer(_) | Value::Number(_) => lua
            .coerce_string(value)?
            .ok_or_else(|| bad_argument(n, function, "string expected, got number")),
        other => Err(bad_argument(
            n,
            function,
            &format!("string expected, got {}", type_name(&other)),
        )),
    }
}

/// `luaL_optinteger`.
fn integer_arg(
    lua: &Lua,
    value: Value,
    default: mlua::Integer,
    n: usize,
    function: &str,
) -> mlua::Result<mlua::Integer> {
    match value {
        Value::Nil => Ok(default),
        Value::Integer(i) => Ok(i),
        other => {
            let name = type_name(&other);
            match lua.coerce_integer(other)? {
                Some(i) => Ok(i),
                None if name == "number" || name == "string" => Err(bad_argument(
                    n,
                    function,
                    "number has no integer representation",
                )),
                None => Err(bad_argument(
                    n,
                    function,
                    &format!("number expected, got {name}"),
                )),
            }
        }
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

/// Lua's `posrelatI`: a 1-based start position, negative from the end.
fn start_position(init: mlua::Integer, len: usize) -> usize {
    if init > 0 {
        usize::try_from(init).unwrap_or(usize::MAX)
    } else if init == 0 || init.unsigned_abs() > len as u64 {
        1
    } else {
        len - init.unsigned_abs() as usize + 1
    }
}

fn truthy(value: &Value) -> bool {
    !matches!(value, Value::Nil | Value::Boolean(false))
}

/// `string.find` and `string.match`.
fn find_or_match(
    lua: &Lua,
    args: MultiValue,
    check: &Check,
    find: bool,
) -> mlua::Result<MultiValue> {
    let name = if find { "find" } else { "match" };
    let mut args = args.into_iter();
    let subject = string_arg(lua, args.next().unwrap_or(Value::Nil), 1, name)?;
    let pattern = string_arg(lua, args.next().unwrap_or(Value::Nil), 2, name)?;
    let init = integer_arg(lua, args.next().unwrap_or(Value::Nil), 1, 3, name)?;
    let plain = truthy(&args.next().unwrap_or(Value::Nil));
    let src = subject.as_bytes();
    let pat = pattern.as_bytes();
    let start = start_position(init, src.len()) - 1;
    if start > src.len() {
        return Ok(MultiValue::from_iter([Value::Nil]));
    }
    if find && (plain || !pat.iter().any(|c| SPECIALS.contains(c))) {
        return match plain_find(lua, &src[start..], &pat, check)? {
            Some(at) => {
                let first = (start + at + 1) as mlua::Integer;
                let last = (start + at + pat.len()) as mlua::Integer;
                Ok(MultiValue::from_iter([
                    Value::Integer(first),
                    Value::Integer(last),
                ]))
            }
            None => Ok(MultiValue::from_iter([Value::Nil])),
        };
    }
    let (anchor, body) = match pat.split_first() {
        Some((b'^', rest)) => (true, rest),
        _ => (false, &pat[..]),
    };
    let mut m = Matcher::new(lua, &src, body, check);
    let mut s = start;
    loop {
        m.reset();
        if let Some(e) = m.run(s, 0)? {
            if find {
                let mut out = MultiValue::from_iter([
                    Value::Integer((s + 1) as mlua::Integer),
                    Value::Integer(e as mlua::Integer),
                ]);
                out.extend(m.captures(lua, None)?);
                return Ok(out);
            }
            return m.captures(lua, Some((s, e)));
        }
        s += 1;
        if anchor || s > src.len() {
            return Ok(MultiValue::from_iter([Value::Nil]));
        }
    }
}

/// Where `needle` first occurs in `hay`, counting steps like the matcher.
fn plain_find(lua: &Lua, hay: &[u8], needle: &[u8], check: &Check) -> mlua::Result<Option<usize>> {
    if needle.is_empty() {
        return Ok(Some(0));
    }
    if needle.len() > hay.len() {
        return Ok(None);
    }
    for (i, window) in hay.windows(needle.len()).enumerate() {
        if i % STEPS_PER_CHECK as usize == 0 {
            check(lua)?;
        }
        if window == needle {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// `string.gmatch`: an iterator over the matches.
fn gmatch(lua: &Lua, args: MultiValue, check: &Check) -> mlua::Result<mlua::Function> {
    let mut args = args.into_iter();
    let subject = string_arg(lua, args.next().unwrap_or(Value::Nil), 1, "gmatch")?;
    let pattern = string_arg(lua, args.next().unwrap_or(Value::Nil), 2, "gmatch")?;
    let init = integer_arg(lua, args.next().unwrap_or(Value::Nil), 1, 3, "gmatch")?;
    let len = subject.as_bytes().len();
    let start = (start_position(init, len) - 1).min(len + 1);
    let next = Cell::new(start);
    let last_match: Cell<Option<usize>> = Cell::new(None);
    let check = Arc::clone(check);
    lua.create_function(move |lua, ()| {
        let src = subject.as_bytes();
        let pat = pattern.as_bytes();
        let mut m = Matcher::new(lua, &src, &pat, &check);
        let mut s = next.get();
        while s <= src.len() {
            m.reset();
            if let Some(e) = m.run(s, 0)? {
                if last_match.get() != Some(e) {
                    next.set(e);
                    last_match.set(Some(e));
                    return m.captures(lua, Some((s, e)));
                }
            }
            s += 1;
        }
        next.set(s);
        Ok(MultiValue::new())
    })
}

/// `string.gsub`, with the result capped at `max_result` bytes.
fn gsub(lua: &Lua, args: MultiValue, check: &Check, max_result: usize) -> mlua::Result<MultiValue> {
    let mut args = args.into_iter();
    let subject = string_arg(lua, args.next().unwrap_or(Value::Nil), 1, "gsub")?;
    let pattern = string_arg(lua, args.next().unwrap_or(Value::Nil), 2, "gsub")?;
    let repl = args.next().unwrap_or(Value::Nil);
    let src = subject.as_bytes();
    let pat = pattern.as_bytes();
    let default_max = mlua::Integer::try_from(src.len()).unwrap_or(mlua::Integer::MAX - 1) + 1;
    let max_n = integer_arg(
        lua,
        args.next().unwrap_or(Value::Nil),
        default_max,
        4,
        "gsub",
    )?;
    let repl_text = match &repl {
        Value::String(_) | Value::Integer(_) | Value::Number(_) => {
            Some(string_arg(lua, repl.clone(), 3, "gsub")?)
        }
        Value::Table(_) | Value::Function(_) => None,
        other => {
            return Err(bad_argument(
                3,
                "gsub",
                &format!("string/function/table expected, got {}", type_name(other)),
            ))
        }
    };
    let (anchor, body) = match pat.split_first() {
        Some((b'^', rest)) => (true, rest),
        _ => (false, &pat[..]),
    };
    let mut m = Matcher::new(lua, &src, body, check);
    let mut out: Vec<u8> = Vec::new();
    let mut s = 0;
    let mut last_match = None;
    let mut count: mlua::Integer = 0;
    let mut changed = false;
    while count < max_n {
        m.reset();
        match m.run(s, 0)? {
            Some(e) if last_match != Some(e) => {
                count += 1;
                changed |= substitute(
                    lua,
                    &m,
                    &repl,
                    repl_text.as_ref(),
                    (s, e),
                    &mut out,
                    max_result,
                )?;
                s = e;
                last_match = Some(e);
            }
            _ if s < src.len() => {
                out.push(src[s]);
                s += 1;
            }
            _ => break,
        }
        if out.len() > max_result {
            return Err(too_big(max_result));
        }
        if anchor {
            break;
        }
    }
    if !changed {
        // Like Lua: the subject itself comes back, not a copy.
        return Ok(MultiValue::from_iter([
            Value::String(subject.clone()),
            Value::Integer(count),
        ]));
    }
    out.extend_from_slice(&src[s..]);
    if out.len() > max_result {
        return Err(too_big(max_result));
    }
    Ok(MultiValue::from_iter([
        Value::String(lua.create_string(&out)?),
        Value::Integer(count),
    ]))
}

fn too_big(max_result: usize) -> mlua::Error {
    fail(format!(
        "string.gsub: the result would be larger than {max_result} bytes (limit in hook scripts)"
    ))
}

/// Appends the replacement of the match `s..e` to `out`; false when it
/// kept the matched text (a function or table gave nil or false). A
/// replacement text is checked against `max_result` as it is expanded,
/// since each `%0` in it can add the whole match again.
fn substitute(
    lua: &Lua,
    m: &Matcher<'_>,
    repl: &Value,
    repl_text: Option<&LuaString>,
    (s, e): (usize, usize),
    out: &mut Vec<u8>,
    max_result: usize,
) -> mlua::Result<bool> {
    if let Some(text) = repl_text {
        let text = text.as_bytes();
        let mut i = 0;
        while i < text.len() {
            if out.len() > max_result {
                return Err(too_big(max_result));
            }
            let c = text[i];
            i += 1;
            if c != ESC {
                out.push(c);
                continue;
            }
            let d = text.get(i).copied().unwrap_or(0);
            i += 1;
            if d == ESC {
                out.push(ESC);
            } else if d == b'0' {
                out.extend_from_slice(&m.src[s..e]);
            } else if d.is_ascii_digit() {
                match m.capture(lua, usize::from(d - b'1'), s, e)? {
                    Value::String(capture) => out.extend_from_slice(&capture.as_bytes()),
                    Value::Integer(at) => out.extend_from_slice(at.to_string().as_bytes()),
                    _ => {}
                }
            } else {
                return Err(fail("invalid use of '%' in replacement string"));
            }
        }
        return Ok(true);
    }
    let value: Value = match repl {
        Value::Function(f) => f.call(m.captures(lua, Some((s, e)))?)?,
        Value::Table(t) => t.get(m.capture(lua, 0, s, e)?)?,
        _ => Value::Nil,
    };
    match value {
        Value::Nil | Value::Boolean(false) => {
            out.extend_from_slice(&m.src[s..e]);
            return Ok(false);
        }
        Value::String(text) => out.extend_from_slice(&text.as_bytes()),
        number @ (Value::Integer(_) | Value::Number(_)) => {
            if let Some(text) = lua.coerce_string(number)? {
                out.extend_from_slice(&text.as_bytes());
            }
        }
        other => {
            return Err(fail(format!(
                "invalid replacement value (a {})",
                type_name(&other)
            )))
        }
    }
    Ok(true)
}

/// Puts the stoppable `find`, `match`, `gmatch` and `gsub` into `string`.
pub fn install(lua: &Lua, string: &Table, check: Check, max_result: usize) -> mlua::Result<()> {
    let c = Arc::clone(&check);
    string.raw_set(
        "find",
        lua.create_function(move |lua, args| find_or_match(lua, args, &c, true))?,
    )?;
    let c = Arc::clone(&check);
    string.raw_set(
        "match",
        lua.create_function(move |lua, args| find_or_match(lua, args, &c, false))?,
    )?;
    let c = Arc::clone(&check);
    string.raw_set(
        "gmatch",
        lua.create_function(move |lua, args| gmatch(lua, args, &c))?,
    )?;
    string.raw_set(
        "gsub",
        lua.create_function(move |lua, args| gsub(lua, args, &check, max_result))?,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serialises every result of a call, or its error, the same way in
    /// both states.
    const HARNESS: &str = r#"
local function show(...)
  local t = table.pack(...)
  local out = {}
  for i = 1, t.n do
    local v = t[i]
    out[i] = type(v) == "string" and string.format("%q", v) or tostring(v)
  end
  return table.concat(out, ",")
end
local function all(f, ...)
  local ok, a, b, c, d = pcall(f, ...)
  if not ok then return "error: " .. tostring(a) end
  return show(a, b, c, d)
end
local function collect(s, p, init)
  local out = {}
  for a, b, c in string.gmatch(s, p, init) do
    out[#out + 1] = show(a, b, c)
    if #out > 50 then break end
  end
  return table.concat(out, ";")
end
local repls = {
  "<%0>", "%1-%1", "%%", "[%2]", "%", "%x", 5,
  function(a, b) if a == "l" then return nil end return "(" .. tostring(a) .. tostring(b) .. ")" end,
  function() return {} end,
  { hello = "HI", a = false, l = 7 },
}
return function(s, p)
  local lines = {}
  local function add(label, text) lines[#lines + 1] = label .. " " .. text end
  for _, init in ipairs({ 1, 3, -3, 0, 100 }) do
    add("find " .. init, all(string.find, s, p, init))
    add("findplain " .. init, all(string.find, s, p, init, true))
    add("match " .. init, all(string.match, s, p, init))
    add("gmatch " .. init, all(collect, s, p, init))
  end
  for i, r in ipairs(repls) do
    add("gsub " .. i, all(string.gsub, s, p, r))
    add("gsub1 " .. i, all(string.gsub, s, p, r, 1))
  end
  add("gsubnone", all(string.gsub, s, p, "x", -1))
  return lines
end
"#;

    const SUBJECTS: &[&str] = &[
        "",
        "hello world",
        "  key = value  ",
        "a,b,,c",
        "x=1, y=22, z=333",
        "f(a(b)c)d",
        "THE (quick) [fox] 1.5e3 -7",
        "aaa",
        "a\0b\0",
        "tab\tvt\x0bff\x0ccr\r",
        "\u{fc}ber caf\u{e9}",
        "%d [x] a.b.c $^",
    ];

    const PATTERNS: &[&str] = &[
        "",
        "o",
        "l+",
        "l*",
        "l-",
        "l?",
        "^h",
        "d$",
        "^$",
        ".",
        ".-",
        "(%w+)=(%w+)",
        "%s*(.-)%s*$",
        "^%s*(.-)%s*$",
        "%a+",
        "%A+",
        "%d+",
        "%D",
        "%l",
        "%u+",
        "%p",
        "%x+",
        "%c",
        "%g+",
        "%S+",
        "%s",
        "[%w_]+",
        "[^,]*",
        "[a-c]+",
        "[]]",
        "[^]]+",
        "%b()",
        "%b[]",
        "%f[%w]%w+",
        "%f[%W]",
        "()",
        "()a()",
        "(a)%1",
        "((a)(b))",
        "(h)(e)(l)",
        "x*",
        "[%a-z]",
        "[a-]",
        "a-b",
        "%.",
        "%%",
        "[%]]",
        "^(%a+)",
        "(.)%1",
        "%w+%s",
        "$^",
        "^",
        "a$b",
        "(",
        ")",
        "%",
        "[a",
        "%b",
        "%bx",
        "%f",
        "%fx",
        "(()",
        "%1",
        "%0",
        "(a)%2",
        "[%",
        "[^",
        "%z",
        "\0",
        "[\0-a]",
        "(%d+)()",
        "%$",
        "[%d.]+",
        "-",
        "*",
        "?",
        "+",
        "a**",
        "(a*(.)%w(%s*))",
        "((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))",
    ];

    fn lines(lua: &Lua, s: &str, p: &str) -> Vec<String> {
        let run: mlua::Function = lua.load(HARNESS).set_name("=harness").eval().unwrap();
        let s = lua.create_string(s.as_bytes()).unwrap();
        let p = lua.create_string(p.as_bytes()).unwrap();
        let lines: Vec<LuaString> = run.call((s, p)).unwrap();
        lines
            .iter()
            .map(|line| String::from_utf8_lossy(&line.as_bytes()).into_owned())
            .collect()
    }

    #[test]
    fn behaves_like_lua_s_own_matcher() {
        let reference = Lua::new();
        let ours = Lua::new();
        let string: Table = ours.globals().get("string").unwrap();
        let check: Check = Arc::new(|_| Ok(()));
        install(&ours, &string, check, 1 << 20).unwrap();
        let mut compared = 0;
        let patterns: Vec<String> = PATTERNS
            .iter()
            .map(|p| p.to_string())
            .chain(["a?".repeat(250), "(.-)".repeat(6), "%f[%a]".repeat(3)])
            .collect();
        for s in SUBJECTS {
            for p in &patterns {
                let expected = lines(&reference, s, p);
                let got = lines(&ours, s, p);
                for (want, have) in expected.iter().zip(&got) {
                    compared += 1;
                    match want.split_once(" error: ") {
                        // Our errors come back as error objects; their text
                        // holds Lua's message (which may carry the
                        // harness's position, when raised from an iterator).
                        Some((label, message)) => {
                            let message = message
                                .strip_prefix("harness:")
                                .and_then(|rest| rest.split_once(": "))
                                .map_or(message, |(_, rest)| rest);
                            assert!(
                                have.starts_with(&format!("{label} error: "))
                                    && have.contains(message),
                                "subject {s:?} pattern {p:?}:\n want {want}\n have {have}"
                            )
                        }
                        None => assert_eq!(have, want, "subject {s:?} pattern {p:?}"),
                    }
                }
                assert_eq!(expected.len(), got.len());
            }
        }
        assert!(compared > 10_000, "{compared}");

        // Numbers stand in for strings, and an unchanged subject comes back
        // as it was given.
        for code in [
            "return string.gsub(1234, '9', 'x')",
            "return math.type((string.gsub(1234, '9', 'x')))",
            "return string.gsub(1234, '2', 'x')",
            "return string.gsub('a1', '%d', 7)",
            "return string.gsub('a1', '%d', 2.5)",
            "return string.find(12345, 34)",
            "return string.match(3.25, '%.(%d+)')",
            "return string.find('abc', 'b', 2.0)",
            "return ('xxx'):gsub('', '-')",
            "return (''):gsub('', '-')",
            "return (' a=1 '):match('()a()')",
            "return string.gsub('hello', '(l)(l)', '%2%1')",
            "return string.gsub('abc', '%w', '%1')",
        ] {
            let show = |lua: &Lua| -> String {
                let values: MultiValue = lua.load(code).eval().unwrap();
                values
                    .iter()
                    .map(|v| format!("{}:{}", type_name(v), v.to_string().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            assert_eq!(show(&ours), show(&reference), "{code}");
        }
    }

    #[test]
    fn gsub_results_are_capped_while_they_grow() {
        let lua = Lua::new();
        let string: Table = lua.globals().get("string").unwrap();
        let check: Check = Arc::new(|_| Ok(()));
        install(&lua, &string, check, 1 << 20).unwrap();
        // Each of the 2000 matches would add 1000 copies of itself.
        let err = lua
            .load("local s = ('x'):rep(2000)\nreturn s:gsub('x', ('%0'):rep(1000))")
            .exec()
            .unwrap_err();
        assert!(
            err.to_string().contains("larger than 1048576 bytes"),
            "{err}"
        );
        let n: i64 = lua
            .load("return select(2, ('abc'):gsub('%w', '%0%0'))")
            .eval()
            .unwrap();
        assert_eq!(n, 3);
    }

    #[test]
    fn a_long_backtracking_match_is_stopped() {
        let lua = Lua::new();
        let string: Table = lua.globals().get("string").unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(100);
        let check: Check = Arc::new(move |_| {
            if std::time::Instant::now() >= deadline {
                Err(fail("deadline"))
            } else {
                Ok(())
            }
        });
        install(&lua, &string, check, 1 << 20).unwrap();
        let started = std::time::Instant::now();
        let err = lua
            .load("return string.rep('a', 60000):find('.-.-.-b')")
            .exec()
            .unwrap_err();
        assert!(err.to_string().contains("deadline"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
