//! The web UI's modules are type-checked: `tsc --noEmit -p web` over
//! web/static/*.js with web/tsconfig.json, their types written in JSDoc.
//! tests/run.sh installs the pinned TypeScript into target/tsc/; without it
//! the test fails with what to run (it is never skipped).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The modules the check covers: every script in web/static/.
fn modules() -> Vec<PathBuf> {
    let mut list: Vec<PathBuf> = std::fs::read_dir(root().join("web/static"))
        .expect("web/static/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "js"))
        .collect();
    list.sort();
    list
}

#[test]
fn the_web_modules_type_check() {
    let tsc = root().join("target/tsc/node_modules/.bin/tsc");
    assert!(
        tsc.is_file(),
        "TypeScript is not installed at {}: run tests/run.sh once (it installs \
         the pinned version into target/tsc/ from the npm registry)",
        tsc.display()
    );
    let out = Command::new(&tsc)
        .args(["--noEmit", "--pretty", "false", "-p", "web"])
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("{} does not run: {e}", tsc.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.trim().is_empty(),
        "tsc --noEmit -p web found problems in web/static/ ({}):\n{text}",
        out.status
    );
}

/// `// @ts-check` heads every module, so an editor checks it even without
/// web/tsconfig.json; a new module without it fails here.
#[test]
fn every_module_asks_for_the_check() {
    let modules = modules();
    assert!(!modules.is_empty(), "no modules in web/static/");
    let missing: Vec<String> = modules
        .iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).expect("a module is readable");
            text.lines().next() != Some("// @ts-check")
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without `// @ts-check` on their first line: {missing:?}"
    );
}
