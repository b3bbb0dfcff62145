//! Writing files that hold values (`export -o`, `inject -o`): created 0600 with `O_NOFOLLOW`
//! through the atomic writer, never through a planted symlink, never over a file git tracks, and
//! added to the nearest `.gitignore` when inside a git work tree so it is not committed by accident.

use crate::error::hinted;
use crate::printer::Printer;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tokenvault_store::fsutil;

/// Refuses to print values to a terminal without `--reveal` (they would stay in the scrollback
/// and in a screen share), as `get` does; `alternative` says what else the user can do.
pub fn refuse_terminal(
    printer: &Printer,
    output: Option<&Path>,
    reveal: bool,
    alternative: &str,
) -> Result<()> {
    if output.is_none() && !reveal && printer.stdout_is_terminal() {
        return Err(hinted(
            "refusing to print secrets to the terminal",
            format!("{alternative}, or pass --reveal"),
        ));
    }
    Ok(())
}

/// Delivers rendered values: to stdout, or to `output` written safely, after recording `action` in
/// the audit log (and a second record when the delivery then fails). Returns the path when a file
/// was written.
pub fn deliver<'p>(
    ctx: &crate::context::Ctx,
    action: &str,
    subject: &crate::audit::Subject,
    output: Option<&'p Path>,
    text: &str,
) -> Result<Option<&'p Path>> {
    // Recorded before any value leaves; a log that cannot be written refuses the delivery.
    crate::audit::record_before_release(
        ctx,
        action,
        subject.backend.as_deref(),
        &subject.references,
    )?;
    let outcome = match output {
        None => ctx.printer.data(text).map(|()| None),
        Some(path) => write(path, text.as_bytes(), &ctx.printer).map(|()| Some(path)),
    };
    if outcome.is_err() {
        subject.record(ctx, action, &outcome);
    }
    outcome
}

/// Writes `bytes` to `path` safely (see the module docs).
pub fn write(path: &Path, bytes: &[u8], printer: &Printer) -> Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_symlink() {
            return Err(hinted(
                format!("refusing to write through the symlink {}", path.display()),
                "a link at the output path could send secrets elsewhere; remove it or choose another path",
            ));
        }
        if meta.is_dir() {
            return Err(hinted(
                format!("{} is a directory", path.display()),
                "give a file path",
            ));
        }
    }
    let abs = absolute(path)?;
    let repo = git_toplevel(&abs);
    if let Some(top) = &repo {
        if git_tracks(top, &abs) {
            return Err(hinted(
                format!("refusing to overwrite {}: git tracks it", path.display()),
                "secrets must not be committed; choose an untracked path (it will be added to .gitignore)",
            ));
        }
    }
    fsutil::replace_without_temp_name(&abs, bytes)?;
    if let Some(top) = repo {
        if let Some(gitignore) = ignore_file(&top, &abs)? {
            printer.note(&format!(
                "Added {} to {}.",
                path.display(),
                gitignore.display()
            ));
        }
    }
    Ok(())
}

fn absolute(path: &Path) -> Result<PathBuf> {
    let abs = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()?.join(path)
    };
    let dir = abs.parent().context("the output path has no directory")?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("the directory of {} does not exist", path.display()))?;
    Ok(dir.join(
        abs.file_name()
            .context("the output path has no file name")?,
    ))
}

fn git(dir: &Path, args: &[&str]) -> Option<std::process::Output> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()
}

fn git_toplevel(file: &Path) -> Option<PathBuf> {
    let dir = file.parent()?;
    let out = git(dir, &["rev-parse", "--show-toplevel"])?;
    if !out.status.success() {
        return None;
    }
    let top = String::from_utf8(out.stdout).ok()?;
    Some(PathBuf::from(top.trim_end()))
}

fn git_tracks(top: &Path, file: &Path) -> bool {
    match file.strip_prefix(top) {
        Ok(rel) => git_succeeds(top, &["ls-files", "--error-unmatch", "--"], rel),
        Err(_) => false,
    }
}

/// Whether `git -C dir ARGS path` exits 0 (output discarded).
fn git_succeeds(dir: &Path, args: &[&str], path: &Path) -> bool {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Appends the file to the nearest `.gitignore` (from its directory up to the work tree's top;
/// the top-level one when there is none) unless git already ignores it. Returns the `.gitignore`
/// written. Appending (O_APPEND) never rewrites what the user wrote.
fn ignore_file(top: &Path, file: &Path) -> Result<Option<PathBuf>> {
    let dir = file.parent().unwrap_or(top);
    let ignored = git_succeeds(dir, &["check-ignore", "-q", "--"], file);
    if ignored {
        return Ok(None);
    }
    let mut gitignore_dir = top.to_owned();
    let mut d = Some(dir);
    while let Some(cur) = d {
        if cur.join(".gitignore").is_file() {
            gitignore_dir = cur.to_owned();
            break;
        }
        if cur == top {
            break;
        }
        d = cur.parent();
    }
    let gitignore = gitignore_dir.join(".gitignore");
    let rel = file.strip_prefix(&gitignore_dir).unwrap_or(file);
    let existing = std::fs::read(&gitignore).unwrap_or_default();
    let mut line = String::new();
    if !existing.is_empty() && !existing.ends_with(b"\n") {
        line.push('\n');
    }
    line.push_str(&format!("/{}\n", rel.display()));
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&gitignore)
        .with_context(|| format!("opening {}", gitignore.display()))?;
    f.write_all(line.as_bytes())
        .with_context(|| format!("appending to {}", gitignore.display()))?;
    Ok(Some(gitignore))
}
