//! `innkeeper backup --all`, `innkeeper restore` and
//! `innkeeper import-sillytavern`: whole data roots in and out.

use std::path::PathBuf;

use innkeeper::config::Config;
use innkeeper::import::{self, ImportOptions};

use super::open;

pub async fn import(
    config: Config,
    path: PathBuf,
    dry_run: bool,
    overwrite: bool,
) -> Result<(), String> {
    let opts = ImportOptions {
        source: path,
        dry_run,
        overwrite,
        progress: true,
    };
    let report = import::run(&config, &opts)
        .await
        .map_err(|e| format!("import failed: {e}"))?;
    print!("{report}");
    Ok(())
}

pub async fn backup(config: Config, all: bool, output: PathBuf) -> Result<(), String> {
    if !all {
        return Err("only whole-root backups are made from the console: add --all".into());
    }
    let app = open(config)?;
    let plan = app.full_backup_plan().await.map_err(|e| e.to_string())?;
    let out = output.clone();
    let written = tokio::task::spawn_blocking(move || {
        let tmp = out.with_extension("zip.partial");
        let file = std::fs::File::create(&tmp)?;
        let result =
            innkeeper::userdata::backup::write_archive(&plan, std::io::BufWriter::new(file));
        for f in &plan.cleanup {
            let _ = std::fs::remove_file(f);
        }
        let mut writer = result?;
        std::io::Write::flush(&mut writer)?;
        writer
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()?;
        std::fs::rename(&tmp, &out)?;
        std::fs::metadata(&out).map(|m| m.len())
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("cannot write {}: {e}", output.display()))?;
    println!("Wrote {} ({written} bytes).", output.display());
    Ok(())
}

pub fn restore(config: Config, file: PathBuf, force: bool) -> Result<(), String> {
    let n = innkeeper::userdata::restore::restore(&file, &config.data_root, force)
        .map_err(|e| e.to_string())?;
    println!(
        "Restored {n} files into {}. Start the server to use them.",
        config.data_root.display()
    );
    Ok(())
}
