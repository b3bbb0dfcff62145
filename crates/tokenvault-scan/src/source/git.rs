//! Git sources: history (`scan --git`) and staged changes (`scan --staged`), by driving `git`.
//!
//! History scans every blob once. `git log --raw` (tree diffs only: cheap, no content diffs, no
//! rename detection) lists, oldest commit first, the blobs each commit introduced; the first
//! (commit, path) that introduced a blob owns it. `git cat-file --batch` then streams each of those
//! blobs exactly once to the scanning threads. A token that stays in a file across later edits is
//! found again in each later version of the file, so findings are de-duplicated by (path, rule,
//! value digest) keeping the oldest commit: a token added in one commit and removed in a later one
//! is reported once, with the commit that added it. This reads less than `git log -p` (which has
//! to inflate both sides of every change and diff them) and scans whole files, so line numbers
//! are exact.
//!
//! Staged changes are the added lines of `git diff --cached` (see [`super::diff`]).

use super::diff;
use super::stream::is_binary;
use super::{Commit, Hit, Reporter, Stats};
use crate::engine::{FnSink, Origin, Scanner};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run git ({0}); install git, or scan a directory without --git/--staged")]
    Spawn(std::io::Error),
    #[error("{dir} is not inside a git repository: {stderr}")]
    NotARepo { dir: String, stderr: String },
    #[error("git {what} failed: {stderr}")]
    Failed { what: String, stderr: String },
    #[error("reading from git {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// Which history to scan.
#[derive(Debug, Clone)]
pub struct GitOptions {
    /// The repository (any directory inside it).
    pub repo: PathBuf,
    /// Revisions for `git log` (default `--all`); `^REV` excludes.
    pub revs: Vec<String>,
    /// Only commits not reachable from this revision.
    pub since: Option<String>,
    /// Scanning threads; 0 means one per CPU.
    pub threads: usize,
}

impl GitOptions {
    pub fn new(repo: PathBuf) -> GitOptions {
        GitOptions {
            repo,
            revs: Vec::new(),
            since: None,
            threads: 0,
        }
    }
}

fn git(repo: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("-C").arg(repo).args(["-c", "core.quotePath=false"]);
    c
}

fn run(repo: &Path, args: &[&str], what: &str) -> Result<Vec<u8>, GitError> {
    let out = git(repo)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(GitError::Spawn)?;
    if !out.status.success() {
        return Err(GitError::Failed {
            what: what.to_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(out.stdout)
}

/// Checks that `repo` is inside a work tree or a bare repository.
pub fn check_repo(repo: &Path) -> Result<(), GitError> {
    let out = git(repo)
        .args(["rev-parse", "--git-dir"])
        .stdin(Stdio::null())
        .output()
        .map_err(GitError::Spawn)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(GitError::NotARepo {
            dir: repo.display().to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// A blob to scan and who introduced it.
struct Blob {
    commit: usize,
    path: Arc<str>,
}

/// Parses `git log --raw -z --format=%x01%H%x00%an%x00%ae%x00%aI` output.
fn parse_log(
    r: &mut dyn BufRead,
    on_blob: &mut dyn FnMut(&str),
) -> Result<(Vec<Arc<Commit>>, Vec<Blob>), std::io::Error> {
    let mut commits: Vec<Arc<Commit>> = Vec::new();
    let mut blobs = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut paths: HashMap<Vec<u8>, Arc<str>> = HashMap::new();
    let mut tok = Vec::new();
    let mut next = |tok: &mut Vec<u8>| -> Result<bool, std::io::Error> {
        tok.clear();
        let n = r.read_until(0, tok)?;
        if tok.last() == Some(&0) {
            tok.pop();
        }
        while tok.first() == Some(&b'\n') {
            tok.remove(0);
        }
        Ok(n > 0)
    };
    while next(&mut tok)? {
        if let Some(id) = tok.strip_prefix(b"\x01") {
            let id = String::from_utf8_lossy(id).into_owned();
            let mut fields = [String::new(), String::new(), String::new()];
            for f in &mut fields {
                next(&mut tok)?;
                *f = String::from_utf8_lossy(&tok).into_owned();
            }
            let [author, email, date] = fields;
            // `-m` repeats a merge's header once per parent.
            if commits.last().is_none_or(|c| c.id != id) {
                commits.push(Arc::new(Commit {
                    id,
                    author,
                    email,
                    date,
                }));
            }
            continue;
        }
        if tok.first() != Some(&b':') {
            continue;
        }
        // `:old_mode new_mode old_oid new_oid status`, then the path.
        let meta = String::from_utf8_lossy(&tok).into_owned();
        if !next(&mut tok)? {
            break;
        }
        let parts: Vec<&str> = meta.split(' ').collect();
        let (Some(new_mode), Some(new_oid), Some(status)) =
            (parts.get(1), parts.get(3), parts.get(4))
        else {
            continue;
        };
        if status.starts_with('D')
            || new_mode.starts_with("160")
            || new_oid.bytes().all(|b| b == b'0')
        {
            continue;
        }
        if commits.is_empty() || !seen.insert((*new_oid).to_owned()) {
            continue;
        }
        let path = paths
            .entry(tok.clone())
            .or_insert_with(|| Arc::from(String::from_utf8_lossy(&tok).as_ref()))
            .clone();
        on_blob(new_oid);
        blobs.push(Blob {
            commit: commits.len() - 1,
            path,
        });
    }
    Ok((commits, blobs))
}

/// A finding in a blob, before de-duplication.
struct Raw {
    blob: usize,
    finding: crate::engine::Finding,
}

fn spawn_failed(what: &str) -> GitError {
    GitError::Failed {
        what: what.into(),
        stderr: "could not connect its pipes".into(),
    }
}

/// Scans the history. Findings are reported after the scan, oldest commit first.
///
/// Three stages overlap: a thread parses `git log --raw` and feeds each new blob id to
/// `git cat-file --batch` as soon as it is seen; this thread reads the blobs back and hands them to
/// the scanning threads, which return the buffers for reuse.
pub fn scan_history(
    scanner: &Scanner,
    opts: &GitOptions,
    reporter: &dyn Reporter,
) -> Result<Stats, GitError> {
    check_repo(&opts.repo)?;
    let mut cmd = git(&opts.repo);
    cmd.args([
        "log",
        "--reverse",
        "--no-renames",
        "-m",
        "--raw",
        "-z",
        "--no-abbrev",
        "--format=%x01%H%x00%an%x00%ae%x00%aI",
    ]);
    if opts.revs.is_empty() {
        cmd.arg("--all");
    } else {
        cmd.args(&opts.revs);
    }
    if let Some(since) = &opts.since {
        cmd.arg(format!("^{since}"));
    }
    cmd.arg("--");
    let mut log = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(GitError::Spawn)?;
    let log_out = log.stdout.take().ok_or_else(|| spawn_failed("log"))?;
    let mut cat = git(&opts.repo)
        .args(["cat-file", "--batch", "--buffer"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(GitError::Spawn)?;
    let (Some(cat_in), Some(cat_out)) = (cat.stdin.take(), cat.stdout.take()) else {
        return Err(spawn_failed("cat-file"));
    };
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.threads
    };
    let stats = Stats::default();
    let raws: Mutex<Vec<Raw>> = Mutex::new(Vec::new());
    let (work_tx, work_rx) = crossbeam_channel::bounded::<(usize, Vec<u8>)>(threads * 4);
    let (pool_tx, pool_rx) = crossbeam_channel::unbounded::<Vec<u8>>();
    let (parsed, read_result) = std::thread::scope(|scope| {
        let parser = scope.spawn(move || {
            let mut feed = std::io::BufWriter::new(cat_in);
            let parsed = parse_log(
                &mut BufReader::with_capacity(1 << 16, log_out),
                &mut |oid| {
                    // A closed pipe means cat-file died; the reader reports it.
                    let _ = writeln!(feed, "{oid}");
                },
            );
            let _ = feed.flush();
            drop(feed);
            parsed
        });
        for _ in 0..threads {
            let work_rx = work_rx.clone();
            let pool_tx = pool_tx.clone();
            let (raws, stats) = (&raws, &stats);
            scope.spawn(move || {
                let mut scratch = scanner.scratch();
                let mut local = Vec::new();
                for (blob, data) in work_rx.iter() {
                    if is_binary(&data) {
                        Stats::add(&stats.binary_skipped, 1);
                    } else {
                        Stats::add(&stats.files, 1);
                        Stats::add(&stats.bytes, data.len() as u64);
                        let mut sink = FnSink(|finding| local.push(Raw { blob, finding }));
                        scanner.scan_with(&mut scratch, &data, Origin::default(), &mut sink);
                        reporter.progress(data.len() as u64);
                    }
                    let _ = pool_tx.send(data);
                }
                if let Ok(mut r) = raws.lock() {
                    r.append(&mut local);
                }
            });
        }
        drop(work_rx);
        drop(pool_tx);
        let read_result = read_blobs(cat_out, &work_tx, &pool_rx, reporter);
        drop(work_tx);
        let parsed = parser
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the git log parser panicked")));
        (parsed, read_result)
    });
    let _ = cat.wait();
    let out = log.wait_with_output().map_err(|source| GitError::Io {
        what: "log".into(),
        source,
    })?;
    if !out.status.success() {
        return Err(GitError::Failed {
            what: "log".into(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    let (commits, blobs) = parsed.map_err(|source| GitError::Io {
        what: "log".into(),
        source,
    })?;
    read_result?;

    // One report per (path, rule, value), from the oldest commit that has it.
    let mut raws = raws.into_inner().unwrap_or_default();
    raws.retain(|r| r.blob < blobs.len());
    raws.sort_by_key(|r| (blobs[r.blob].commit, r.blob, r.finding.start));
    let mut reported: HashSet<(Arc<str>, String, u64)> = HashSet::new();
    for raw in raws {
        let b = &blobs[raw.blob];
        if !reported.insert((
            b.path.clone(),
            raw.finding.rule.clone(),
            raw.finding.digest(),
        )) {
            continue;
        }
        Stats::add(&stats.findings, 1);
        reporter.hit(Hit {
            path: b.path.to_string(),
            commit: Some(commits[b.commit].clone()),
            finding: raw.finding,
        });
    }
    Ok(stats)
}

/// Reads `git cat-file --batch` output: blob `i` is the `i`-th id the parser fed it.
fn read_blobs(
    out: std::process::ChildStdout,
    work: &crossbeam_channel::Sender<(usize, Vec<u8>)>,
    pool: &crossbeam_channel::Receiver<Vec<u8>>,
    reporter: &dyn Reporter,
) -> Result<(), GitError> {
    let io = |source| GitError::Io {
        what: "cat-file".into(),
        source,
    };
    let mut r = BufReader::with_capacity(1 << 20, out);
    let mut header = String::new();
    let mut i = 0usize;
    loop {
        header.clear();
        if r.read_line(&mut header).map_err(io)? == 0 {
            return Ok(());
        }
        let index = i;
        i += 1;
        // `<oid> <type> <size>`, or `<oid> missing`.
        let mut parts = header.split_ascii_whitespace();
        let (Some(oid), Some(kind), Some(size)) = (parts.next(), parts.next(), parts.next()) else {
            reporter.error(format!("git cat-file: object {} is missing", header.trim()));
            continue;
        };
        let size: usize = size.parse().unwrap_or(0);
        let mut data = pool.try_recv().unwrap_or_default();
        data.clear();
        data.resize(size, 0);
        r.read_exact(&mut data).map_err(io)?;
        let mut nl = [0u8; 1];
        r.read_exact(&mut nl).map_err(io)?;
        if kind != "blob" {
            reporter.error(format!("git cat-file: {oid} is a {kind}, not a blob"));
            continue;
        }
        if work.send((index, data)).is_err() {
            return Ok(());
        }
    }
}

/// Scans the added lines of the staged changes (`git diff --cached`).
pub fn scan_staged(
    scanner: &Scanner,
    repo: &Path,
    reporter: &dyn Reporter,
) -> Result<Stats, GitError> {
    check_repo(repo)?;
    let diff = run(
        repo,
        &[
            "diff",
            "--cached",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-renames",
            "--diff-filter=d",
            "--text",
        ],
        "diff --cached",
    )?;
    let stats = Stats::default();
    let mut scratch = scanner.scratch();
    for file in diff::added_lines(&diff) {
        Stats::add(&stats.files, 1);
        Stats::add(&stats.bytes, file.text.len() as u64);
        let mut found = Vec::new();
        scanner.scan_with(&mut scratch, &file.text, Origin::default(), &mut found);
        for mut finding in found {
            finding.line = file.file_line(finding.line);
            Stats::add(&stats.findings, 1);
            reporter.hit(Hit {
                path: file.path.clone(),
                commit: None,
                finding,
            });
        }
    }
    Ok(stats)
}
