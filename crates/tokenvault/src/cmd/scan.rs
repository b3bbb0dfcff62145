//! `tokenvault scan`: find leaked tokens in files, stdin, git history or staged changes.
//!
//! The rules come from the provider catalogue (the user's config included) plus the scanner's
//! generic rules; the exact-value matcher gets the vault's values when the vault opens without a
//! prompt (a keychain, an unlocked file vault, or a passphrase in the environment). If it cannot, a
//! warning says so once and the scan goes on with rules only: a pre-commit hook must not block on a
//! passphrase. Findings are printed masked, as they are found in text mode; JSON and SARIF are
//! written whole at the end. Exit 1 when anything is found, 0 when nothing is, 2 on errors.
//!
//! `--home` reads the catalogue of places instead (`rules/places.toml`, through
//! `services::home_scan`): each finding is shown with its place and its fix, and `--fix` redacts
//! histories, logs, transcripts and notebooks in place, moves the credential files' tokens into
//! the vault behind the route each tool will use (`services::home_creds` and `home_scan`), and
//! prints the steps for the rest; `--dry-run` prints the plan instead.

use crate::cli::{ScanArgs, ScanFormat};
use crate::context::{Ctx, Outcome};
use crate::printer::{BrokenPipe, Printer};
use crate::services::home_scan;
use anyhow::{Context, Result};
use serde_json::json;
use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokenvault_core::places::Fix;
use tokenvault_scan::source::{self, fs::FsOptions, git::GitOptions, Hit, Reporter, Stats};
use tokenvault_scan::{report, Scanner};

/// Prints or collects findings as sources report them, and draws the progress line.
struct Out<'a> {
    printer: &'a Printer,
    format: ScanFormat,
    baseline: HashSet<String>,
    collected: Mutex<Vec<Hit>>,
    found: AtomicU64,
    suppressed: AtomicU64,
    errors: Mutex<Vec<String>>,
    broken_pipe: AtomicBool,
    progress: Option<Progress>,
    /// Findings in commits (`--git`): (commit, finding), for the rotate advice of pushed ones.
    in_commits: Mutex<Vec<(String, tokenvault_scan::Finding)>>,
}

/// A one-line progress display on stderr, only when stderr is a terminal and the scan runs long.
struct Progress {
    start: Instant,
    bytes: AtomicU64,
    last_draw_ms: AtomicU64,
    drawn: AtomicBool,
}

impl Progress {
    fn add(&self, n: u64, found: u64) {
        let total = self.bytes.fetch_add(n, Ordering::Relaxed) + n;
        let elapsed = self.start.elapsed();
        let ms = elapsed.as_millis() as u64;
        let last = self.last_draw_ms.load(Ordering::Relaxed);
        // Nothing for quick scans; then at most five redraws a second.
        if ms < 1000 || ms < last + 200 {
            return;
        }
        if self
            .last_draw_ms
            .compare_exchange(last, ms, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let mb = total as f64 / 1e6;
        // The printer owns stderr for messages; this transient line is erased before any message.
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2Kscanning: {mb:.0} MB, {:.0} MB/s, {found} found",
            mb / elapsed.as_secs_f64().max(0.001)
        );
        let _ = err.flush();
        self.drawn.store(true, Ordering::Relaxed);
    }

    fn clear(&self) {
        if self.drawn.swap(false, Ordering::Relaxed) {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

impl Reporter for Out<'_> {
    fn hit(&self, hit: Hit) {
        if !self.baseline.is_empty() && self.baseline.contains(&report::fingerprint(&hit)) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.found.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = &hit.commit {
            if let Ok(mut v) = self.in_commits.lock() {
                v.push((c.id.clone(), hit.finding.clone()));
            }
        }
        match self.format {
            ScanFormat::Text => {
                if self.broken_pipe.load(Ordering::Relaxed) {
                    return;
                }
                if let Some(p) = &self.progress {
                    p.clear();
                }
                if let Err(e) = self.printer.line(&report::text_line(&hit)) {
                    if e.downcast_ref::<BrokenPipe>().is_some() {
                        self.broken_pipe.store(true, Ordering::Relaxed);
                    }
                }
            }
            ScanFormat::Json | ScanFormat::Sarif => {
                if let Ok(mut c) = self.collected.lock() {
                    c.push(hit);
                }
            }
        }
    }

    fn error(&self, message: String) {
        if let Ok(mut e) = self.errors.lock() {
            e.push(message);
        }
    }

    fn progress(&self, bytes: u64) {
        if let Some(p) = &self.progress {
            p.add(bytes, self.found.load(Ordering::Relaxed));
        }
    }
}

fn build_scanner(ctx: &mut Ctx, args: &ScanArgs) -> Result<Scanner> {
    let built = home_scan::build_scanner(ctx, !args.no_vault)?;
    if built.skipped > 0 {
        ctx.printer.note(&format!(
            "{} shorter than {} characters {} not looked for",
            tokenvault_core::words::count(built.skipped, "vault value"),
            tokenvault_scan::exact::MIN_LEN,
            if built.skipped == 1 { "is" } else { "are" }
        ));
    }
    if let Some(e) = built.warning {
        let mut msg =
            format!("scanning with rules only: the vault's values are not available ({e:#})");
        if let Some(h) = crate::error::hint_of(&e) {
            msg.push_str(&format!("; {h}"));
        }
        ctx.printer.warning(&msg);
    }
    Ok(built.scanner)
}

fn read_baseline(path: &Path) -> Result<HashSet<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the baseline {}", path.display()))?;
    report::baseline_fingerprints(&text).with_context(|| format!("baseline {}", path.display()))
}

pub fn run(ctx: &mut Ctx, args: &ScanArgs) -> Result<Outcome> {
    let baseline = match &args.baseline {
        Some(p) => read_baseline(p)?,
        None => HashSet::new(),
    };
    let scanner = build_scanner(ctx, args)?;
    if args.home {
        return home(ctx, args, &scanner);
    }
    let printer = ctx.printer.clone();
    let interactive = std::io::stderr().is_terminal() && !ctx.settings.global.quiet;
    // The global --json means --format json (an explicit sarif stays sarif).
    let format = match args.format {
        ScanFormat::Text if ctx.settings.global.json => ScanFormat::Json,
        f => f,
    };
    let out = Out {
        printer: &printer,
        format,
        baseline,
        collected: Mutex::new(Vec::new()),
        found: AtomicU64::new(0),
        suppressed: AtomicU64::new(0),
        errors: Mutex::new(Vec::new()),
        broken_pipe: AtomicBool::new(false),
        in_commits: Mutex::new(Vec::new()),
        progress: interactive.then(|| Progress {
            start: Instant::now(),
            bytes: AtomicU64::new(0),
            last_draw_ms: AtomicU64::new(0),
            drawn: AtomicBool::new(false),
        }),
    };
    let started = Instant::now();
    let threads = args.threads.unwrap_or(0);
    let first = args
        .paths
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    let mut ignored = Vec::new();
    let stats = if args.git {
        let mut opts = GitOptions::new(first.clone());
        opts.since = args.since.clone();
        opts.revs = args.revs.clone();
        opts.threads = threads;
        source::git::scan_history(&scanner, &opts, &out)?
    } else if args.staged {
        source::git::scan_staged(&scanner, &first, &out)?
    } else if args.paths.iter().any(|p| p.as_os_str() == "-") {
        if args.paths.len() > 1 {
            anyhow::bail!("'-' (standard input) cannot be combined with other paths");
        }
        scan_stdin(&scanner, &out)?
    } else {
        let mut opts = FsOptions::new(if args.paths.is_empty() {
            vec![first.clone()]
        } else {
            args.paths.clone()
        });
        opts.threads = threads;
        opts.ignore_files = !args.no_ignore;
        for p in &opts.paths {
            if !p.exists() {
                anyhow::bail!("cannot scan {}: no such file or directory", p.display());
            }
        }
        let stats = source::fs::scan_paths(&scanner, &opts, &out);
        let scanned =
            std::mem::take(&mut *stats.secret_named.lock().unwrap_or_else(|p| p.into_inner()));
        ignored = source::fs::ignored_secret_files(&scanner, &opts, &scanned);
        stats
    };
    if let Some(p) = &out.progress {
        p.clear();
    }
    if out.broken_pipe.load(Ordering::Relaxed) {
        return Err(BrokenPipe.into());
    }
    let mut hits = out.collected.into_inner().unwrap_or_default();
    hits.sort_by(|a, b| {
        (&a.path, a.finding.line, a.finding.column).cmp(&(
            &b.path,
            b.finding.line,
            b.finding.column,
        ))
    });
    match format {
        ScanFormat::Text => {}
        ScanFormat::Json => printer.json(&report::json(&hits))?,
        ScanFormat::Sarif => printer.json(&report::sarif(&hits, env!("CARGO_PKG_VERSION")))?,
    }
    let errors = out.errors.into_inner().unwrap_or_default();
    for e in &errors {
        printer.warning(e);
    }
    let found = out.found.load(Ordering::Relaxed);
    let suppressed = out.suppressed.load(Ordering::Relaxed);
    let secs = started
        .elapsed()
        .max(Duration::from_millis(1))
        .as_secs_f64();
    let bytes = Stats::get(&stats.bytes);
    let mut summary = format!(
        "{} in {}, {:.1} MB scanned in {secs:.2}s ({:.0} MB/s)",
        tokenvault_core::words::count(usize::try_from(found).unwrap_or(usize::MAX), "finding"),
        tokenvault_core::words::count(
            usize::try_from(Stats::get(&stats.files)).unwrap_or(usize::MAX),
            "file",
        ),
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / secs
    );
    if suppressed > 0 {
        summary.push_str(&format!("; {suppressed} known from the baseline"));
    }
    if scanner.exact_values() > 0 {
        summary.push_str(&format!(
            "; {} looked for",
            tokenvault_core::words::count(scanner.exact_values(), "vault value")
        ));
    }
    printer.note(&summary);
    report_ignored(&printer, &ignored);
    if args.git {
        // A token in a commit that a remote branch holds has left the machine: removing it here
        // is not enough.
        let in_commits =
            std::mem::take(&mut *out.in_commits.lock().unwrap_or_else(|p| p.into_inner()));
        let mut commits: Vec<String> = in_commits.iter().map(|(c, _)| c.clone()).collect();
        commits.sort();
        commits.dedup();
        let pushed = home_scan::pushed_commits(&first, &commits, 200);
        let mut said = HashSet::new();
        for (c, f) in &in_commits {
            if !pushed.contains(c) {
                continue;
            }
            let line = home_scan::rotate_line(
                "a commit that holds it was pushed, so it has left this machine",
                f,
                &ctx.settings.catalogue,
            );
            if said.insert(line.clone()) {
                printer.hint(&line);
            }
        }
    }
    if found > 0 {
        printer.hint(
            "remove each token from the file (keep it in the vault: `tokenvault set ITEM`, then reference it), \
             and rotate it at the provider if it was ever pushed or shared; a false positive can be \
             marked with `tokenvault:allow` on its line",
        );
        return Ok(Outcome::Negative);
    }
    if !errors.is_empty() {
        return Ok(Outcome::Code(2));
    }
    Ok(Outcome::Success)
}

fn scan_stdin(scanner: &Scanner, out: &Out<'_>) -> Result<Stats> {
    let stats = Stats::default();
    let mut scratch = scanner.scratch();
    let mut buf = Vec::new();
    let mut sink = tokenvault_scan::engine::FnSink(|finding| {
        Stats::add(&stats.findings, 1);
        out.hit(Hit {
            path: "-".into(),
            commit: None,
            finding,
        })
    });
    let mut stdin = std::io::stdin().lock();
    let scanned =
        source::stream::scan_reader(scanner, &mut scratch, &mut stdin, &mut buf, &mut sink)
            .context("reading standard input")?;
    Stats::add(&stats.files, 1);
    Stats::add(&stats.bytes, scanned.bytes);
    Ok(stats)
}

/// Git-ignored env and credential files are not scanned (they are ignored on purpose, and
/// flagging every `.env` would drown the rest), but are named when they hold tokens: they are not
/// committed, yet plaintext on disk.
fn report_ignored(printer: &crate::printer::Printer, ignored: &[(String, u64)]) {
    if ignored.is_empty() {
        return;
    }
    let holding: Vec<String> = ignored
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(p, n)| format!("{p} ({n})"))
        .collect();
    let n = ignored.len();
    let files = format!(
        "{n} git-ignored env or credential file{}",
        if n == 1 { " was" } else { "s were" }
    );
    if holding.is_empty() {
        printer.note(&format!("{files} not scanned; none of them holds a token"));
    } else {
        printer.note(&format!(
            "{files} not scanned; {} of them {} tokens: {} — not committed, but plaintext on disk",
            holding.len(),
            if holding.len() == 1 { "holds" } else { "hold" },
            holding.join(", ")
        ));
        printer.hint(
            "move them into the vault (`tokenvault import dotenv FILE --rewrite`), or see each finding with `tokenvault scan --no-ignore`",
        );
    }
}

/// `scan --home`: the catalogue's places under the home directory, each finding with its place
/// and its fix; with `--fix`, redaction in place where the place allows it, steps for the rest.
fn home(ctx: &mut Ctx, args: &ScanArgs, scanner: &Scanner) -> Result<Outcome> {
    let printer = ctx.printer.clone();
    let dir = home_scan::home_dir()?;
    let places = tokenvault_core::places::Places::builtin();
    let interactive = std::io::stderr().is_terminal() && !ctx.settings.global.quiet;
    let format = match args.format {
        ScanFormat::Text if ctx.settings.global.json => ScanFormat::Json,
        f => f,
    };
    let progress = interactive.then(|| Progress {
        start: Instant::now(),
        bytes: AtomicU64::new(0),
        last_draw_ms: AtomicU64::new(0),
        drawn: AtomicBool::new(false),
    });
    let found_so_far = AtomicU64::new(0);
    let started = Instant::now();
    let scan = home_scan::scan(
        &dir,
        &places,
        home_scan::this_os(),
        scanner,
        args.threads.unwrap_or(0),
        &|bytes, n| {
            let total = found_so_far.fetch_add(n, Ordering::Relaxed) + n;
            if let Some(p) = &progress {
                p.add(bytes, total);
            }
        },
    );
    if let Some(p) = &progress {
        p.clear();
    }
    let secs = started
        .elapsed()
        .max(Duration::from_millis(1))
        .as_secs_f64();

    let fixes = if args.fix {
        home_scan::apply_fixes(ctx, &scan, scanner, args.dry_run)
    } else {
        home_scan::Fixes::default()
    };
    let is_fixed = |f: &home_scan::HomeFinding| fixes.fixed(f);
    match format {
        ScanFormat::Text => {
            for f in &scan.findings {
                let place = &scan.places[f.place];
                let hit = Hit {
                    path: f.shown.clone(),
                    commit: None,
                    finding: f.finding.clone(),
                };
                let mut line = report::text_line(&hit);
                line.push_str(&format!("  [{}; fix: {}", place.name, place.fix.as_str()));
                if is_fixed(f) {
                    line.push_str(if place.fix == Fix::Redact {
                        ", redacted"
                    } else {
                        ", moved"
                    });
                }
                line.push(']');
                printer.line(&line)?;
            }
        }
        ScanFormat::Json => {
            let items: Vec<serde_json::Value> = scan
                .findings
                .iter()
                .map(|f| {
                    let place = &scan.places[f.place];
                    let mut v = report::json_hit(&Hit {
                        path: f.shown.clone(),
                        commit: None,
                        finding: f.finding.clone(),
                    });
                    if let Some(obj) = v.as_object_mut() {
                        obj.insert("place".into(), json!(place.id));
                        obj.insert("place_name".into(), json!(place.name));
                        obj.insert("place_kind".into(), json!(place.kind.as_str()));
                        obj.insert("fix".into(), json!(place.fix.as_str()));
                        obj.insert("leaves_machine".into(), json!(place.leaves_machine));
                        obj.insert("fixed".into(), json!(is_fixed(f)));
                        obj.insert(
                            "advice".into(),
                            json!(home_scan::advice(
                                place,
                                &f.finding,
                                &ctx.settings.catalogue
                            )),
                        );
                    }
                    v
                })
                .collect();
            printer.json(&serde_json::Value::Array(items))?;
        }
        ScanFormat::Sarif => {
            let hits: Vec<Hit> = scan
                .findings
                .iter()
                .map(|f| Hit {
                    path: f.shown.clone(),
                    commit: None,
                    finding: f.finding.clone(),
                })
                .collect();
            printer.json(&report::sarif(&hits, env!("CARGO_PKG_VERSION")))?;
        }
    }
    for e in &scan.errors {
        printer.warning(e);
    }
    for n in &fixes.notes {
        printer.note(n);
    }
    for e in &fixes.errors {
        printer.warning(e);
    }

    let places_hit: HashSet<usize> = scan.findings.iter().map(|f| f.place).collect();
    printer.note(&format!(
        "{} in {} ({} read, {:.1} MB) in {secs:.2}s{}",
        tokenvault_core::words::count(scan.findings.len(), "finding"),
        tokenvault_core::words::count(places_hit.len(), "place"),
        tokenvault_core::words::count(usize::try_from(scan.files).unwrap_or(usize::MAX), "file"),
        scan.bytes as f64 / 1e6,
        if scanner.exact_values() > 0 {
            format!(
                "; {} looked for",
                tokenvault_core::words::count(scanner.exact_values(), "vault value")
            )
        } else {
            String::new()
        }
    ));
    let kinds: Vec<String> = home_scan::by_kind(&scan)
        .iter()
        .map(|(k, st)| {
            format!(
                "{} {} ({:.1} MB, {:.2}s)",
                k.as_str(),
                st.files,
                st.bytes as f64 / 1e6,
                st.elapsed.as_secs_f64()
            )
        })
        .collect();
    if !kinds.is_empty() {
        printer.note(&format!(
            "files read by kind of place: {}",
            kinds.join(", ")
        ));
    }
    if format == ScanFormat::Text {
        // One hint per place: what fixes its findings.
        let mut shown_places: Vec<usize> = places_hit.into_iter().collect();
        shown_places.sort();
        for i in shown_places {
            let place = &scan.places[i];
            let mut steps: Vec<String> = Vec::new();
            for f in scan.findings.iter().filter(|f| f.place == i) {
                if args.fix && is_fixed(f) && !place.leaves_machine {
                    continue;
                }
                for a in home_scan::advice(place, &f.finding, &ctx.settings.catalogue) {
                    if args.fix && is_fixed(f) && a.contains("--fix") {
                        continue;
                    }
                    if !steps.contains(&a) {
                        steps.push(a);
                    }
                }
            }
            if !steps.is_empty() {
                printer.hint(&format!("{}: {}", place.name, steps.join("; ")));
            }
        }
    }
    if fixes.history_redacted {
        printer.note(
            "shells that are still open keep their history in memory and write it back when they exit: \
             close them and start new ones (in bash, `history -c` first)",
        );
    }
    let unresolved = scan
        .findings
        .iter()
        .filter(|f| !is_fixed(f) || scan.places[f.place].leaves_machine)
        .count();
    if unresolved > 0 {
        return Ok(Outcome::Negative);
    }
    if !scan.errors.is_empty() || !fixes.errors.is_empty() {
        return Ok(Outcome::Code(2));
    }
    Ok(Outcome::Success)
}
