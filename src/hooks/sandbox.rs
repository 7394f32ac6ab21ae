//! A locked-down Lua state per script, and running code in it within limits.
//!
//! What a script cannot do, and why:
//! - No `io`, `os`, `package`, `debug`: only `table`, `string`, `math` and
//!   `utf8` (plus the base functions) are opened, and `load`, `loadfile`,
//!   `dofile`, `require`, `collectgarbage`, `warn` and `string.dump` are
//!   removed, so there is no way to reach files, programs, native code or
//!   bytecode. Scripts are loaded as text only. `print` logs instead of
//!   writing to the server's stdout.
//! - No coroutines: a coroutine catches errors like `pcall` does, and every
//!   error-catching door has to be guarded (see below); hooks do not need them.
//! - Memory: the state's allocator refuses to grow past `memory_limit_mb`.
//! - Time: an instruction hook runs every [`INSTRUCTIONS_PER_CHECK`] VM
//!   instructions and raises an error once the call's deadline has passed.
//!   A call's deadline is the deadline of the whole event it belongs to, so
//!   the handlers of one event share one time budget.
//!   `pcall` is wrapped so a script cannot swallow that error and keep
//!   spinning; `xpcall` runs its message handler after unwinding instead of
//!   at the error (Lua would run it inside the hook, where hooks are off).
//! - Lua runs some code with debug hooks switched off: finalizers (`__gc`)
//!   and, when the hook's error unwinds a function, that function's
//!   to-be-closed variables (`__close`). So no value may ever carry either
//!   metamethod: `setmetatable` refuses them and installs a private copy of
//!   the metatable (later edits to the script's table cannot add them), and
//!   `getmetatable` answers only for tables, with the script's own table.
//! - The hook only sees Lua instructions, never time spent inside one C
//!   function. So the C functions whose running time a script controls are
//!   replaced or fenced: `table.insert`, `table.remove` and `table.move` are
//!   re-implemented in Lua (their C loops run as long as a `__len`
//!   metamethod says), `string.rep` refuses results larger than the memory
//!   limit, and `string.find/match/gmatch/gsub` are Lua's matcher redone
//!   in Rust ([`super::patterns`]) that looks at the call's deadline as it
//!   backtracks, so a pathological pattern is stopped like a loop. They
//!   also refuse subjects over [`MAX_PATTERN_SUBJECT`] bytes and patterns
//!   over [`MAX_PATTERN_LEN`] bytes. Whatever C call is left that runs
//!   long, `Hooks::dispatch` bounds from the outside, on the hooks' own
//!   small thread pool, so such a call can hold one of those threads but
//!   nothing else.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mlua::chunk::ChunkMode;
use mlua::{Function, HookTriggers, Lua, LuaOptions, StdLib, Table, Value, VmState};

use super::api::{self, ApiContext, Reply};
use super::events::EventKind;
use super::patterns;
use super::HookEvent;

/// How many VM instructions run between two deadline checks. Small enough
/// that a runaway loop is stopped within microseconds of its deadline, large
/// enough that the check costs nothing measurable.
pub const INSTRUCTIONS_PER_CHECK: u32 = 1000;

/// Largest string the pattern functions accept as subject (64 KiB). The
/// matcher backtracks in C, out of the deadline hook's reach, and its
/// running time grows with a power of the subject length, so the subject's
/// size is the one lever inside the sandbox: 64 KiB covers any handle,
/// name, setting or small file a hook looks at, and cuts a quadratic search
/// (`.-x` on a string without `x`) to 1/256 of what 1 MiB allowed. It
/// cannot make every pattern fast; `Hooks::dispatch` answers on time anyway.
pub const MAX_PATTERN_SUBJECT: usize = 64 << 10;

/// Largest pattern the pattern functions accept (4 KiB).
pub const MAX_PATTERN_LEN: usize = 4 << 10;

/// Cap for `string.rep` results when no memory limit is configured.
const UNLIMITED_REP_CAP: usize = 64 << 20;

/// Runs once in every state before the script (`prelude.lua`): guarded
/// replacements for the standard functions listed in the module
/// documentation. The originals are
/// kept only as upvalues of these closures, which a script without `debug`
/// cannot reach.
const PRELUDE: &str = include_str!("prelude.lua");

/// The limits every call into a script runs under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall-clock budget of one call (one handler, or loading a file).
    pub timeout: Duration,
    /// Memory cap of the whole state in bytes; 0 means no cap.
    pub memory_bytes: usize,
}

impl Limits {
    /// Biggest string `string.rep` may build.
    fn rep_cap(&self) -> usize {
        if self.memory_bytes == 0 {
            UNLIMITED_REP_CAP
        } else {
            self.memory_bytes
        }
    }
}

/// Why a call did not finish normally. Decides what happens next: a
/// memory error may leave the state full, a panic may leave it broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Timeout,
    Memory,
    Error,
    Panic,
}

/// A failed call, with a message of the form `file.lua:LINE: what happened`.
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

/// Raised by the instruction hook. A Rust error type (not a string) so the
/// classification below can recognise it through any wrapping.
#[derive(Debug, thiserror::Error)]
enum Interrupt {
    #[error("{location}: stopped: hooks ran longer than {ms} ms (the time limit of one event)")]
    Timeout { location: String, ms: u128 },
    #[error("script code ran outside a hook call (a __gc finalizer?) and was stopped")]
    OutsideCall,
}

/// The deadline of the call in progress, shared with the instruction hook.
/// Also remembers the last script line the hook saw, because a memory error
/// comes back from Lua with no position at all.
pub struct CallClock {
    file: String,
    chunk_name: String,
    deadline: Mutex<Option<Instant>>,
    last_line: AtomicUsize,
}

impl CallClock {
    fn new(file: &str) -> CallClock {
        CallClock {
            file: file.to_owned(),
            chunk_name: format!("@{file}"),
            deadline: Mutex::new(None),
            last_line: AtomicUsize::new(0),
        }
    }

    fn deadline(&self) -> Option<Instant> {
        *self.deadline.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn arm(&self, deadline: Instant) {
        self.last_line.store(0, Ordering::Relaxed);
        *self.deadline.lock().unwrap_or_else(PoisonError::into_inner) = Some(deadline);
    }

    fn disarm(&self) {
        *self.deadline.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// True once the current call's time is up, and whenever no call is in
    /// progress (then the only Lua code that can run is a finalizer).
    pub fn expired(&self) -> bool {
        self.deadline().is_none_or(|d| Instant::now() >= d)
    }

    fn last_line(&self) -> Option<usize> {
        match self.last_line.load(Ordering::Relaxed) {
            0 => None,
            n => Some(n),
        }
    }

    fn location(&self) -> String {
        match self.last_line() {
            Some(line) => format!("{}:{line}", self.file),
            None => self.file.clone(),
        }
    }
}

/// Builds a fresh sandboxed state: restricted libraries, memory limit,
/// deadline hook and the guarded replacements of [`PRELUDE`].
fn new_state(limits: &Limits, clock: &Arc<CallClock>) -> mlua::Result<Lua> {
    let libs = StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::UTF8;
    let lua = Lua::new_with(libs, LuaOptions::default())?;
    if limits.memory_bytes > 0 {
        lua.set_memory_limit(limits.memory_bytes)?;
    }

    let globals = lua.globals();
    for name in [
        "load",
        "loadfile",
        "dofile",
        "require",
        "collectgarbage",
        "warn",
        "print",
    ] {
        globals.raw_set(name, Value::Nil)?;
    }
    let string: Table = globals.raw_get("string")?;
    string.raw_set("dump", Value::Nil)?;
    string.raw_set("rep", rep_function(&lua, limits.rep_cap())?)?;
    let timeout_ms = limits.timeout.as_millis();
    let pattern_clock = Arc::clone(clock);
    let check: patterns::Check = Arc::new(move |lua: &Lua| {
        if pattern_clock.expired() {
            // The instruction hook may not have run in this call yet, so
            // take the script's line from the stack.
            if let Some(line) = script_line(lua, &pattern_clock.chunk_name) {
                pattern_clock.last_line.store(line, Ordering::Relaxed);
            }
            Err(mlua::Error::external(Interrupt::Timeout {
                location: pattern_clock.location(),
                ms: timeout_ms,
            }))
        } else {
            Ok(())
        }
    });
    patterns::install(&lua, &string, check, limits.rep_cap())?;

    // mlua's global hook, not a per-thread one: a per-thread hook is looked
    // up by thread and silently removes itself on any thread it was not set
    // for, while the global one applies to every Lua thread of the state.
    let hook_clock = Arc::clone(clock);
    lua.set_global_hook(
        HookTriggers::new().every_nth_instruction(INSTRUCTIONS_PER_CHECK),
        move |_lua, debug| {
            if debug.source().source.as_deref() == Some(hook_clock.chunk_name.as_str()) {
                if let Some(line) = debug.current_line() {
                    hook_clock.last_line.store(line, Ordering::Relaxed);
                }
            }
            match hook_clock.deadline() {
                Some(deadline) if Instant::now() < deadline => Ok(VmState::Continue),
                Some(_) => Err(mlua::Error::external(Interrupt::Timeout {
                    location: hook_clock.location(),
                    ms: timeout_ms,
                })),
                None => Err(mlua::Error::external(Interrupt::OutsideCall)),
            }
        },
    )?;

    let expired_clock = Arc::clone(clock);
    let expired = lua.create_function(move |_, ()| Ok(expired_clock.expired()))?;
    run_limited(&lua, clock, Instant::now() + limits.timeout, || {
        lua.load(PRELUDE)
            .set_name("=innkeeper sandbox")
            .set_mode(ChunkMode::Text)
            .call::<()>((expired, MAX_PATTERN_SUBJECT, MAX_PATTERN_LEN))
    })
    .map_err(|f| mlua::Error::runtime(f.message))?;
    Ok(lua)
}

/// The line the script's own code is at, looking down the stack from a
/// library function it called (a few levels: the sandbox's wrappers sit in
/// between).
fn script_line(lua: &Lua, chunk_name: &str) -> Option<usize> {
    (0..8).find_map(|level| {
        lua.inspect_stack(level, |debug| {
            if debug.source().source.as_deref() == Some(chunk_name) {
                debug.current_line()
            } else {
                None
            }
        })
        .flatten()
    })
}

/// `string.rep` with the result size checked before anything is built, so
/// `string.rep("x", 1e12)` fails at once instead of grinding in C (the C
/// version also loops once per repetition even when the pieces are empty).
fn rep_function(lua: &Lua, cap: usize) -> mlua::Result<Function> {
    lua.create_function(
        move |lua, (s, n, sep): (mlua::LuaString, i64, Option<mlua::LuaString>)| {
            let s = s.as_bytes();
            let sep = sep.as_ref().map(|sep| sep.as_bytes());
            let sep: &[u8] = sep.as_deref().unwrap_or(&[]);
            if n <= 0 || (s.is_empty() && sep.is_empty()) {
                return lua.create_string("");
            }
            let n = n as u128;
            let total = s.len() as u128 * n + sep.len() as u128 * (n - 1);
            if total > cap as u128 {
                return Err(mlua::Error::runtime(format!(
                    "string.rep: the result would be {total} bytes, more than the {cap}-byte limit for hook scripts"
                )));
            }
            // `repeat` doubles its buffer, so this is a few large copies.
            let n = n as usize;
            let out = if sep.is_empty() {
                s.repeat(n)
            } else {
                let mut out = Vec::with_capacity(total as usize);
                out.extend_from_slice(&s);
                out.extend_from_slice(&[sep, &s[..]].concat().repeat(n - 1));
                out
            };
            lua.create_string(out)
        },
    )
}

/// Runs `f` with `deadline` armed, catching panics, and turns any error
/// into a [`Failure`] whose message names the file and line.
fn run_limited<R>(
    lua: &Lua,
    clock: &CallClock,
    deadline: Instant,
    f: impl FnOnce() -> mlua::Result<R>,
) -> Result<R, Failure> {
    clock.arm(deadline);
    let result = catch_unwind(AssertUnwindSafe(f));
    clock.disarm();
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => {
            let failure = classify(&clock.file, &err, clock);
            if failure.kind == FailureKind::Memory {
                // Whatever the script was building is garbage now; free it so
                // the next call starts with room. Twice, to finish a cycle
                // that was in progress and then run a whole one.
                let _ = lua.gc_collect();
                let _ = lua.gc_collect();
            }
            Err(failure)
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Failure {
                kind: FailureKind::Panic,
                message: format!(
                    "{}: internal error while running the script: {what}",
                    clock.file
                ),
            })
        }
    }
}

/// Names the failure and where in the script it happened.
fn classify(file: &str, err: &mlua::Error, clock: &CallClock) -> Failure {
    if let Some(interrupt) = err.downcast_ref::<Interrupt>() {
        let kind = match interrupt {
            Interrupt::Timeout { .. } => FailureKind::Timeout,
            Interrupt::OutsideCall => FailureKind::Error,
        };
        return Failure {
            kind,
            message: interrupt.to_string(),
        };
    }

    // Walk to the innermost error, keeping the innermost traceback: it is
    // the one taken closest to where the error happened.
    let mut traceback: Option<&str> = None;
    let mut current = err;
    loop {
        match current {
            mlua::Error::CallbackError {
                traceback: tb,
                cause,
            } => {
                traceback = Some(tb.as_str());
                current = cause;
            }
            mlua::Error::WithContext { cause, .. } => current = cause,
            _ => break,
        }
    }

    let (kind, text) = match current {
        mlua::Error::MemoryError(_) => {
            return Failure {
                kind: FailureKind::Memory,
                message: format!(
                    "{}: out of memory: the script went over its memory limit",
                    clock.location()
                ),
            }
        }
        mlua::Error::SyntaxError { message, .. } => (FailureKind::Error, message.clone()),
        mlua::Error::RuntimeError(message) => (FailureKind::Error, message.clone()),
        other => (FailureKind::Error, other.to_string()),
    };
    // Lua appends a traceback to runtime errors; the first line is the message.
    let (message, own_traceback) = match text.split_once("\nstack traceback:") {
        Some((message, rest)) => (message.to_owned(), Some(rest.to_owned())),
        None => (text, None),
    };
    if starts_with_location(&message, file) {
        return Failure { kind, message };
    }
    let location = own_traceback
        .as_deref()
        .and_then(|tb| find_location(tb, file))
        .or_else(|| traceback.and_then(|tb| find_location(tb, file)))
        .or_else(|| clock.last_line().map(|line| format!("{file}:{line}")))
        .unwrap_or_else(|| file.to_owned());
    Failure {
        kind,
        message: format!("{location}: {message}"),
    }
}

/// True when `message` already begins with `file:LINE:`.
fn starts_with_location(message: &str, file: &str) -> bool {
    message
        .strip_prefix(file)
        .and_then(|rest| rest.strip_prefix(':'))
        .is_some_and(|rest| {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            digits > 0 && rest[digits..].starts_with(':')
        })
}

/// Finds the first `file:LINE:` in a traceback and returns `file:LINE`.
fn find_location(text: &str, file: &str) -> Option<String> {
    let needle = format!("{file}:");
    let mut from = 0;
    while let Some(at) = text[from..].find(&needle) {
        let start = from + at + needle.len();
        let rest = &text[start..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && rest[digits..].starts_with(':') {
            return Some(format!("{file}:{}", &rest[..digits]));
        }
        from = start;
    }
    None
}

/// One loaded script file: its own Lua state and the handlers it registered.
pub struct Script {
    name: String,
    // Declared before `lua` so the handler references are released first.
    handlers: Vec<(EventKind, Function)>,
    lua: Lua,
    clock: Arc<CallClock>,
    limits: Limits,
    /// Set when this state should be thrown away and the file loaded again
    /// (it is still near its memory limit after an out-of-memory error).
    stale: Arc<AtomicBool>,
}

impl Script {
    /// Builds a state for `name` and runs the file's top level, which
    /// registers its handlers and must finish by `deadline`. Any failure
    /// comes back as `file:line: msg`.
    pub fn load(
        name: &str,
        source: &[u8],
        limits: Limits,
        ctx: ApiContext,
        deadline: Instant,
    ) -> Result<Script, Failure> {
        let clock = Arc::new(CallClock::new(name));
        let lua = new_state(&limits, &clock).map_err(|err| Failure {
            kind: FailureKind::Error,
            message: format!("{name}: could not build the sandbox: {err}"),
        })?;
        let registrations = api::install(&lua, ctx).map_err(|err| Failure {
            kind: FailureKind::Error,
            message: format!("{name}: could not install the innkeeper API: {err}"),
        })?;
        let loaded = run_limited(&lua, &clock, deadline, || {
            lua.load(source)
                .set_name(clock.chunk_name.as_str())
                .set_mode(ChunkMode::Text)
                .exec()
        });
        // Close registration whatever happened, so the closure holding the
        // handler list lets go of it.
        let handlers = registrations.finish();
        loaded?;
        Ok(Script {
            name: name.to_owned(),
            handlers,
            lua,
            clock,
            limits,
            stale: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The events this script has handlers for, in registration order.
    pub fn kinds(&self) -> impl Iterator<Item = EventKind> + '_ {
        self.handlers.iter().map(|(kind, _)| *kind)
    }

    /// Number of handlers registered.
    pub fn handler_count(&self) -> usize {
        self.handlers.len()
    }

    /// Shared flag the registry checks to know this state must be reloaded.
    pub fn stale_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stale)
    }

    /// The handlers for `kind`, in the order the script registered them.
    pub fn handlers_for(&self, kind: EventKind) -> Vec<Function> {
        self.handlers
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, f)| f.clone())
            .collect()
    }

    /// Calls one handler with a fresh `ev` table built from `event` (with
    /// `fields` as its fields), within the memory limit and stopped at
    /// `deadline`: the end of the event's shared time budget.
    ///
    /// `ev.user` is created in a scope that ends with the call, so a script
    /// that keeps it in a global cannot use it later, during another user's
    /// event.
    pub fn call(
        &self,
        handler: &Function,
        event: &HookEvent,
        fields: &serde_json::Map<String, serde_json::Value>,
        deadline: Instant,
    ) -> Result<Reply, Failure> {
        let result = run_limited(&self.lua, &self.clock, deadline, || {
            self.lua.scope(|scope| {
                let ev = api::event_table(&self.lua, event, fields)?;
                if let Some(dir) = &event.user_dir {
                    let user = scope.create_userdata(api::UserFolder::new(dir.clone()))?;
                    ev.raw_set("user", user)?;
                }
                let returned: Value = handler.call(ev)?;
                Ok(api::parse_reply(
                    &self.name,
                    returned,
                    event.kind.is_before(),
                ))
            })
        });
        if let Err(failure) = &result {
            match failure.kind {
                FailureKind::Memory => {
                    let used = self.lua.used_memory();
                    if self.limits.memory_bytes > 0 && used > self.limits.memory_bytes / 2 {
                        // The script keeps the memory alive (a global), so the
                        // next call would fail too: start it afresh.
                        self.stale.store(true, Ordering::Relaxed);
                    }
                }
                FailureKind::Panic => self.stale.store(true, Ordering::Relaxed),
                FailureKind::Timeout | FailureKind::Error => {}
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            timeout: Duration::from_millis(500),
            memory_bytes: 8 << 20,
        }
    }

    fn state() -> (Lua, Arc<CallClock>) {
        let clock = Arc::new(CallClock::new("t.lua"));
        (new_state(&limits(), &clock).unwrap(), clock)
    }

    fn eval(lua: &Lua, clock: &CallClock, code: &str) -> Result<Value, Failure> {
        eval_within(lua, clock, code, Duration::from_millis(300))
    }

    fn eval_within(
        lua: &Lua,
        clock: &CallClock,
        code: &str,
        timeout: Duration,
    ) -> Result<Value, Failure> {
        run_limited(lua, clock, Instant::now() + timeout, || {
            lua.load(code).set_name("@t.lua").eval::<Value>()
        })
    }

    #[test]
    fn dangerous_globals_are_gone() {
        let (lua, clock) = state();
        for name in [
            "io",
            "os",
            "package",
            "debug",
            "coroutine",
            "load",
            "loadfile",
            "dofile",
            "require",
            "collectgarbage",
            "string.dump",
            "warn",
            "print",
        ] {
            let code = format!("return {name} == nil");
            let value = eval(&lua, &clock, &code).unwrap();
            assert_eq!(value, Value::Boolean(true), "{name} is reachable");
        }
        for name in ["table.concat", "string.format", "math.floor", "utf8.char"] {
            let value = eval(&lua, &clock, &format!("return {name} ~= nil")).unwrap();
            assert_eq!(value, Value::Boolean(true), "{name} missing");
        }
    }

    #[test]
    fn bytecode_is_refused() {
        let (lua, _clock) = state();
        let result = lua
            .load(&b"\x1bLua\x54\x00"[..])
            .set_mode(ChunkMode::Text)
            .exec();
        assert!(result.is_err());
    }

    #[test]
    fn runaway_loop_is_stopped_even_through_pcall() {
        let (lua, clock) = state();
        let started = Instant::now();
        let failure = eval(
            &lua,
            &clock,
            "local n = 0\nwhile true do\n  pcall(function() while true do n = n + 1 end end)\nend",
        )
        .unwrap_err();
        assert_eq!(failure.kind, FailureKind::Timeout);
        assert!(failure.message.starts_with("t.lua:"), "{}", failure.message);
        assert!(started.elapsed() < Duration::from_secs(2));
        let started = Instant::now();
        let failure = eval(
            &lua,
            &clock,
            "xpcall(function() while true do end end, function() while true do end end)",
        )
        .unwrap_err();
        assert_eq!(failure.kind, FailureKind::Timeout);
        assert!(started.elapsed() < Duration::from_secs(2));
        let value = eval(
            &lua,
            &clock,
            "return select(2, xpcall(function() error('x', 0) end, function(e) return 'handled ' .. e end))",
        );
        assert_eq!(value.unwrap().to_string().unwrap(), "handled x");
        // The state still works.
        assert_eq!(
            eval(&lua, &clock, "return 1 + 1").unwrap(),
            Value::Integer(2)
        );
    }

    #[test]
    fn table_functions_cannot_spin_in_c() {
        let (lua, clock) = state();
        let started = Instant::now();
        let failure = eval(
            &lua,
            &clock,
            "local t = setmetatable({}, {__len = function() return math.maxinteger - 1 end})\ntable.insert(t, 1, 'x')",
        )
        .unwrap_err();
        assert_eq!(failure.kind, FailureKind::Timeout, "{}", failure.message);
        let failure = eval(&lua, &clock, "table.move({}, 1, math.maxinteger - 1, 2)").unwrap_err();
        assert_eq!(failure.kind, FailureKind::Timeout, "{}", failure.message);
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn table_functions_still_behave() {
        let (lua, clock) = state();
        let code = r#"
            local t = {1, 2, 3}
            table.insert(t, 4)
            table.insert(t, 1, 0)
            local removed = table.remove(t, 2)
            local last = table.remove(t)
            local moved = table.move({1, 2, 3}, 1, 3, 2)
            return table.concat(t, ",") .. "|" .. removed .. "|" .. last .. "|" .. table.concat(moved, ",")
        "#;
        let value = eval(&lua, &clock, code).unwrap();
        assert_eq!(value.to_string().unwrap(), "0,2,3|1|4|1,1,2,3");
        let failure = eval(&lua, &clock, "table.insert({}, 5, 1)").unwrap_err();
        assert!(
            failure.message.contains("position out of bounds"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn huge_strings_are_refused_before_c_runs() {
        let (lua, clock) = state();
        let failure = eval(&lua, &clock, "return string.rep('x', 1e12)").unwrap_err();
        assert!(
            failure.message.contains("string.rep"),
            "{}",
            failure.message
        );
        assert_eq!(
            eval(&lua, &clock, "return ('ab'):rep(3, '-')")
                .unwrap()
                .to_string()
                .unwrap(),
            "ab-ab-ab"
        );
        assert_eq!(
            eval(&lua, &clock, "return #string.rep('', 1e15)").unwrap(),
            Value::Integer(0)
        );
        let failure = eval(
            &lua,
            &clock,
            "local s = string.rep('a', 2 * 1024 * 1024)\nlocal at = s:find('a-b')\nreturn at",
        )
        .unwrap_err();
        assert!(
            failure.message.starts_with("t.lua:2: string.find: subject"),
            "{}",
            failure.message
        );
        assert_eq!(
            eval(&lua, &clock, "return ('hello'):match('l+')")
                .unwrap()
                .to_string()
                .unwrap(),
            "ll"
        );
    }

    #[test]
    fn a_backtracking_pattern_is_stopped_at_the_deadline() {
        // Cubic backtracking on 60000 bytes: years inside Lua's C matcher.
        let (lua, clock) = state();
        let started = Instant::now();
        let failure = eval(
            &lua,
            &clock,
            "local s = string.rep('a', 60000)\nlocal at = s:find('.-.-b')\nreturn at",
        )
        .unwrap_err();
        assert_eq!(failure.kind, FailureKind::Timeout, "{}", failure.message);
        assert!(
            failure.message.starts_with("t.lua:2: stopped"),
            "{}",
            failure.message
        );
        let failure = eval(
            &lua,
            &clock,
            "local s = string.rep('a', 60000)\nwhile true do\n  pcall(string.gsub, s, '.-.-b', '')\nend",
        )
        .unwrap_err();
        assert_eq!(failure.kind, FailureKind::Timeout, "{}", failure.message);
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(
            eval(
                &lua,
                &clock,
                "return ('key = value'):match('^(%w+)%s*=%s*(%w+)$')"
            )
            .unwrap()
            .to_string()
            .unwrap(),
            "key"
        );
    }

    #[test]
    fn memory_bomb_is_stopped_and_state_recovers() {
        let (lua, clock) = state();
        // A generous time limit, so the memory limit is what stops it even
        // on a busy machine.
        let failure = eval_within(
            &lua,
            &clock,
            "local t = {}\nfor i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end",
            Duration::from_secs(20),
        )
        .unwrap_err();
        assert_eq!(failure.kind, FailureKind::Memory, "{}", failure.message);
        assert!(
            failure.message.starts_with("t.lua:2:"),
            "{}",
            failure.message
        );
        assert_eq!(
            eval(&lua, &clock, "return #string.rep('y', 1000)").unwrap(),
            Value::Integer(1000)
        );
    }

    #[test]
    fn errors_carry_file_and_line() {
        let (lua, clock) = state();
        let failure = eval(&lua, &clock, "local x = 1\nerror('boom')").unwrap_err();
        assert_eq!(failure.message, "t.lua:2: boom");
        let failure = eval(&lua, &clock, "local x = 1\n\nerror({})").unwrap_err();
        assert!(
            failure.message.starts_with("t.lua:3: table:"),
            "{}",
            failure.message
        );
        let failure = eval(&lua, &clock, "local x = \n").unwrap_err();
        assert!(
            failure.message.starts_with("t.lua:2:"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn finalizers_are_refused() {
        // Lua switches debug hooks off inside finalizers, so a looping __gc
        // could never be stopped: scripts may not create finalizers at all.
        let (lua, clock) = state();
        let failure = eval(
            &lua,
            &clock,
            "setmetatable({}, {__gc = function() while true do end end}) return true",
        )
        .unwrap_err();
        assert!(failure.message.contains("__gc"), "{}", failure.message);
        let value = eval(
            &lua,
            &clock,
            "local mt = {__index = {a = 1}}\nlocal t = setmetatable({}, mt)\nreturn getmetatable(t) == mt and t.a",
        );
        assert_eq!(value.unwrap(), Value::Integer(1));
        // Adding __gc after the fact does nothing: the state holds a copy.
        eval(
            &lua,
            &clock,
            "local mt = {}\nsetmetatable({}, mt)\nmt.__gc = function() while true do end end",
        )
        .unwrap();
        let _ = lua.gc_collect();
        assert_eq!(
            eval(&lua, &clock, "return getmetatable('x')").unwrap(),
            Value::Nil
        );
    }

    #[test]
    fn nothing_can_be_made_closable() {
        // A to-be-closed variable pending when the deadline hook raises its
        // error would be closed with hooks off; so no value may be closable.
        let (lua, clock) = state();
        let started = Instant::now();
        for code in [
            "local x <close> = setmetatable({}, {__close = function() while true do end end})\nwhile true do end",
            "local mt = {}\nlocal t = setmetatable({}, mt)\nmt.__close = function() while true do end end\nlocal x <close> = t\nwhile true do end",
            "local mt = {}\nlocal t = setmetatable({}, mt)\nmt.__close = function() while true do end end\nfor _ in function() return 1 end, nil, nil, t do end",
            "local x <close> = 'text'\nwhile true do end",
        ] {
            let failure = eval(&lua, &clock, code).unwrap_err();
            assert!(
                failure.kind == FailureKind::Error,
                "{code}: {:?} {}",
                failure.kind,
                failure.message
            );
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        // Plain `<close>` on nil and generic for loops still work.
        let value = eval(
            &lua,
            &clock,
            "local x <close> = nil\nlocal n = 0\nfor _ in pairs({1, 2}) do n = n + 1 end\nreturn n",
        );
        assert_eq!(value.unwrap(), Value::Integer(2));
    }

    #[test]
    fn location_helpers() {
        assert!(starts_with_location("a.lua:12: x", "a.lua"));
        assert!(!starts_with_location("a.lua: x", "a.lua"));
        assert!(!starts_with_location("b.lua:1: x", "a.lua"));
        assert_eq!(
            find_location("\t[C]: in ?\n\ta.lua:7: in function <a.lua:3>", "a.lua"),
            Some("a.lua:7".into())
        );
        assert_eq!(find_location("a.lua: nothing", "a.lua"), None);
    }
}
