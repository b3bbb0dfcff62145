//! Git sources: history (`scan --git`) and staged changes (`scan --staged`), by driving `git`.
//!
//! History scans every blob once. `git log --raw` (tree diffs only: cheap, no content diffs, no
//! rename detection) lists, oldest commit first, the blobs each commit introduced; the first
//! (commit, path) that introduced a blob owns it. `git cat-file --batch` then streams each of those
//! blobs exactly once to the scanning threads (a blob larger than [`stream::CHUNK`] is scanned in
//! windows as it is read, by the thread that reads it, so no blob is ever held whole: memory stays
//! bounded whatever the repository holds). Every blob is scanned, binary-looking or not, and one
//! that starts with a UTF-16 byte order mark is decoded first (see [`stream`]). Inflating the blobs is most of git's work and one
//! process uses one core, so one `cat-file` runs per CPU, each given all versions of its share of
//! the paths; the parser tells each process's reader which blob every answer is. A token that stays in a file across later edits is
//! found again in each later version of the file, so findings are de-duplicated by (path, rule,
//! value digest) keeping the oldest commit: a token added in one commit and removed in a later one
//! is reported once, with the commit that added it. This reads less than `git log -p` (which has
//! to inflate both sides of every change and diff them) and scans whole files, so line numbers
//! are exact.
//!
//! Staged changes are the added lines of `git diff --cached` (see [`super::diff`]).

use super::stream;
use super::{diff, Commit, Hit, Reporter, Stats};
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
    /// `git cat-file` processes inflating blobs side by side; 0 means one per CPU (at most
    /// [`MAX_CAT_FILES`]). Inflating blobs is most of the work, and one process uses one core.
    pub cat_files: usize,
}

/// The most `git cat-file` processes a history scan starts.
pub const MAX_CAT_FILES: usize = 4;

impl GitOptions {
    pub fn new(repo: PathBuf) -> GitOptions {
        GitOptions {
            repo,
            revs: Vec::new(),
            since: None,
            threads: 0,
            cat_files: 0,
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
    on_blob: &mut dyn FnMut(&str, &[u8]),
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
        on_blob(new_oid, &tok);
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
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.threads
    };
    let cat_files = match opts.cat_files {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    }
    .clamp(1, MAX_CAT_FILES);
    let mut cats = Vec::with_capacity(cat_files);
    let mut feeds = Vec::with_capacity(cat_files);
    let mut outs = Vec::with_capacity(cat_files);
    for _ in 0..cat_files {
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
        // Each process learns, in order, which blob each object it answers is.
        let (index_tx, index_rx) = crossbeam_channel::unbounded::<usize>();
        cats.push(cat);
        feeds.push((std::io::BufWriter::new(cat_in), index_tx));
        outs.push((cat_out, index_rx));
    }
    let stats = Stats::default();
    let raws: Mutex<Vec<Raw>> = Mutex::new(Vec::new());
    let (work_tx, work_rx) = crossbeam_channel::bounded::<(usize, Vec<u8>)>(threads * 4);
    let (pool_tx, pool_rx) = crossbeam_channel::unbounded::<Vec<u8>>();
    let (parsed, read_result) = std::thread::scope(|scope| {
        let parser = scope.spawn(move || {
            let mut feeds = feeds;
            let mut next_index = 0usize;
            let parsed = parse_log(
                &mut BufReader::with_capacity(1 << 16, log_out),
                &mut |oid, path| {
                    // All versions of a path go to one process: its delta base cache then holds
                    // the bases that the next version is a delta against.
                    let (feed, index_tx) = &mut feeds[path_slot(path, cat_files)];
                    let _ = index_tx.send(next_index);
                    next_index += 1;
                    // A closed pipe means cat-file died; the reader reports it.
                    let _ = writeln!(feed, "{oid}");
                },
            );
            for (mut feed, _) in feeds {
                let _ = feed.flush();
            }
            parsed
        });
        for _ in 0..threads {
            let work_rx = work_rx.clone();
            let pool_tx = pool_tx.clone();
            let (raws, stats) = (&raws, &stats);
            scope.spawn(move || {
                let mut scratch = scanner.scratch();
                let mut decoded = Vec::new();
                let mut local = Vec::new();
                for (blob, data) in work_rx.iter() {
                    let mut sink = FnSink(|finding| local.push(Raw { blob, finding }));
                    let scanned =
                        stream::scan_bytes(scanner, &mut scratch, &data, &mut decoded, &mut sink);
                    Stats::add(&stats.files, 1);
                    Stats::add(&stats.bytes, scanned.bytes);
                    reporter.progress(scanned.bytes);
                    let _ = pool_tx.send(data);
                }
                if let Ok(mut r) = raws.lock() {
                    r.append(&mut local);
                }
            });
        }
        drop(work_rx);
        drop(pool_tx);
        let readers: Vec<_> = outs
            .into_iter()
            .map(|(out, index_rx)| {
                let (work_tx, pool_rx) = (work_tx.clone(), pool_rx.clone());
                let big = Big {
                    scanner,
                    raws: &raws,
                    stats: &stats,
                };
                scope.spawn(move || read_blobs(out, &index_rx, &work_tx, &pool_rx, &big, reporter))
            })
            .collect();
        drop(work_tx);
        let mut read_result = Ok(());
        for reader in readers {
            let r = reader.join().unwrap_or_else(|_| {
                Err(GitError::Failed {
                    what: "cat-file".into(),
                    stderr: "the blob reader panicked".into(),
                })
            });
            if read_result.is_ok() {
                read_result = r;
            }
        }
        let parsed = parser
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the git log parser panicked")));
        (parsed, read_result)
    });
    for mut cat in cats {
        let _ = cat.wait();
    }
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

/// Which `git cat-file` process reads the blobs of `path`.
fn path_slot(path: &[u8], slots: usize) -> usize {
    // FNV-1a: stable and cheap; any spread will do.
    let h = path.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    (h % slots as u64) as usize
}

/// What a blob reader needs to scan a large blob itself, as it reads it.
struct Big<'a> {
    scanner: &'a Scanner,
    raws: &'a Mutex<Vec<Raw>>,
    stats: &'a Stats,
}

/// Reads one `git cat-file --batch` output: its `i`-th object is the blob whose index `indices`
/// yields `i`-th. Blobs up to [`stream::CHUNK`] bytes go whole to the scanning threads; larger ones
/// are scanned here in windows as they are read.
fn read_blobs(
    out: std::process::ChildStdout,
    indices: &crossbeam_channel::Receiver<usize>,
    work: &crossbeam_channel::Sender<(usize, Vec<u8>)>,
    pool: &crossbeam_channel::Receiver<Vec<u8>>,
    big: &Big<'_>,
    reporter: &dyn Reporter,
) -> Result<(), GitError> {
    let io = |source| GitError::Io {
        what: "cat-file".into(),
        source,
    };
    let mut r = BufReader::with_capacity(1 << 20, out);
    let mut header = String::new();
    // For large blobs, made on first use.
    let mut scratch = None;
    let mut window = Vec::new();
    loop {
        header.clear();
        if r.read_line(&mut header).map_err(io)? == 0 {
            return Ok(());
        }
        let Ok(index) = indices.recv() else {
            return Err(GitError::Failed {
                what: "cat-file".into(),
                stderr: "it answered more objects than it was asked for".into(),
            });
        };
        // `<oid> <type> <size>`, or `<oid> missing`.
        let mut parts = header.split_ascii_whitespace();
        let (Some(oid), Some(kind), Some(size)) = (parts.next(), parts.next(), parts.next()) else {
            reporter.error(format!("git cat-file: object {} is missing", header.trim()));
            continue;
        };
        let size: u64 = size.parse().unwrap_or(0);
        if kind != "blob" {
            std::io::copy(&mut (&mut r).take(size + 1), &mut std::io::sink()).map_err(io)?;
            reporter.error(format!("git cat-file: {oid} is a {kind}, not a blob"));
            continue;
        }
        if size > stream::CHUNK as u64 {
            let mut local = Vec::new();
            let mut sink = FnSink(|finding| {
                local.push(Raw {
                    blob: index,
                    finding,
                })
            });
            let mut blob = (&mut r).take(size);
            let scanned = stream::scan_reader(
                big.scanner,
                scratch.get_or_insert_with(|| big.scanner.scratch()),
                &mut blob,
                &mut window,
                &mut sink,
            )
            .map_err(io)?;
            // The decoder stops at the end of its text; the object ends where git said it does.
            std::io::copy(&mut blob, &mut std::io::sink()).map_err(io)?;
            if blob.limit() > 0 {
                return Err(io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            let mut nl = [0u8; 1];
            r.read_exact(&mut nl).map_err(io)?;
            Stats::add(&big.stats.files, 1);
            Stats::add(&big.stats.bytes, scanned.bytes);
            reporter.progress(scanned.bytes);
            if let Ok(mut raws) = big.raws.lock() {
                raws.append(&mut local);
            }
            continue;
        }
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let mut data = pool.try_recv().unwrap_or_default();
        data.clear();
        data.resize(size, 0);
        r.read_exact(&mut data).map_err(io)?;
        let mut nl = [0u8; 1];
        r.read_exact(&mut nl).map_err(io)?;
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;
    use crate::source::Collect;
    use std::collections::BTreeMap;
    use tokenvault_core::Catalogue;

    /// A deterministic generator, so a failure can be replayed.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % n as u64) as usize
        }

        fn token(&mut self) -> String {
            const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
            let body: String = (0..34)
                .map(|_| ALNUM[self.next(ALNUM.len())] as char)
                .collect();
            format!("hf_{body}")
        }
    }

    /// Where a planted token must be reported: (commit id, path, line).
    type Expected = BTreeMap<String, (String, String, u64)>;

    /// A repository of `commits` commits over 30 files, built with `git fast-import`. Every 9th
    /// commit adds a token to some file; now and then a later commit removes an earlier token.
    fn history(dir: &Path, commits: usize) -> Expected {
        let ok = |c: &mut Command| assert!(c.status().unwrap().success());
        ok(Command::new("git").args(["init", "-q"]).arg(dir));
        let mut rng = Lcg(7);
        let mut files: Vec<Vec<String>> = (0..30)
            .map(|f| (0..20).map(|l| format!("// file {f} line {l}")).collect())
            .collect();
        let mut stream = Vec::new();
        let mut planted: Vec<(usize, String, usize, usize)> = Vec::new(); // mark, token, file, line
        for c in 0..commits {
            let mut changed = vec![rng.next(files.len()), rng.next(files.len())];
            for &f in &changed {
                let at = rng.next(files[f].len() + 1);
                files[f].insert(at, format!("// change {c}"));
            }
            if c % 9 == 4 {
                let (f, token) = (rng.next(files.len()), rng.token());
                let at = rng.next(files[f].len() + 1);
                files[f].insert(at, format!("HF_TOKEN = \"{token}\""));
                planted.push((c + 1, token, f, at + 1));
                changed.push(f);
            }
            if c % 13 == 0 && planted.len() > 1 {
                let (_, token, f, _) = &planted[rng.next(planted.len() - 1)];
                let line = format!("HF_TOKEN = \"{token}\"");
                files[*f].retain(|l| *l != line);
                changed.push(*f);
            }
            changed.sort_unstable();
            changed.dedup();
            let msg = format!("commit {c}");
            stream.extend_from_slice(
                format!(
                    "commit refs/heads/main\nmark :{}\ncommitter T <t@example.com> {} +0000\ndata {}\n{msg}\n",
                    c + 1,
                    1_600_000_000 + c,
                    msg.len()
                )
                .as_bytes(),
            );
            if c > 0 {
                stream.extend_from_slice(format!("from :{c}\n").as_bytes());
            }
            for f in changed {
                let data = files[f].join("\n") + "\n";
                stream.extend_from_slice(
                    format!("M 100644 inline src/f{f}.py\ndata {}\n{data}\n", data.len())
                        .as_bytes(),
                );
            }
        }
        stream.extend_from_slice(b"done\n");
        let marks = dir.join("marks");
        let mut fi = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["fast-import", "--quiet", "--done"])
            .arg(format!("--export-marks={}", marks.display()))
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        fi.stdin.take().unwrap().write_all(&stream).unwrap();
        assert!(fi.wait().unwrap().success());
        let marks: HashMap<String, String> = std::fs::read_to_string(marks)
            .unwrap()
            .lines()
            .map(|l| {
                let (m, id) = l.split_once(' ').unwrap();
                (m.to_owned(), id.to_owned())
            })
            .collect();
        planted
            .into_iter()
            .map(|(mark, token, f, line)| {
                let commit = marks[&format!(":{mark}")].clone();
                (token, (commit, format!("src/f{f}.py"), line as u64))
            })
            .collect()
    }

    fn scan(dir: &Path, cat_files: usize, threads: usize) -> Vec<(String, String, u64, String)> {
        let scanner = Scanner::new(
            RuleSet::from_catalogue(&Catalogue::builtin()).unwrap(),
            None,
        )
        .unwrap();
        let mut opts = GitOptions::new(dir.to_path_buf());
        opts.cat_files = cat_files;
        opts.threads = threads;
        let c = Collect::default();
        scan_history(&scanner, &opts, &c).unwrap();
        assert!(c.errors.lock().unwrap().is_empty());
        c.take()
            .into_iter()
            .map(|h| {
                let commit = h.commit.unwrap().id.clone();
                (commit, h.path, h.finding.line, h.finding.masked)
            })
            .collect()
    }

    #[test]
    fn history_findings_do_not_depend_on_how_many_cat_files_read_the_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let expected = history(dir.path(), 600);
        assert!(expected.len() > 60);
        let one = scan(dir.path(), 1, 1);
        // Each planted token once, with the commit that added it, even when a later commit
        // removed it; nothing else.
        assert_eq!(one.len(), expected.len(), "{one:?}");
        for (token, (commit, path, line)) in &expected {
            let masked = tokenvault_core::mask(token, Some("hf_"));
            assert!(
                one.contains(&(commit.clone(), path.clone(), *line, masked)),
                "{token} not reported at {commit} {path}:{line}"
            );
        }
        for (cat_files, threads) in [(2, 2), (3, 1), (4, 3)] {
            assert_eq!(
                scan(dir.path(), cat_files, threads),
                one,
                "{cat_files} cat-files"
            );
        }
    }
}
