//! What scripts can call: the `innkeeper` table (`on`, `log`, `config`,
//! `now`, `admin_file_append`), `print`, and the `ev.user` folder object.
//! Also the conversions between the server's JSON values and Lua values,
//! and the reading of a handler's reply.
//!
//! Every file access goes through `userdata::safe_path` and, for writes,
//! `userdata::atomic`, so a script can reach exactly the affected user's
//! folder and the admin's private folder, nothing else.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use mlua::{Function, Lua, Table, UserData, UserDataMethods, Value};
use serde_json::{Map, Value as Json};

use super::events::EventKind;
use super::HookEvent;
use crate::userdata::atomic::{write_atomic, TEMP_PREFIX};
use crate::userdata::safe_path::{check_relative, resolve_existing, resolve_for_write, PathError};

/// Largest file a script may read or write (10 MiB).
pub const MAX_FILE_BYTES: u64 = 10 << 20;

/// Most names `ev.user:list` returns; a script has no business walking
/// folders bigger than that, and the table would eat its memory anyway.
pub const MAX_LIST_ENTRIES: usize = 10_000;

/// Longest line `innkeeper.admin_file_append` accepts (64 KiB).
pub const MAX_APPEND_LINE: usize = 64 << 10;

/// Longest message `innkeeper.log` passes on (8 KiB), so a script cannot
/// flood the server log with one call.
const MAX_LOG_BYTES: usize = 8 << 10;

/// Longest refusal reason shown to a user.
const MAX_REASON_CHARS: usize = 500;

/// How deep JSON and Lua values may nest when converted either way. The
/// conversions recurse, and a script could otherwise hand back a table
/// nested deeply enough to overflow the server thread's stack.
const MAX_DEPTH: usize = 32;

/// Most table entries converted from one handler reply.
const MAX_REPLY_ENTRIES: usize = 10_000;

/// Shown to the user when a handler refuses without giving a reason.
pub const DEFAULT_REFUSAL: &str = "Refused by a server hook.";

/// Error text scripts get for any path that leaves the allowed folder.
const PATH_NOT_ALLOWED: &str = "path not allowed";

/// What the API needs to know about the script it is installed in.
#[derive(Clone)]
pub struct ApiContext {
    /// File name, used in log lines.
    pub file: String,
    /// Non-secret configuration scripts may read.
    pub config: Arc<Json>,
    /// The hooks folder; `admin_file_append` writes under `<dir>/private/`.
    pub hooks_dir: PathBuf,
}

/// Handlers collected while a file's top level runs. `innkeeper.on` only
/// works during that time: handlers are fixed per load, which is what lets
/// `Hooks::has_handlers` answer without touching any Lua state.
pub struct Registrations(Arc<Mutex<Option<Handlers>>>);

/// Handlers in registration order.
pub type Handlers = Vec<(EventKind, Function)>;

impl Registrations {
    /// Ends registration and returns the handlers in registration order.
    pub fn finish(self) -> Handlers {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .unwrap_or_default()
    }
}

/// A handler's answer to a `before_*` event.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Allow(Map<String, Json>),
    Refuse(String),
}

/// Installs `innkeeper` and `print` in the state's globals.
pub fn install(lua: &Lua, ctx: ApiContext) -> mlua::Result<Registrations> {
    let api = lua.create_table()?;
    let sink = Arc::new(Mutex::new(Some(Vec::new())));

    let on_sink = Arc::clone(&sink);
    api.raw_set(
        "on",
        lua.create_function(move |_, (name, handler): (String, Function)| {
            let kind: EventKind = name.parse().map_err(|_| {
                let known: Vec<_> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                mlua::Error::runtime(format!(
                    "innkeeper.on: unknown event {name:?} (known events: {})",
                    known.join(", ")
                ))
            })?;
            match on_sink
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_mut()
            {
                Some(list) => {
                    list.push((kind, handler));
                    Ok(())
                }
                None => Err(mlua::Error::runtime(
                    "innkeeper.on can only be called while the script loads (at its top level)",
                )),
            }
        })?,
    )?;

    let log_file = ctx.file.clone();
    api.raw_set(
        "log",
        lua.create_function(move |_, (level, message): (String, Value)| {
            log_line(&log_file, &level, &message);
            Ok(())
        })?,
    )?;

    // `print` would write to the server's stdout; here it joins its
    // arguments with tabs like the real one and logs them at info.
    let print_file = ctx.file.clone();
    lua.globals().raw_set(
        "print",
        lua.create_function(move |_, values: mlua::Variadic<Value>| {
            let text: Vec<String> = values.iter().map(display_value).collect();
            log_text(&print_file, "info", text.join("\t"));
            Ok(())
        })?,
    )?;

    api.raw_set(
        "now",
        lua.create_function(|_, ()| {
            let ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            Ok(ms)
        })?,
    )?;

    api.raw_set("config", read_only(lua, &ctx.config, 0)?)?;

    let private_dir = ctx.hooks_dir.join("private");
    api.raw_set(
        "admin_file_append",
        lua.create_function(move |_, (name, line): (mlua::LuaString, mlua::LuaString)| {
            Ok(
                match admin_file_append(&private_dir, &name.to_string_lossy(), &line.as_bytes()) {
                    Ok(()) => (Some(true), None),
                    Err(err) => (None, Some(err)),
                },
            )
        })?,
    )?;

    lua.globals().raw_set("innkeeper", api)?;
    Ok(Registrations(sink))
}

/// Sends one script log line to `tracing`, tagged with the file name.
fn log_line(file: &str, level: &str, message: &Value) {
    log_text(file, level, display_value(message));
}

fn log_text(file: &str, level: &str, text: String) {
    let text = clean_log_text(&text);
    match level {
        "debug" => tracing::debug!(script = %file, "{text}"),
        "info" => tracing::info!(script = %file, "{text}"),
        "warn" | "warning" => tracing::warn!(script = %file, "{text}"),
        "error" => tracing::error!(script = %file, "{text}"),
        // A typo in a level should not make the handler fail (and, with
        // fail_closed, refuse the action): log it anyway, and say so.
        other => {
            let level = clean_log_text(&other.chars().take(16).collect::<String>());
            tracing::info!(script = %file, level = %level, "{text}")
        }
    }
}

/// Caps a script's log text and escapes control characters: scripts log
/// values users typed (names, handles), and a line break in one must not
/// be able to forge a log line.
pub fn clean_log_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_LOG_BYTES));
    for c in text.chars() {
        if out.len() >= MAX_LOG_BYTES {
            out.push_str(" [truncated]");
            break;
        }
        if c.is_control() && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Text of a value for logs, without running any metamethod.
fn display_value(value: &Value) -> String {
    match value {
        Value::Nil => "nil".into(),
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Number(n) => n.to_string(),
        // Only what a log line can show; the rest is cut anyway.
        Value::String(s) => {
            let bytes = s.as_bytes();
            String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_LOG_BYTES + 4)]).into_owned()
        }
        other => format!("<{}>", other.type_name()),
    }
}

/// Builds a read-only view of a JSON value: tables are empty proxies whose
/// metatable reads from a hidden table and refuses writes. Lua 5.4 has no
/// frozen tables, so this is the standard way; `pairs`, `ipairs` and `#`
/// work through `__pairs`, `__index` and `__len`.
fn read_only(lua: &Lua, value: &Json, depth: usize) -> mlua::Result<Value> {
    let (Json::Array(_) | Json::Object(_)) = value else {
        return json_to_lua(lua, value, depth);
    };
    if depth >= MAX_DEPTH {
        return Err(mlua::Error::runtime(
            "innkeeper.config is nested too deeply",
        ));
    }
    let real = lua.create_table()?;
    match value {
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                real.raw_set(i + 1, read_only(lua, item, depth + 1)?)?;
            }
        }
        Json::Object(map) => {
            for (key, item) in map {
                real.raw_set(key.as_str(), read_only(lua, item, depth + 1)?)?;
            }
        }
        _ => unreachable!("checked above"),
    }
    let meta = lua.create_table()?;
    let next: Function = lua.globals().raw_get("next")?;
    let pairs_real = real.clone();
    meta.raw_set(
        "__pairs",
        lua.create_function(move |_, _: Value| Ok((next.clone(), pairs_real.clone(), Value::Nil)))?,
    )?;
    let len_real = real.clone();
    meta.raw_set(
        "__len",
        lua.create_function(move |_, _: Value| Ok(len_real.raw_len()))?,
    )?;
    meta.raw_set("__index", real)?;
    meta.raw_set(
        "__newindex",
        lua.create_function(|_, _: mlua::MultiValue| -> mlua::Result<()> {
            Err(mlua::Error::runtime("innkeeper.config is read-only"))
        })?,
    )?;
    meta.raw_set("__metatable", "read-only")?;
    let proxy = lua.create_table()?;
    proxy.set_metatable(Some(meta))?;
    Ok(Value::Table(proxy))
}

/// Converts a server JSON value to Lua. `null` becomes `nil`, so a field
/// that is null reads the same as a field that is absent.
pub fn json_to_lua(lua: &Lua, value: &Json, depth: usize) -> mlua::Result<Value> {
    if depth > MAX_DEPTH {
        return Err(mlua::Error::runtime("event value is nested too deeply"));
    }
    Ok(match value {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(lua.create_string(s)?),
        Json::Array(items) => {
            let table = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                table.raw_set(i + 1, json_to_lua(lua, item, depth + 1)?)?;
            }
            Value::Table(table)
        }
        Json::Object(map) => {
            let table = lua.create_table_with_capacity(0, map.len())?;
            for (key, item) in map {
                table.raw_set(key.as_str(), json_to_lua(lua, item, depth + 1)?)?;
            }
            Value::Table(table)
        }
    })
}

/// Converts a Lua value from a handler reply to JSON, reading tables raw
/// (no metamethod runs). A table whose keys are exactly 1..n becomes an
/// array; any other table an object (integer keys written as text).
pub fn lua_to_json(value: &Value, depth: usize, budget: &mut usize) -> Result<Json, String> {
    if depth > MAX_DEPTH {
        return Err("nested too deeply".into());
    }
    Ok(match value {
        Value::Nil => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Integer(i) => Json::from(*i),
        Value::Number(n) => serde_json::Number::from_f64(*n)
            .map(Json::Number)
            .ok_or("not a finite number")?,
        Value::String(s) => Json::String(s.to_string_lossy()),
        Value::Table(table) => {
            let mut entries = Vec::new();
            for pair in table.pairs::<Value, Value>() {
                let (key, item) = pair.map_err(|e| e.to_string())?;
                if *budget == 0 {
                    return Err("too many entries".into());
                }
                *budget -= 1;
                entries.push((key, item));
            }
            let len = table.raw_len();
            let is_array = !entries.is_empty()
                && entries.len() == len
                && entries
                    .iter()
                    .all(|(k, _)| matches!(k, Value::Integer(i) if *i >= 1 && *i as usize <= len));
            if is_array {
                let mut items = vec![Json::Null; len];
                for (key, item) in &entries {
                    if let Value::Integer(i) = key {
                        items[*i as usize - 1] = lua_to_json(item, depth + 1, budget)?;
                    }
                }
                Json::Array(items)
            } else {
                let mut map = Map::new();
                for (key, item) in &entries {
                    let key = match key {
                        Value::String(s) => s.to_string_lossy(),
                        Value::Integer(i) => i.to_string(),
                        other => return Err(format!("has a {} key", other.type_name())),
                    };
                    map.insert(key, lua_to_json(item, depth + 1, budget)?);
                }
                Json::Object(map)
            }
        }
        other => {
            return Err(format!(
                "a {} cannot be sent to the server",
                other.type_name()
            ))
        }
    })
}

/// Builds the `ev` table: the event's own fields, then `event`, `handle`
/// and `ip` (these three always reflect the event itself).
pub fn event_table(
    lua: &Lua,
    event: &HookEvent,
    fields: &Map<String, Json>,
) -> mlua::Result<Table> {
    let ev = lua.create_table()?;
    for (key, value) in fields {
        ev.raw_set(key.as_str(), json_to_lua(lua, value, 1)?)?;
    }
    ev.raw_set("event", event.kind.as_str())?;
    if let Some(handle) = &event.handle {
        ev.raw_set("handle", handle.as_str())?;
    }
    if let Some(ip) = &event.ip {
        ev.raw_set("ip", ip.as_str())?;
    }
    Ok(ev)
}

/// Reads what a handler returned. Only `before_*` events look at it:
/// `nil`, `true` or a table without `allow = false` allow (the table's other
/// fields become adjustments); `false` or `{ allow = false, reason = ... }`
/// refuse. Fields that cannot become JSON are dropped with a warning rather
/// than failing the action.
pub fn parse_reply(file: &str, value: Value, is_before: bool) -> Reply {
    if !is_before {
        return Reply::Allow(Map::new());
    }
    let table = match value {
        Value::Nil | Value::Boolean(true) => return Reply::Allow(Map::new()),
        Value::Boolean(false) => return Reply::Refuse(DEFAULT_REFUSAL.into()),
        Value::Table(table) => table,
        other => {
            tracing::warn!(
                script = %file,
                "handler returned a {}; expected a table or nothing, so the action is allowed",
                other.type_name()
            );
            return Reply::Allow(Map::new());
        }
    };
    let allow: Value = table.raw_get("allow").unwrap_or(Value::Nil);
    if matches!(allow, Value::Boolean(false)) {
        let reason = match table.raw_get::<Value>("reason") {
            Ok(Value::String(s)) if !s.as_bytes().is_empty() => {
                s.to_string_lossy().chars().take(MAX_REASON_CHARS).collect()
            }
            _ => DEFAULT_REFUSAL.to_owned(),
        };
        return Reply::Refuse(reason);
    }
    let mut adjust = Map::new();
    let mut budget = MAX_REPLY_ENTRIES;
    for pair in table.pairs::<Value, Value>() {
        let Ok((key, item)) = pair else { continue };
        let key = match key {
            Value::String(s) => s.to_string_lossy(),
            other => {
                tracing::warn!(script = %file, "ignoring a reply field with a {} key", other.type_name());
                continue;
            }
        };
        if key == "allow" || key == "reason" {
            continue;
        }
        match lua_to_json(&item, 1, &mut budget) {
            Ok(json) => {
                adjust.insert(key, json);
            }
            Err(why) => {
                tracing::warn!(script = %file, "ignoring reply field {key:?}: {why}");
            }
        }
    }
    Reply::Allow(adjust)
}

/// The affected user's folder, as `ev.user`. Methods return `nil, message`
/// on failure rather than raising, so a missing file does not fail the
/// handler (and, with fail_closed, the action).
pub struct UserFolder {
    base: PathBuf,
}

impl UserFolder {
    pub fn new(base: PathBuf) -> UserFolder {
        UserFolder { base }
    }
}

/// Result of a method: the value, or `nil` and a message.
type Answer<T> = (Option<T>, Option<String>);

fn fail<T>(message: impl Into<String>) -> Answer<T> {
    (None, Some(message.into()))
}

fn path_message(err: PathError) -> &'static str {
    match err {
        PathError::NotFound => "not found",
        PathError::Empty | PathError::Forbidden => PATH_NOT_ALLOWED,
    }
}

impl UserData for UserFolder {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("read_file", |lua, this, rel: mlua::LuaString| {
            Ok(match this.read_file(&rel) {
                Ok(bytes) => (Some(lua.create_string(bytes)?), None),
                Err(message) => fail(message),
            })
        });
        methods.add_method(
            "write_file",
            |_, this, (rel, text): (mlua::LuaString, mlua::LuaString)| {
                Ok(match this.write_file(&rel, &text.as_bytes()) {
                    Ok(()) => (Some(true), None),
                    Err(message) => fail(message),
                })
            },
        );
        methods.add_method("exists", |_, this, rel: mlua::LuaString| {
            let Ok(rel) = rel.to_str() else {
                return Ok(fail(PATH_NOT_ALLOWED));
            };
            Ok(match resolve_existing(&this.base, &rel) {
                Ok(_) => (Some(true), None),
                Err(PathError::NotFound) => (Some(false), None),
                Err(err) => fail(path_message(err)),
            })
        });
        methods.add_method("list", |lua, this, rel: Option<mlua::LuaString>| {
            Ok(match this.list(rel.as_ref()) {
                Ok(names) => (Some(lua.create_sequence_from(names)?), None),
                Err(message) => fail(message),
            })
        });
    }
}

impl UserFolder {
    fn read_file(&self, rel: &mlua::LuaString) -> Result<Vec<u8>, String> {
        let rel = rel.to_str().map_err(|_| PATH_NOT_ALLOWED)?;
        let path = resolve_existing(&self.base, &rel).map_err(path_message)?;
        let meta = fs::metadata(&path).map_err(|_| "not found")?;
        if !meta.is_file() {
            return Err("not a file".into());
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err("file too large".into());
        }
        let mut bytes = Vec::new();
        fs::File::open(&path)
            .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|e| format!("could not read: {e}"))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err("file too large".into());
        }
        Ok(bytes)
    }

    fn write_file(&self, rel: &mlua::LuaString, bytes: &[u8]) -> Result<(), String> {
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err("file too large".into());
        }
        let rel = rel.to_str().map_err(|_| PATH_NOT_ALLOWED)?;
        let checked = check_relative(&rel).map_err(path_message)?;
        self.create_parents(&checked)?;
        let path = resolve_for_write(&self.base, &rel).map_err(path_message)?;
        if path.is_dir() {
            return Err("is a folder".into());
        }
        write_atomic(&path, bytes).map_err(|e| format!("could not write: {e}"))
    }

    /// Creates the missing folders of `rel`'s parent one level at a time,
    /// each inside a folder that `resolve_existing` has just confirmed lies
    /// in the user's folder, so a symlink cannot steer the creation outside.
    fn create_parents(&self, rel: &Path) -> Result<(), String> {
        let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) else {
            return Ok(());
        };
        let mut current = self
            .base
            .canonicalize()
            .map_err(|_| "user folder not found")?;
        let mut prefix = PathBuf::new();
        for part in parent.components() {
            prefix.push(part);
            let prefix_text = prefix.to_str().ok_or(PATH_NOT_ALLOWED)?;
            match resolve_existing(&self.base, prefix_text) {
                Ok(dir) if dir.is_dir() => current = dir,
                Ok(_) => return Err("a file is in the way".into()),
                Err(PathError::NotFound) => {
                    fs::create_dir(current.join(part)).map_err(|_| PATH_NOT_ALLOWED)?;
                    current = resolve_existing(&self.base, prefix_text).map_err(path_message)?;
                }
                Err(err) => return Err(path_message(err).into()),
            }
        }
        Ok(())
    }

    fn list(&self, rel: Option<&mlua::LuaString>) -> Result<Vec<String>, String> {
        let rel = match rel {
            Some(rel) => rel.to_str().map_err(|_| PATH_NOT_ALLOWED)?.to_string(),
            None => String::new(),
        };
        let dir = if rel.is_empty() || rel == "." {
            self.base.canonicalize().map_err(|_| "not found")?
        } else {
            resolve_existing(&self.base, &rel).map_err(path_message)?
        };
        if !dir.is_dir() {
            return Err("not a folder".into());
        }
        let mut names = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| format!("could not list: {e}"))? {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name().to_string_lossy().into_owned();
            // Half-written files of an atomic write in progress are not data.
            if name.starts_with(TEMP_PREFIX) {
                continue;
            }
            names.push(name);
            if names.len() >= MAX_LIST_ENTRIES {
                break;
            }
        }
        names.sort();
        Ok(names)
    }
}

/// Appends one line to `<hooks dir>/private/<name>`, a file only the
/// server's user can read (folder 0700, file 0600 on Unix). This is how a
/// script hands the admin something secret, such as a recovery code,
/// without putting it in the server log.
fn admin_file_append(private_dir: &Path, name: &str, line: &[u8]) -> Result<(), String> {
    const NAME_NOT_ALLOWED: &str = "name not allowed (a plain file name, no folders)";
    let checked = check_relative(name).map_err(|_| NAME_NOT_ALLOWED)?;
    if checked.components().count() != 1 {
        return Err(NAME_NOT_ALLOWED.into());
    }
    if line.len() > MAX_APPEND_LINE {
        return Err("line too long".into());
    }
    create_private_dir(private_dir)
        .map_err(|e| format!("could not create the private folder: {e}"))?;
    let path = resolve_for_write(private_dir, name).map_err(|_| NAME_NOT_ALLOWED)?;
    if let Ok(meta) = fs::metadata(&path) {
        if !meta.is_file() {
            return Err(NAME_NOT_ALLOWED.into());
        }
        if meta.len() + line.len() as u64 > MAX_FILE_BYTES {
            return Err("file too large".into());
        }
    }
    // One call, one line: embedded line breaks would let a value forge lines.
    let mut record: Vec<u8> = line
        .iter()
        .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b })
        .collect();
    record.push(b'\n');
    let mut options = fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&path)
        .map_err(|e| format!("could not open: {e}"))?;
    file.write_all(&record)
        .and_then(|()| file.sync_data())
        .map_err(|e| format!("could not write: {e}"))
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_text_cannot_forge_lines() {
        assert_eq!(clean_log_text("a\nERROR b\tc"), "a\\nERROR b\tc");
        let long = "x".repeat(MAX_LOG_BYTES * 2);
        assert!(clean_log_text(&long).len() < MAX_LOG_BYTES + 20);
    }

    #[test]
    fn json_round_trips_through_lua() {
        let lua = Lua::new();
        let json = serde_json::json!({"a": 1, "b": [true, "x", 2.5], "c": {"d": "e"}, "n": null});
        let value = json_to_lua(&lua, &json, 0).unwrap();
        let back = lua_to_json(&value, 0, &mut 100).unwrap();
        assert_eq!(
            back,
            serde_json::json!({"a": 1, "b": [true, "x", 2.5], "c": {"d": "e"}})
        );
    }

    #[test]
    fn deep_or_odd_replies_are_refused_not_crashed() {
        let lua = Lua::new();
        let deep: Value = lua
            .load("local t = {} local cur = t for i = 1, 100000 do cur.x = {} cur = cur.x end return t")
            .eval()
            .unwrap();
        assert!(lua_to_json(&deep, 0, &mut 1_000_000).is_err());
        let cyclic: Value = lua.load("local t = {} t.self = t return t").eval().unwrap();
        assert!(lua_to_json(&cyclic, 0, &mut 1_000_000).is_err());
        let func: Value = lua.load("return print").eval().unwrap();
        assert!(lua_to_json(&func, 0, &mut 10).is_err());
    }

    #[test]
    fn replies_are_read_as_documented() {
        let lua = Lua::new();
        let eval = |code: &str| -> Value { lua.load(code).eval().unwrap() };
        assert_eq!(parse_reply("f", Value::Nil, true), Reply::Allow(Map::new()));
        assert_eq!(
            parse_reply("f", eval("return {allow = false, reason = 'no'}"), true),
            Reply::Refuse("no".into())
        );
        assert_eq!(
            parse_reply("f", Value::Boolean(false), true),
            Reply::Refuse(DEFAULT_REFUSAL.into())
        );
        let Reply::Allow(adjust) = parse_reply(
            "f",
            eval("return {name = 'N', admin = false, bad = print}"),
            true,
        ) else {
            panic!("refused");
        };
        assert_eq!(adjust.get("name"), Some(&Json::from("N")));
        assert_eq!(adjust.get("admin"), Some(&Json::from(false)));
        assert!(!adjust.contains_key("bad"));
        assert_eq!(
            parse_reply("f", eval("return {allow = false}"), false),
            Reply::Allow(Map::new())
        );
    }

    #[test]
    fn admin_file_is_private_and_named_plainly() {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("private");
        admin_file_append(&private, "codes.txt", b"one\ntwo").unwrap();
        admin_file_append(&private, "codes.txt", b"three").unwrap();
        assert_eq!(
            fs::read_to_string(private.join("codes.txt")).unwrap(),
            "one two\nthree\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(private.join("codes.txt"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = fs::metadata(&private).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        for bad in ["../x", "a/b", "/etc/passwd", "", ".", "a\\b"] {
            assert!(
                admin_file_append(&private, bad, b"x").is_err(),
                "{bad:?} accepted"
            );
        }
    }
}
