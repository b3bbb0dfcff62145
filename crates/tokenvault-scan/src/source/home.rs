//! A home directory, read place by place: only the files a catalogue of places names
//! (`tokenvault_core::places`), found by walking from each pattern's literal directory and
//! entering only directories the pattern can still match below (never a directory symlink, never
//! a directory named in `skip_dirs` below where the walk starts). Nothing else in the home is
//! opened, so a large `node_modules` or a virtualenv costs a directory listing at most, and only
//! when a `**` pattern reaches it.

use super::stream::{self, Encoding};
use crate::engine::{Finding, FnSink, Scanner};
use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokenvault_core::places::Pattern;

/// A file to scan, and the place (an index the caller chose) that named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub place: usize,
    pub path: PathBuf,
}

/// The files `patterns` name under `home`, each once (the first pattern naming it wins), in a
/// stable order. Directories that cannot be listed go to `errors` (a missing one is not an error).
pub fn find_targets(
    home: &Path,
    patterns: &[(usize, Pattern)],
    skip_dirs: &[String],
    errors: &mut Vec<String>,
) -> Vec<Target> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (place, pattern) in patterns {
        let mut base = home.to_path_buf();
        base.extend(&pattern.base);
        let mut found = Vec::new();
        if pattern.rest.is_empty() {
            if std::fs::metadata(&base).is_ok_and(|m| m.is_file()) {
                found.push(base);
            }
        } else if std::fs::symlink_metadata(&base).is_ok_and(|m| m.is_dir()) {
            walk(
                &base,
                &mut Vec::new(),
                pattern,
                skip_dirs,
                &mut found,
                errors,
            );
        }
        found.sort();
        for path in found {
            if seen.insert(path.clone()) {
                out.push(Target {
                    place: *place,
                    path,
                });
            }
        }
    }
    out
}

fn walk(
    dir: &Path,
    rel: &mut Vec<String>,
    pattern: &Pattern,
    skip_dirs: &[String],
    found: &mut Vec<PathBuf>,
    errors: &mut Vec<String>,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            errors.push(format!("cannot list {}: {e}", dir.display()));
            return;
        }
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        rel.push(name);
        let segs: Vec<&str> = rel.iter().map(String::as_str).collect();
        if kind.is_dir() {
            let skipped = skip_dirs.iter().any(|s| *s == rel[rel.len() - 1]);
            if !skipped && pattern.may_descend(&segs) {
                walk(&entry.path(), rel, pattern, skip_dirs, found, errors);
            }
        } else if (kind.is_file()
            || (kind.is_symlink() && std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file())))
            && pattern.matches(&segs)
        {
            found.push(entry.path());
        }
        rel.pop();
    }
}

/// What scanning one target found.
#[derive(Debug)]
pub struct Scanned {
    pub target: usize,
    pub findings: Vec<Finding>,
    pub bytes: u64,
    /// Whether offsets are the file's own bytes (not decoded UTF-16): only then can a finding be
    /// edited in place.
    pub raw_offsets: bool,
    pub elapsed: Duration,
    pub error: Option<String>,
}

/// Scans every target on `threads` threads (at least one), calling `done` as each file is
/// finished (from the scanning threads).
pub fn scan_targets(
    scanner: &Scanner,
    targets: &[Target],
    threads: usize,
    done: &(dyn Fn(Scanned) + Sync),
) {
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, targets.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut scratch = scanner.scratch();
                let mut buf = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(t) = targets.get(i) else { break };
                    let start = Instant::now();
                    let findings = Mutex::new(Vec::new());
                    let mut sink = FnSink(|f| {
                        if let Ok(mut v) = findings.lock() {
                            v.push(f);
                        }
                    });
                    let result = File::open(&t.path).and_then(|mut file| {
                        stream::scan_reader(scanner, &mut scratch, &mut file, &mut buf, &mut sink)
                    });
                    let findings = findings.into_inner().unwrap_or_default();
                    let (bytes, raw_offsets, error) = match result {
                        Ok(s) => (s.bytes, s.encoding == Encoding::Bytes, None),
                        Err(e) => (
                            0,
                            false,
                            Some(format!("cannot read {}: {e}", t.path.display())),
                        ),
                    };
                    done(Scanned {
                        target: i,
                        findings,
                        bytes,
                        raw_offsets,
                        elapsed: start.elapsed(),
                        error,
                    });
                    if buf.capacity() > 2 * stream::CHUNK {
                        buf = Vec::new();
                    }
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_named_files_are_found_and_skip_dirs_are_not_entered() {
        let dir = tempfile::tempdir().unwrap();
        let h = dir.path();
        for f in [
            ".bash_history",
            "notes.txt",
            ".config/Cursor/logs/a/b/main.log",
            ".config/Cursor/logs/a/b/main.txt",
            "proj/nb.ipynb",
            "proj/node_modules/pkg/nb.ipynb",
        ] {
            let p = h.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "x").unwrap();
        }
        let pats: Vec<(usize, Pattern)> = [
            ".bash_history",
            ".config/Cursor/logs/**/*.log",
            "**/*.ipynb",
            ".missing/**/*.log",
        ]
        .iter()
        .enumerate()
        .map(|(i, p)| (i, Pattern::new(p).unwrap()))
        .collect();
        let mut errors = Vec::new();
        let got: Vec<(usize, String)> =
            find_targets(h, &pats, &["node_modules".into()], &mut errors)
                .into_iter()
                .map(|t| {
                    (
                        t.place,
                        t.path.strip_prefix(h).unwrap().display().to_string(),
                    )
                })
                .collect();
        assert_eq!(
            got,
            vec![
                (0, ".bash_history".to_owned()),
                (1, ".config/Cursor/logs/a/b/main.log".to_owned()),
                (2, "proj/nb.ipynb".to_owned()),
            ]
        );
        assert!(errors.is_empty());
    }
}
