//! Disk usage of a user's folder, per top-level folder.

use std::path::Path;

use serde::Serialize;

#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct FolderUsage {
    pub name: String,
    pub files: u64,
    pub bytes: u64,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Usage {
    pub files: u64,
    pub bytes: u64,
    pub folders: Vec<FolderUsage>,
}

/// Walks `dir` (symlinks are not followed). Files directly in `dir` count
/// under the name ".".
pub fn measure(dir: &Path) -> std::io::Result<Usage> {
    let mut usage = Usage::default();
    let mut top = FolderUsage {
        name: ".".into(),
        ..Default::default()
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let kind = entry.file_type()?;
        if kind.is_dir() {
            let mut f = FolderUsage {
                name: entry.file_name().to_string_lossy().into_owned(),
                ..Default::default()
            };
            walk(&entry.path(), &mut f)?;
            usage.files += f.files;
            usage.bytes += f.bytes;
            usage.folders.push(f);
        } else if kind.is_file() {
            top.files += 1;
            top.bytes += entry.metadata()?.len();
        }
    }
    usage.files += top.files;
    usage.bytes += top.bytes;
    usage.folders.insert(0, top);
    Ok(usage)
}

fn walk(dir: &Path, acc: &mut FolderUsage) -> std::io::Result<()> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                acc.files += 1;
                acc.bytes += entry.metadata()?.len();
            }
        }
    }
    Ok(())
}

/// A size for people: "512 bytes", "1.5 MiB".
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64;
    let mut unit = "";
    for u in UNITS {
        v /= 1024.0;
        unit = u;
        if v < 1024.0 {
            break;
        }
    }
    format!("{v:.1} {unit}")
}
