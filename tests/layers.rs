//! The layers of ARCHITECTURE.md, checked: no module of the library uses
//! one from a layer above its own (`crate::…` paths in code, comments
//! aside). A move that breaks the rule fails here with the file and line.

use std::path::{Path, PathBuf};

/// Each room (top-level module of `src/`) and its layer, as ARCHITECTURE.md
/// lists them.
const LAYERS: &[(&str, u8)] = &[
    ("store", 1),
    ("clock", 1),
    ("limits", 1),
    ("codes", 1),
    ("console", 1),
    ("sealing", 1),
    ("tls", 1),
    ("allocator", 1),
    ("app", 2),
    ("error", 2),
    ("config", 2),
    ("sessions", 2),
    ("safety", 2),
    ("accounts", 2),
    ("userdata", 2),
    ("permissions", 2),
    ("hooks", 2),
    ("hosting", 2),
    ("import", 2),
    ("http", 3),
    ("server", 3),
    ("lib", 3),
    ("main", 4),
    ("cli", 4),
];

fn layer(room: &str) -> Option<u8> {
    LAYERS.iter().find(|(r, _)| *r == room).map(|(_, l)| *l)
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The room a file belongs to: its first folder under src/, or its stem.
fn room_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Rooms named by `crate::<room>` in one line of code.
fn used_rooms(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    code.match_indices("crate::")
        .map(|(i, _)| {
            code[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|r| !r.is_empty())
        .collect()
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    assert!(all.len() > 50, "found only {} files", all.len());
    let mut climbs = Vec::new();
    for file in &all {
        let room = room_of(&src, file);
        let own = layer(&room).unwrap_or_else(|| {
            panic!(
                "{} is in no layer: add it to ARCHITECTURE.md and here",
                file.display()
            )
        });
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for used in used_rooms(line) {
                let Some(theirs) = layer(&used) else {
                    continue;
                };
                if theirs > own {
                    climbs.push(format!(
                        "{}:{}: {room} (layer {own}) uses {used} (layer {theirs})",
                        file.strip_prefix(&src).unwrap().display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(climbs.is_empty(), "layers climbed:\n{}", climbs.join("\n"));
}

#[test]
fn the_check_sees_a_climb() {
    assert_eq!(used_rooms("use crate::http::context::Ctx;"), ["http"]);
    assert_eq!(
        used_rooms("let x = crate::store::users::get(c); // crate::http"),
        ["store"]
    );
    assert!(layer("http") > layer("permissions"));
}
