//! Directory trees: a parallel walk (the `ignore` crate, ripgrep's) that honours `.gitignore`,
//! `.ignore` and git's exclude files, even outside a git repository, and visits hidden files
//! (`.env` is where tokens live) but never `.git/` itself. Each walker thread owns a scratch
//! space and a read buffer, so scanning a file allocates nothing once the buffers have grown.

use super::stream;
use super::{Hit, Reporter, Stats};
use crate::engine::{FnSink, Scanner};
use ignore::{WalkBuilder, WalkState};
use std::fs::File;
use std::path::PathBuf;

/// What to walk.
#[derive(Debug, Clone)]
pub struct FsOptions {
    pub paths: Vec<PathBuf>,
    /// Worker threads; 0 means one per CPU.
    pub threads: usize,
    /// Honour `.gitignore` and friends (default true).
    pub ignore_files: bool,
}

impl FsOptions {
    pub fn new(paths: Vec<PathBuf>) -> FsOptions {
        FsOptions {
            paths,
            threads: 0,
            ignore_files: true,
        }
    }
}

fn display(path: &std::path::Path) -> String {
    let s = path.to_string_lossy();
    s.strip_prefix("./")
        .map(str::to_owned)
        .unwrap_or_else(|| s.into_owned())
}

/// A walk of `first` and `rest` that visits hidden files and honours ignore files outside git
/// repositories too.
fn walker(first: &std::path::Path, rest: &[PathBuf]) -> WalkBuilder {
    let mut builder = WalkBuilder::new(first);
    for p in rest {
        builder.add(p);
    }
    builder.hidden(false).require_git(false);
    builder
}

/// Walks `opts.paths` and scans every file (binary or not; UTF-16 decoded, see [`stream`]). Per-file problems go to `reporter.error`.
pub fn scan_paths(scanner: &Scanner, opts: &FsOptions, reporter: &dyn Reporter) -> Stats {
    let stats = Stats::default();
    let Some((first, rest)) = opts.paths.split_first() else {
        return stats;
    };
    let mut builder = walker(first, rest);
    builder
        .git_ignore(opts.ignore_files)
        .git_exclude(opts.ignore_files)
        .git_global(opts.ignore_files)
        .ignore(opts.ignore_files)
        .parents(opts.ignore_files)
        .threads(opts.threads)
        .filter_entry(|e| e.file_name() != ".git");
    builder.build_parallel().run(|| {
        let mut scratch = scanner.scratch();
        let mut buf = Vec::new();
        let stats = &stats;
        Box::new(move |entry| {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    Stats::add(&stats.errors, 1);
                    reporter.error(format!("cannot walk: {e}"));
                    return WalkState::Continue;
                }
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return WalkState::Continue;
            }
            let path = entry.path();
            if entry.file_name().to_str().is_some_and(secret_file_name) {
                if let Ok(mut named) = stats.secret_named.lock() {
                    named.push(path.to_owned());
                }
            }
            let mut file = match File::open(path) {
                Ok(f) => f,
                Err(e) => {
                    Stats::add(&stats.errors, 1);
                    reporter.error(format!("cannot read {}: {e}", path.display()));
                    return WalkState::Continue;
                }
            };
            let shown = display(path);
            let mut sink = FnSink(|finding| {
                Stats::add(&stats.findings, 1);
                reporter.hit(Hit {
                    path: shown.clone(),
                    commit: None,
                    finding,
                })
            });
            match stream::scan_reader(scanner, &mut scratch, &mut file, &mut buf, &mut sink) {
                Ok(scanned) => {
                    Stats::add(&stats.files, 1);
                    Stats::add(&stats.bytes, scanned.bytes);
                    reporter.progress(scanned.bytes);
                }
                Err(e) => {
                    Stats::add(&stats.errors, 1);
                    reporter.error(format!("cannot read {}: {e}", path.display()));
                }
            }
            // A huge file should not pin its buffer for the rest of the walk.
            if buf.capacity() > 2 * stream::CHUNK {
                buf = Vec::new();
            }
            WalkState::Continue
        })
    });
    stats
}

/// Names of files that hold secrets by purpose: env files, credentials, keys, tool configs.
const SECRET_FILE_GLOBS: &[&str] = &[
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    "credentials",
    "credentials.json",
    "*.pem",
    "*.key",
    ".netrc",
    ".npmrc",
    ".pypirc",
    "*.tfvars",
    "secrets.*",
];

/// Whether a file name is one of [`SECRET_FILE_GLOBS`].
pub fn secret_file_name(name: &str) -> bool {
    name == ".env"
        || name.starts_with(".env.")
        || name.ends_with(".env")
        || matches!(
            name,
            ".envrc" | "credentials" | "credentials.json" | ".netrc" | ".npmrc" | ".pypirc"
        )
        || name.ends_with(".pem")
        || name.ends_with(".key")
        || name.ends_with(".tfvars")
        || name.starts_with("secrets.")
}

/// The files named like secret files that a walk of `opts` with ignore rules skipped (git-ignored
/// `.env.local`, `credentials.json`, …; not inside ignored directories), each with how many
/// findings it holds. `scanned` is [`Stats::secret_named`] of that walk. Empty when the walk
/// honoured no ignore files.
pub fn ignored_secret_files(
    scanner: &Scanner,
    opts: &FsOptions,
    scanned: &[PathBuf],
) -> Vec<(String, u64)> {
    let Some((first, rest)) = opts.paths.split_first() else {
        return Vec::new();
    };
    if !opts.ignore_files {
        return Vec::new();
    }
    let mut overrides = ignore::overrides::OverrideBuilder::new(first);
    for glob in SECRET_FILE_GLOBS {
        if overrides.add(glob).is_err() {
            return Vec::new();
        }
    }
    let Ok(overrides) = overrides.build() else {
        return Vec::new();
    };
    let seen: std::collections::HashSet<&PathBuf> = scanned.iter().collect();
    let mut builder = walker(first, rest);
    builder
        .overrides(overrides)
        .filter_entry(|e| e.file_name() != ".git");
    let mut scratch = scanner.scratch();
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for entry in builder.build().flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file())
            || seen.contains(&entry.path().to_path_buf())
        {
            continue;
        }
        if !entry.file_name().to_str().is_some_and(secret_file_name) {
            continue;
        }
        let Ok(mut file) = File::open(entry.path()) else {
            continue;
        };
        let mut count = 0u64;
        let mut sink = FnSink(|_finding| {
            count += 1;
        });
        let _ = stream::scan_reader(scanner, &mut scratch, &mut file, &mut buf, &mut sink);
        out.push((display(entry.path()), count));
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The globs (which find ignored files) and the name test (which keeps what they found, and
    /// notes what the main walk scanned) describe the same names.
    #[test]
    fn secret_file_globs_and_names_agree() {
        for glob in SECRET_FILE_GLOBS {
            let name = glob.replace('*', "x");
            assert!(secret_file_name(&name), "{glob} → {name}");
        }
        for name in [
            "main.rs",
            "environment",
            ".envrc.bak",
            "key.txt",
            "Cargo.toml",
        ] {
            assert!(!secret_file_name(name), "{name}");
        }
    }
    use crate::rules::RuleSet;
    use crate::source::Collect;
    use tokenvault_core::Catalogue;

    #[test]
    fn walk_respects_gitignore_and_git_dir_scans_binaries_and_sees_dotfiles() {
        let dir = tempfile::tempdir().unwrap();
        let token = "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567";
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join(".gitignore"), "ignored.txt\n").unwrap();
        std::fs::write(root.join(".env"), format!("HF_TOKEN={token}\n")).unwrap();
        std::fs::write(root.join("sub/code.py"), format!("\n\ntok = '{token}'\n")).unwrap();
        std::fs::write(root.join("ignored.txt"), token).unwrap();
        std::fs::write(root.join(".git/config"), token).unwrap();
        std::fs::write(root.join("blob.bin"), format!("\0\0{token}")).unwrap();
        let s = Scanner::new(
            RuleSet::from_catalogue(&Catalogue::builtin()).unwrap(),
            None,
        )
        .unwrap();
        let c = Collect::default();
        let stats = scan_paths(&s, &FsOptions::new(vec![root.to_path_buf()]), &c);
        let mut hits: Vec<(String, u64)> = c
            .take()
            .into_iter()
            .map(|h| {
                let rel = std::path::Path::new(&h.path)
                    .strip_prefix(root)
                    .unwrap()
                    .display()
                    .to_string();
                (rel, h.finding.line)
            })
            .collect();
        hits.sort();
        assert_eq!(
            hits,
            vec![
                (".env".to_owned(), 1),
                ("blob.bin".to_owned(), 1),
                ("sub/code.py".to_owned(), 3)
            ]
        );
        assert_eq!(Stats::get(&stats.files), 4);
    }
}
