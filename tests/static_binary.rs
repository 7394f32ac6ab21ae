//! The binary is one static file (issue 17): no program interpreter, so
//! no shared library is needed, and it serves in a root that holds
//! nothing but itself and its config — no libc, no /proc, no /etc.

#[path = "common/child.rs"]
mod child;

use std::path::Path;
use std::process::Command;

use child::{ChildServer, BIN};

/// True when the ELF file names a program interpreter (PT_INTERP): a
/// dynamically linked executable does, a static (or static-pie) one not.
fn has_interpreter(elf: &[u8]) -> bool {
    assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(elf[4], 2, "not a 64-bit ELF file");
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    (0..phnum).any(|i| {
        let at = phoff + i * phentsize;
        u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) == 3
    })
}

#[test]
fn the_binary_needs_no_shared_library() {
    let elf = std::fs::read(BIN).unwrap();
    assert!(!has_interpreter(&elf), "{BIN} is dynamically linked");
    // ldd agrees, where the machine has it.
    if let Ok(o) = Command::new("ldd").arg(BIN).output() {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            text.contains("statically linked") || text.contains("not a dynamic executable"),
            "ldd: {text}"
        );
    }
    // The check itself tells the two apart.
    let ldd_like = Path::new("/bin/sh");
    if let Ok(sh) = std::fs::read(ldd_like) {
        assert!(has_interpreter(&sh), "/bin/sh read as static");
    }
}

#[tokio::test]
async fn it_serves_from_an_empty_root() {
    let root = tempfile::tempdir().unwrap();
    std::fs::copy(BIN, root.path().join("innkeeper")).unwrap();
    std::fs::write(
        root.path().join("config.yaml"),
        "port: 0\ndataRoot: /data\npasswordHash:\n  logN: 4\n  r: 8\n  p: 1\n",
    )
    .unwrap();
    let entries: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries.len(), 2, "the root holds more: {entries:?}");
    // Root may chroot; anyone else does it inside a user namespace.
    let mut cmd = if nix_is_root() {
        Command::new(on_path("chroot"))
    } else {
        let mut c = Command::new(on_path("unshare"));
        c.args(["--user", "--map-root-user", "chroot"]);
        c
    };
    cmd.arg(root.path())
        .args(["/innkeeper", "--config", "/config.yaml"])
        .env_clear();
    let server = ChildServer::start_command(cmd).expect("the server starts in the empty root");
    let body = reqwest::get(format!("{}/healthz", server.base))
        .await
        .expect("healthz answers")
        .text()
        .await
        .unwrap();
    assert_eq!(body, r#"{"status":"ok"}"#);
    // It made its data root inside the empty one.
    assert!(root.path().join("data/innkeeper.db").is_file());
    server.stop().expect("stops on SIGTERM");
}

#[test]
fn version_names_the_commit() {
    let o = Command::new(BIN).arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let rest = text
        .trim()
        .strip_prefix(&format!("innkeeper {} (commit ", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("{text}"));
    let commit = rest.strip_suffix(')').unwrap_or_else(|| panic!("{text}"));
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{text}"
    );
}

/// The full path of a program (the server's environment is cleared, PATH
/// with it).
fn on_path(name: &str) -> std::path::PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed"))
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
