//! Doing it: opening the data root, adding accounts, copying folders,
//! indexing snapshots, with a progress bar on a terminal.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::*;

/// The command: a dry run reads only; a real run opens the data root
/// (creating the database) and imports into it.
pub async fn run(config: &Config, opts: &ImportOptions) -> Result<Report, ImportError> {
    if opts.dry_run {
        return plan_only(config, opts).await;
    }
    check_source(&opts.source)?;
    let app = App::open(config.clone(), Clock::default(), Console::default())?;
    import_into(&app, opts).await
}

pub(super) fn check_source(source: &Path) -> Result<(), ImportError> {
    if source.join(STORAGE_DIR).is_dir() {
        Ok(())
    } else {
        Err(ImportError::NoStorage(source.to_path_buf()))
    }
}

/// Same folder, by canonical path (a missing destination is not the same).
pub(super) fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ImportError> + Send + 'static,
) -> Result<T, ImportError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ImportError::Task(e.to_string()))?
}

pub(super) async fn read_storage(source: &Path) -> Result<Storage, ImportError> {
    let dir = source.join(STORAGE_DIR);
    blocking(move || {
        records::read_dir(&dir).map_err(|source| ImportError::Read { path: dir, source })
    })
    .await
}

pub(super) fn progress_bar(opts: &ImportOptions, users: usize, bytes: u64) -> ProgressBar {
    // Small roots finish before a bar would be readable.
    let worth_it = users >= 20 || bytes >= 64 * 1024 * 1024;
    let target = if opts.progress && worth_it && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(bytes.max(users as u64)), target);
    let template = if bytes > 0 {
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta}) {msg}"
    } else {
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} users {msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// Imports into an open data root: accounts first (one transaction), then
/// each user's folder (copy, layout, snapshot index, persona picture).
pub async fn import_into(app: &Arc<App>, opts: &ImportOptions) -> Result<Report, ImportError> {
    check_source(&opts.source)?;
    let storage = read_storage(&opts.source).await?;
    let mut report = base_report(&storage, opts, &app.data_root);
    let existing: HashMap<String, UserRow> = app
        .store
        .run(|c| store::users::list(c))
        .await?
        .into_iter()
        .map(|r| (r.handle.clone(), r))
        .collect();

    let mut plan = Vec::new();
    for (_, u) in &storage.users {
        let avatar = storage.avatars.get(&u.handle).map(|(_, a)| a);
        let row = row_of(u, avatar);
        let action = decide(&row, existing.get(&u.handle), opts.overwrite);
        if action.writes() && avatar.is_some() {
            report.avatars += 1;
        }
        report.users.push(line_of(u, action, avatar.is_some()));
        plan.push((row, action));
    }

    // Accounts, all or none.
    let writes: Vec<(UserRow, Action)> = plan.iter().filter(|(_, a)| a.writes()).cloned().collect();
    let now = app.clock.now_ms();
    if !writes.is_empty() {
        // Through write_users, so a running App's in-memory account list
        // (the first start's) sees the imported accounts.
        app.write_users(move |c| {
            let tx = c.transaction()?;
            for (row, action) in &writes {
                match action {
                    Action::Create => {
                        store::users::insert(&tx, row)?;
                    }
                    _ => store::users::replace(&tx, row)?,
                }
                let detail = match action {
                    Action::Create => "imported from SillyTavern",
                    _ => "imported from SillyTavern, replacing the existing account",
                };
                store::audit::insert(
                    &tx,
                    now,
                    Some("(console)"),
                    "user.import",
                    Some(&row.handle),
                    None,
                    Some(detail),
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
    }

    // Folders. A conflicting account keeps its own folder untouched.
    let folders: Vec<(String, String, Action)> = plan
        .iter()
        .filter(|(_, a)| *a != Action::Conflict)
        .map(|(r, a)| (r.handle.clone(), r.name.clone(), *a))
        .collect();
    let trees = if report.in_place {
        None
    } else {
        let source = opts.source.clone();
        let handles: Vec<String> = folders.iter().map(|(h, _, _)| h.clone()).collect();
        Some(
            blocking(move || {
                handles
                    .into_iter()
                    .map(|h| {
                        let dir = source.join(&h);
                        copy::scan(&dir).map_err(|e| ImportError::Read {
                            path: dir,
                            source: e,
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?,
        )
    };
    let total_bytes = trees
        .as_ref()
        .map(|t| t.iter().map(|t| t.bytes).sum())
        .unwrap_or(0);
    let bar = progress_bar(opts, folders.len(), total_bytes);
    let mut trees = trees.map(Vec::into_iter);
    for (handle, name, action) in folders {
        bar.set_message(handle.clone());
        let tree = trees.as_mut().and_then(Iterator::next);
        let source = opts.source.join(&handle);
        let dest =
            layout::user_dir(&app.data_root, &handle).ok_or_else(|| ImportError::Folder {
                handle: handle.clone(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "invalid handle"),
            })?;
        let (h, b, root) = (handle.clone(), bar.clone(), app.data_root.clone());
        let (copied, folders_made, warnings) = blocking(move || {
            let mut copied = copy::Copied::default();
            let mut warnings = Vec::new();
            if let Some(tree) = &tree {
                copied =
                    copy::copy_tree(&source, &dest, tree, &mut |n| b.inc(n)).map_err(|source| {
                        ImportError::Copy {
                            handle: h.clone(),
                            source,
                        }
                    })?;
                warnings = folder_warnings(&h, tree, &copied.kept);
            } else {
                b.inc(1);
            }
            let missing = missing_layout(&dest);
            layout::ensure(&root, &h, &name).map_err(|source| ImportError::Folder {
                handle: h.clone(),
                source,
            })?;
            Ok((copied, missing, warnings))
        })
        .await?;
        report.files_copied += copied.files;
        report.bytes_copied += copied.bytes;
        report.files_present += copied.present;
        report.folders_created += folders_made;
        report.warnings.extend(warnings);
        report.snapshots +=
            app.snapshots()
                .reindex(&handle)
                .await
                .map_err(|e| ImportError::Snapshots {
                    handle: handle.clone(),
                    message: format!("{e:?}"),
                })?;
        if action.writes() {
            if let Err(e) = app.settings().refresh_persona_avatar(&handle).await {
                report
                    .warnings
                    .push(format!("{handle}: persona picture not read ({e:?})"));
            }
        }
    }
    bar.finish_and_clear();
    if report.changed() {
        app.audit(
            &Actor::console(),
            "import.sillytavern",
            None,
            Some(format!(
                "{}: {} imported, {} replaced",
                opts.source.display(),
                report.count(Action::Create),
                report.count(Action::ReplaceDefault) + report.count(Action::Overwrite)
            )),
        )
        .await;
    }
    Ok(report)
}
