//! Every plaintext copy on this machine: the home directory read place by place (the catalogue
//! of `rules/places.toml`), scanned with the provider rules and the vault's exact values, and the
//! fix that fits each place. Shared by `scan --home` (which shows and fixes) and `doctor` (which
//! counts). Data only: nothing here prints or prompts; progress comes back through a callback.
//!
//! Redaction rewrites a history, log or transcript file with each finding's bytes replaced by
//! [`REDACTED`] and every other byte kept, atomically, with the file's mode (and owner, where we
//! may set it). No backup is kept: a backup would be one more plaintext copy. The rewrite is
//! checked before it replaces the file: the new bytes are scanned again and must hold none of the
//! values that were found.

use crate::context::Ctx;
use crate::mcp::files as mcp_files;
use crate::vault::Vault;
use anyhow::{Context, Result};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokenvault_core::places::{Fix, Os, Pattern, Place, PlaceKind, Places};
use tokenvault_core::Catalogue;
use tokenvault_scan::engine::FnSink;
use tokenvault_scan::source::home::{self, Target};
use tokenvault_scan::source::stream;
use tokenvault_scan::{ExactMatcher, ExactValue, Finding, RuleSet, Scanner};
use tokenvault_store::Slot;
use zeroize::Zeroizing;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[redacted-by-tokenvault]";

/// The vault's values (secret fields, current slot), when the vault opens without asking anyone
/// anything.
pub fn vault_values(vault: &Vault<'_>) -> Result<Vec<ExactValue>> {
    let index = vault.load_index()?;
    let keys: Vec<_> = vault
        .keys(&index)?
        .into_iter()
        .filter(|k| k.slot == Slot::Current)
        .filter(|k| {
            // Identifiers (a region, a bucket) are not secrets: matching them would flag every config.
            vault
                .provider_of(&index, k.item.as_str(), None)
                .and_then(|p| p.field(k.field.as_str()))
                .is_none_or(|f| f.secret)
        })
        .collect();
    let values = vault.store().get_many(&keys)?;
    let mut out = Vec::with_capacity(keys.len());
    for (key, value) in keys.iter().zip(values) {
        let Some(value) = value else { continue };
        let provider = vault.provider_of(&index, key.item.as_str(), None);
        let prefix = provider
            .and_then(|p| p.field(key.field.as_str()))
            .and_then(|f| f.prefix.clone());
        out.push(ExactValue {
            reference: format!("tv://{}/{}", key.item, key.field),
            provider: provider.map(|p| p.id.clone()),
            prefix,
            value,
        });
    }
    Ok(out)
}

/// A scanner and what the caller may want to tell the user about how it was built.
pub struct Built {
    pub scanner: Scanner,
    /// Vault values too short to look for.
    pub skipped: usize,
    /// Why the vault's values are not looked for (it could not open without a prompt), if so.
    pub warning: Option<anyhow::Error>,
}

/// The provider rules, plus the vault's values when `use_vault` and the vault opens quietly.
pub fn build_scanner(ctx: &mut Ctx, use_vault: bool) -> Result<Built> {
    let rules =
        RuleSet::from_catalogue(&ctx.settings.catalogue).context("compiling the scan rules")?;
    let mut exact = None;
    let mut skipped = 0;
    let mut warning = None;
    if use_vault {
        let values = match ctx.open_vault_quietly() {
            Ok(Some(vault)) => vault_values(&vault),
            Ok(None) => Ok(Vec::new()),
            Err(e) => Err(e),
        };
        match values {
            Ok(values) if values.is_empty() => {}
            Ok(values) => {
                let m = ExactMatcher::new(&values)?;
                skipped = m.skipped();
                exact = Some(m);
            }
            Err(e) => warning = Some(e),
        }
    }
    Ok(Built {
        scanner: Scanner::new(rules, exact)?,
        skipped,
        warning,
    })
}

/// The home directory the scan reads.
pub fn home_dir() -> Result<PathBuf> {
    crate::envvars::get(crate::envvars::HOME)
        .filter(|h| !h.is_empty())
        .or_else(|| crate::envvars::get(crate::envvars::USERPROFILE))
        .map(PathBuf::from)
        .context("cannot tell where your home directory is: set HOME")
}

/// One finding in one place.
#[derive(Debug, Clone)]
pub struct HomeFinding {
    /// Index into [`HomeScan::places`].
    pub place: usize,
    /// The file (None for a place that is a command's output, such as a crontab).
    pub path: Option<PathBuf>,
    /// The file as shown (`~/.bash_history`), or the command (`crontab -l`).
    pub shown: String,
    pub finding: Finding,
    /// The finding's offsets are the file's own bytes (not decoded UTF-16): it can be redacted.
    pub editable: bool,
}

/// Time and bytes spent on one place (for the summary and the benchmark).
#[derive(Debug, Clone, Default)]
pub struct PlaceStats {
    pub files: u64,
    pub bytes: u64,
    pub elapsed: Duration,
}

/// What a home scan found.
pub struct HomeScan {
    pub places: Vec<Place>,
    pub findings: Vec<HomeFinding>,
    /// Files (and commands) read.
    pub files: u64,
    pub bytes: u64,
    pub per_place: Vec<PlaceStats>,
    /// Problems with one file that did not stop the scan.
    pub errors: Vec<String>,
}

/// `~/rel` for a path under `home`.
fn shown(home: &Path, path: &Path) -> String {
    match path.strip_prefix(home) {
        Ok(rel) => format!("~/{}", rel.display()),
        Err(_) => path.display().to_string(),
    }
}

/// Runs a place's command; `None` when the program is not installed or has nothing (a user
/// without a crontab: `crontab -l` exits 1).
fn command_output(argv: &[String]) -> Option<Zeroizing<Vec<u8>>> {
    let (program, args) = argv.split_first()?;
    let out = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let stdout = Zeroizing::new(out.stdout);
    out.status.success().then_some(stdout)
}

/// Scans the places of `places` for `os` under `home`. `progress(bytes, findings)` is called as
/// each file is finished, from the scanning threads.
pub fn scan(
    home: &Path,
    places: &Places,
    os: Os,
    scanner: &Scanner,
    threads: usize,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> HomeScan {
    let mut errors = Vec::new();
    let patterns: Vec<(usize, Pattern)> = places
        .places
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            p.paths(os)
                .iter()
                .filter_map(move |path| Pattern::new(path).ok().map(|pat| (i, pat)))
        })
        .collect();
    let targets = home::find_targets(home, &patterns, &places.skip_dirs, &mut errors);
    let per_place = Mutex::new(vec![PlaceStats::default(); places.places.len()]);
    let found = Mutex::new(Vec::new());
    let errs = Mutex::new(Vec::new());
    let total = AtomicU64::new(0);
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    home::scan_targets(scanner, &targets, threads, &|s| {
        let Target { place, path } = &targets[s.target];
        if let Some(e) = s.error {
            if let Ok(mut v) = errs.lock() {
                v.push(e);
            }
            return;
        }
        total.fetch_add(s.bytes, Ordering::Relaxed);
        if let Ok(mut pp) = per_place.lock() {
            let st = &mut pp[*place];
            st.files += 1;
            st.bytes += s.bytes;
            st.elapsed += s.elapsed;
        }
        let n = s.findings.len() as u64;
        if let Ok(mut f) = found.lock() {
            for finding in s.findings {
                f.push(HomeFinding {
                    place: *place,
                    path: Some(path.clone()),
                    shown: shown(home, path),
                    finding,
                    editable: s.raw_offsets,
                });
            }
        }
        progress(s.bytes, n);
    });
    let mut per_place = per_place.into_inner().unwrap_or_default();
    let mut findings = found.into_inner().unwrap_or_default();
    errors.extend(errs.into_inner().unwrap_or_default());
    let mut files = targets.len() as u64;
    let mut bytes = total.into_inner();
    // Places that are a program's output (a crontab).
    for (i, place) in places.places.iter().enumerate() {
        if place.command.is_empty() {
            continue;
        }
        let started = std::time::Instant::now();
        let Some(output) = command_output(&place.command) else {
            continue;
        };
        let mut scratch = scanner.scratch();
        let mut buf = Vec::new();
        let mut got = Vec::new();
        let mut sink = FnSink(|f| got.push(f));
        let mut reader: &[u8] = &output;
        if stream::scan_reader(scanner, &mut scratch, &mut reader, &mut buf, &mut sink).is_ok() {
            files += 1;
            bytes += output.len() as u64;
            let st = &mut per_place[i];
            st.files += 1;
            st.bytes += output.len() as u64;
            st.elapsed += started.elapsed();
            findings.extend(got.into_iter().map(|finding| HomeFinding {
                place: i,
                path: None,
                shown: place.command.join(" "),
                finding,
                editable: false,
            }));
        }
        buf.iter_mut().for_each(|b| *b = 0);
    }
    findings.sort_by(|a, b| {
        (&a.shown, a.finding.line, a.finding.column).cmp(&(
            &b.shown,
            b.finding.line,
            b.finding.column,
        ))
    });
    HomeScan {
        places: places.places.clone(),
        findings,
        files,
        bytes,
        per_place,
        errors,
    }
}

/// The item a finding is about: its vault reference's item, else its provider.
pub fn item_of(f: &Finding) -> Option<String> {
    if let Some(r) = &f.reference {
        let rest = r.strip_prefix("tv://")?;
        return Some(rest.split('/').next().unwrap_or(rest).to_owned());
    }
    f.provider.clone()
}

/// What to do about a finding in `place`: one line per step, never a value.
pub fn advice(place: &Place, f: &Finding, catalogue: &Catalogue) -> Vec<String> {
    let mut out = Vec::new();
    match place.fix {
        Fix::Redact => out.push(
            "`tokenvault scan --home --fix` replaces it in place (the rest of the file is kept)"
                .to_owned(),
        ),
        Fix::ImportAndHelper => {
            if f.reference.is_none() {
                if let Some(p) = &f.provider {
                    out.push(format!("store it in the vault: tokenvault set {p}"));
                }
            }
            if let (Some(tool), Some(helper)) = (&place.tool, &place.helper) {
                out.push(format!("point {tool} at tokenvault: {helper}"));
            }
        }
        Fix::RotateAdvice => {}
    }
    if place.fix == Fix::RotateAdvice || place.leaves_machine {
        out.push(rotate_advice(place, f, catalogue));
    }
    out
}

fn rotate_advice(place: &Place, f: &Finding, catalogue: &Catalogue) -> String {
    rotate_line(
        &format!(
            "a {} may have left this machine",
            place.kind.as_str().replace('-', " ")
        ),
        f,
        catalogue,
    )
}

/// `WHY: rotate the token (tokenvault rotate ITEM) and revoke the old one at URL` (the provider's
/// revoke page from the catalogue, when it has one).
pub fn rotate_line(why: &str, f: &Finding, catalogue: &Catalogue) -> String {
    let provider = f.provider.as_deref().and_then(|p| catalogue.get(p));
    let item = item_of(f).unwrap_or_else(|| "ITEM".to_owned());
    let mut s = format!("{why}: rotate the token (tokenvault rotate {item})");
    if let Some(url) = provider.and_then(|p| p.revoke_url.as_deref()) {
        s.push_str(&format!(" and revoke the old one at {url}"));
    }
    s
}

/// The commits of `commits` that a remote-tracking branch of the repository at `repo` contains:
/// pushed, so their tokens have left the machine. At most `limit` commits are looked for. Two
/// `git` processes at most, whatever the number of commits: one asks whether there is any
/// remote-tracking branch (a repository without one has pushed nothing from here), one lists what
/// they hold (`git rev-list --remotes`), read until every commit looked for is found.
pub fn pushed_commits(repo: &Path, commits: &[String], limit: usize) -> HashSet<String> {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut out = HashSet::new();
    let wanted: HashSet<&str> = commits.iter().take(limit).map(String::as_str).collect();
    if wanted.is_empty() {
        return out;
    }
    let git = || {
        let mut c = Command::new("git");
        c.arg("-C")
            .arg(repo)
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    let has_remote = git()
        .args([
            "for-each-ref",
            "--count=1",
            "--format=%(refname)",
            "refs/remotes",
        ])
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.iter().any(|b| !b.is_ascii_whitespace()));
    if !has_remote {
        return out;
    }
    let Ok(mut child) = git()
        .args(["rev-list", "--remotes"])
        .stdout(Stdio::piped())
        .spawn()
    else {
        return out;
    };
    let short = wanted.iter().any(|c| c.len() < 40);
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // Findings name commits by their full id, as rev-list prints them; an abbreviated
            // one is matched by prefix.
            let found = wanted.get(line.as_str()).copied().or_else(|| {
                short
                    .then(|| wanted.iter().find(|c| line.starts_with(**c)).copied())
                    .flatten()
            });
            if let Some(found) = found {
                out.insert(found.to_owned());
                if out.len() == wanted.len() {
                    break;
                }
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    out
}

/// What a redaction did to one file.
#[derive(Debug)]
pub struct Redacted {
    pub shown: String,
    pub values: usize,
}

/// Replaces every finding of `scanner` in the file at `path` with [`REDACTED`], keeping every
/// other byte, the mode and the owner. The file is scanned again as it is now (a shell may have
/// appended to its history since the scan), and the rewrite is scanned before it replaces the
/// file: none of the values found may be left. Returns the number of values replaced (0: the file
/// is left alone).
///
/// A notebook (`json`) is redacted as JSON without being re-serialised: every value must lie
/// inside one string value of the document (`tokenvault_core::notebook`), and the result must
/// still parse; otherwise the file is left alone.
pub fn redact(scanner: &Scanner, path: &Path, shown: &str, json: bool) -> Result<Redacted> {
    let target = mcp_files::write_target(path)?;
    let meta =
        std::fs::metadata(&target).with_context(|| format!("reading {}", target.display()))?;
    let bytes = Zeroizing::new(
        std::fs::read(&target).with_context(|| format!("reading {}", target.display()))?,
    );
    if stream::sniff(&bytes) != stream::Encoding::Bytes {
        anyhow::bail!(
            "{shown} is UTF-16: it is not redacted in place (remove the value by hand, in an editor that keeps the encoding)"
        );
    }
    if bytes.contains(&0) {
        // A database (Cursor's state.vscdb) or another binary file: a value of another length
        // would corrupt it.
        anyhow::bail!(
            "{shown} is a binary file: it is not redacted in place (delete it, or clear the chat in the application that wrote it)"
        );
    }
    let found = scan_bytes(scanner, &bytes);
    let mut spans: Vec<(usize, usize, u64)> = found
        .iter()
        .filter_map(|f| {
            let s = usize::try_from(f.start).ok()?;
            let e = usize::try_from(f.end).ok()?;
            (s < e && e <= bytes.len()).then_some((s, e, f.digest()))
        })
        .collect();
    spans.sort();
    if spans.is_empty() {
        return Ok(Redacted {
            shown: shown.to_owned(),
            values: 0,
        });
    }
    if json {
        use tokenvault_core::notebook;
        let Some(strings) = notebook::string_values(&bytes) else {
            anyhow::bail!("{shown} is not a JSON notebook: it was not redacted (remove the value in Jupyter, then save)");
        };
        if let Some((s, _, _)) = spans
            .iter()
            .find(|(s, e, _)| !notebook::inside_a_value(&bytes, &strings, &(*s..*e)))
        {
            let line = bytes[..*s].iter().filter(|b| **b == b'\n').count() + 1;
            anyhow::bail!(
                "{shown}:{line}: a value lies outside a JSON string (a key, or escaped): the notebook was not redacted; clear that output in Jupyter"
            );
        }
    }
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len()));
    let mut at = 0;
    let mut values = 0;
    for (s, e, _) in &spans {
        if *s < at {
            // Overlaps the previous span (merged by the engine already; kept safe here).
            continue;
        }
        out.extend_from_slice(&bytes[at..*s]);
        out.extend_from_slice(REDACTED.as_bytes());
        at = *e;
        values += 1;
    }
    out.extend_from_slice(&bytes[at..]);
    let digests: std::collections::HashSet<u64> = spans.iter().map(|s| s.2).collect();
    if scan_bytes(scanner, &out)
        .iter()
        .any(|f| digests.contains(&f.digest()))
    {
        anyhow::bail!("{shown}: a value is still found after redaction; the file was left alone");
    }
    if json && serde_json::from_slice::<serde::de::IgnoredAny>(&out).is_err() {
        anyhow::bail!(
            "{shown}: the redacted notebook would not be valid JSON; the file was left alone"
        );
    }
    crate::services::shred::replace_shredding(&target, &bytes, &out)?;
    keep_owner(&target, &meta)?;
    Ok(Redacted {
        shown: shown.to_owned(),
        values,
    })
}

#[cfg(unix)]
fn keep_owner(path: &Path, before: &std::fs::Metadata) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let now = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if (now.uid(), now.gid()) != (before.uid(), before.gid()) {
        std::os::unix::fs::chown(path, Some(before.uid()), Some(before.gid())).with_context(
            || {
                format!(
                    "{} was redacted but could not be given back its owner",
                    path.display()
                )
            },
        )?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn keep_owner(_path: &Path, _before: &std::fs::Metadata) -> Result<()> {
    Ok(())
}

fn scan_bytes(scanner: &Scanner, bytes: &[u8]) -> Vec<Finding> {
    let mut scratch = scanner.scratch();
    let mut buf = Vec::new();
    let mut got = Vec::new();
    let mut sink = FnSink(|f| got.push(f));
    let mut reader = bytes;
    let _ = stream::scan_reader(scanner, &mut scratch, &mut reader, &mut buf, &mut sink);
    buf.iter_mut().for_each(|b| *b = 0);
    got
}

/// Doctor's summary: how many findings in how many places, by kind of place.
pub struct Summary {
    pub findings: usize,
    pub by_kind: Vec<(PlaceKind, usize)>,
}

pub fn summary(scan: &HomeScan) -> Summary {
    summarise(scan)
}

/// Files, bytes and time per kind of place, in catalogue order (where a scan spends its time).
pub fn by_kind(scan: &HomeScan) -> Vec<(PlaceKind, PlaceStats)> {
    let mut out: Vec<(PlaceKind, PlaceStats)> = Vec::new();
    for (place, st) in scan.places.iter().zip(&scan.per_place) {
        if st.files == 0 {
            continue;
        }
        let i = match out.iter().position(|(k, _)| *k == place.kind) {
            Some(i) => i,
            None => {
                out.push((place.kind, PlaceStats::default()));
                out.len() - 1
            }
        };
        let e = &mut out[i].1;
        e.files += st.files;
        e.bytes += st.bytes;
        e.elapsed += st.elapsed;
    }
    out
}

fn summarise(scan: &HomeScan) -> Summary {
    let mut by_kind: Vec<(PlaceKind, usize)> = Vec::new();
    for f in &scan.findings {
        let kind = scan.places[f.place].kind;
        match by_kind.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => by_kind.push((kind, 1)),
        }
    }
    Summary {
        findings: scan.findings.len(),
        by_kind,
    }
}

/// This machine's OS, as the places catalogue names it.
pub fn this_os() -> Os {
    Os::from_consts(std::env::consts::OS)
}

/// One `https://user:token@host` line of git's credential store for a host tokenvault's
/// credential helper answers (`tokenvault_core::gitcred::rule_for`).
pub struct GitCredEntry {
    /// 1-based line in the file.
    pub line: u64,
    pub host: String,
    pub item: &'static str,
    pub value: tokenvault_core::Secret,
}

fn percent_decode(s: &str) -> Option<Zeroizing<Vec<u8>>> {
    let b = s.as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(b.len()));
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The entries of `~/.git-credentials` (git-credential-store(1): one URL per line, the password
/// percent-encoded) for hosts the helper answers.
pub fn git_credential_entries(text: &str) -> Vec<GitCredEntry> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(rest) = line.trim_end_matches('\r').strip_prefix("https://") else {
            continue;
        };
        let authority = rest.split('/').next().unwrap_or(rest);
        let Some((userinfo, host)) = authority.rsplit_once('@') else {
            continue;
        };
        let Some(rule) = tokenvault_core::gitcred::rule_for(host) else {
            continue;
        };
        let Some((_, password)) = userinfo.split_once(':') else {
            continue;
        };
        let Some(bytes) = percent_decode(password) else {
            continue;
        };
        let Ok(value) = std::str::from_utf8(&bytes) else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        out.push(GitCredEntry {
            line: i as u64 + 1,
            host: host.to_ascii_lowercase(),
            item: rule.default_item,
            value: tokenvault_core::Secret::from_str_copy(value),
        });
    }
    out
}

/// What moving git's stored credentials did.
#[derive(Debug, Default)]
pub struct GitCredFix {
    /// Hosts whose token is in the vault, answered by the helper, and gone from the file.
    pub moved: Vec<(String, String)>,
    /// Hosts left in the file, and why.
    pub kept: Vec<(String, String)>,
    /// Lines removed from the file (1-based, as they were).
    pub removed_lines: Vec<u64>,
}

/// Runs git with `args` and `input` on its stdin; its stdout (which may hold a token) is wiped
/// when dropped.
fn git(args: &[&str], input: &str) -> Result<(bool, Zeroizing<Vec<u8>>)> {
    use std::io::Write;
    let mut child = std::process::Command::new("git")
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("running git (is it installed?)")?;
    if let Some(mut si) = child.stdin.take() {
        si.write_all(input.as_bytes())
            .context("writing to git credential")?;
    }
    let out = child.wait_with_output().context("running git")?;
    Ok((out.status.success(), Zeroizing::new(out.stdout)))
}

/// Moves the tokens of `~/.git-credentials` that tokenvault's helper can answer for into the
/// vault (`tv://huggingface`, `tv://github`), adds the helper to git's global config for each
/// host (`credential.https://HOST.helper`), asks git for the credential through that helper
/// alone, and only when git gets back the same token removes the line from the file (atomically,
/// mode kept). A vault entry that already holds a different token is not replaced: its line stays.
pub fn move_git_credentials(vault: &Vault<'_>, path: &Path, now: &str) -> Result<GitCredFix> {
    use tokenvault_core::{FieldName, ItemName};
    use tokenvault_store::Key;
    let target_path = mcp_files::write_target(path)?;
    let text = Zeroizing::new(
        std::fs::read_to_string(&target_path)
            .with_context(|| format!("reading {}", target_path.display()))?,
    );
    let helper = git_helper_value()?;
    let mut fix = GitCredFix::default();
    for e in git_credential_entries(&text) {
        let key = Key::new(ItemName::new(e.item)?, FieldName::new("token")?);
        let reference = format!("tv://{}/token", e.item);
        let held = vault.store().get_many(std::slice::from_ref(&key))?;
        match held.into_iter().next().flatten() {
            Some(v) if v != e.value => {
                fix.kept.push((
                    e.host.clone(),
                    format!("{reference} holds a different token; not replaced"),
                ));
                continue;
            }
            Some(_) => {}
            None => {
                let target = crate::vault::Target {
                    key,
                    provider: Some(e.item.to_owned()),
                };
                vault.write_many_verified(&[(target, e.value.clone())], now)?;
            }
        }
        if let Some(why) = git_through_helper(&e.host, &e.value, &helper)? {
            fix.kept.push((e.host.clone(), why));
            continue;
        }
        fix.moved.push((e.host.clone(), reference));
        fix.removed_lines.push(e.line);
    }
    if !fix.removed_lines.is_empty() {
        let mut out = Zeroizing::new(String::with_capacity(text.len()));
        for (i, line) in text.split_inclusive('\n').enumerate() {
            if !fix.removed_lines.contains(&(i as u64 + 1)) {
                out.push_str(line);
            }
        }
        crate::services::shred::replace_shredding(&target_path, text.as_bytes(), out.as_bytes())?;
    }
    Ok(fix)
}

/// The `credential.helper` value that runs this tokenvault.
pub(crate) fn git_helper_value() -> Result<String> {
    Ok(format!("!'{}' git-credential", mcp_files::self_path()?))
}

/// Adds tokenvault's helper (`helper`, from [`git_helper_value`]) for `host` to git's global
/// config, then asks git for the credential through that helper alone: `None` when git gets
/// `value` back, else why not.
pub(crate) fn git_through_helper(
    host: &str,
    value: &tokenvault_core::Secret,
    helper: &str,
) -> Result<Option<String>> {
    let setting = format!("credential.https://{}.helper", host);
    let (_, current) = git(&["config", "--global", "--get-all", &setting], "")?;
    if !String::from_utf8_lossy(&current)
        .lines()
        .any(|l| l == helper)
    {
        let (ok, _) = git(&["config", "--global", "--add", &setting, helper], "")?;
        if !ok {
            return Ok(Some(format!(
                "`git config --global --add {setting}` failed"
            )));
        }
    }
    // Only our helper: `store` would answer from the very line about to go.
    let only_ours = format!("{setting}={helper}");
    let (ok, answer) = git(
        &[
            "-c",
            "credential.helper=",
            "-c",
            &only_ours,
            "credential",
            "fill",
        ],
        &format!("protocol=https\nhost={}\n\n", host),
    )?;
    let answered = ok
        && answer
            .split(|b| *b == b'\n')
            .any(|l| l.strip_prefix(b"password=") == Some(value.expose_secret().as_bytes()));
    if !answered {
        return Ok(Some(
            "git did not get the token back through tokenvault (is the vault unlocked? `tokenvault unlock`)".to_owned(),
        ));
    }
    Ok(None)
}

/// What moving AWS profiles behind `credential_process` did.
#[derive(Debug, Default)]
pub struct AwsFix {
    /// Profiles now served by tokenvault, with the item that holds their keys.
    pub moved: Vec<(String, String)>,
    /// Profiles left in the file, and why.
    pub kept: Vec<(String, String)>,
    /// Lines of the file that held a moved key (1-based, as they were).
    pub removed_lines: Vec<u64>,
}

/// A `[profile]` of `~/.aws/credentials` with its static keys.
struct AwsProfile {
    name: String,
    key_id: Option<(u64, String)>,
    secret: Option<(u64, Zeroizing<String>)>,
    session_token: bool,
    credential_process: bool,
}

fn aws_profiles(text: &str) -> Vec<AwsProfile> {
    let mut out: Vec<AwsProfile> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i as u64 + 1;
        let t = raw.trim();
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            out.push(AwsProfile {
                name: name.trim().to_owned(),
                key_id: None,
                secret: None,
                session_token: false,
                credential_process: false,
            });
            continue;
        }
        let Some((k, v)) = t.split_once('=') else {
            continue;
        };
        let Some(p) = out.last_mut() else { continue };
        match k.trim().to_ascii_lowercase().as_str() {
            "aws_access_key_id" => p.key_id = Some((line, v.trim().to_owned())),
            "aws_secret_access_key" => p.secret = Some((line, Zeroizing::new(v.trim().to_owned()))),
            "aws_session_token" | "aws_security_token" => p.session_token = true,
            "credential_process" => p.credential_process = true,
            _ => {}
        }
    }
    out
}

/// Single-quotes `s` for a POSIX shell-like split (botocore splits `credential_process` with
/// `shlex`).
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Moves the static keys of each `~/.aws/credentials` profile into the vault (`tv://aws` for
/// `default`, `tv://aws-PROFILE` otherwise; an item already holding other keys is not replaced),
/// writes a template of the `credential_process` answer (`TVHOME/aws/PROFILE.json`, references
/// only), runs the command exactly as the AWS SDKs will and checks it answers with the same keys,
/// and only then replaces the two key lines with `credential_process = tokenvault inject -i …`
/// (the rest of the file kept, atomically, mode kept). Profiles with a session token (temporary
/// credentials) are left alone.
pub fn move_aws_credentials(
    vault: &Vault<'_>,
    path: &Path,
    tv_home: &Path,
    now: &str,
) -> Result<AwsFix> {
    use tokenvault_core::{FieldName, ItemName, Secret};
    use tokenvault_store::Key;
    let target_path = mcp_files::write_target(path)?;
    let text = Zeroizing::new(
        std::fs::read_to_string(&target_path)
            .with_context(|| format!("reading {}", target_path.display()))?,
    );
    let exe = mcp_files::self_path()?;
    let mut fix = AwsFix::default();
    let mut replace: Vec<(u64, Option<String>)> = Vec::new();
    for p in aws_profiles(&text) {
        let (Some((id_line, id)), Some((secret_line, secret))) = (&p.key_id, &p.secret) else {
            continue;
        };
        if p.session_token || p.credential_process {
            fix.kept.push((
                p.name.clone(),
                "it has a session token or a credential_process already".to_owned(),
            ));
            continue;
        }
        let item_name = if p.name == "default" {
            "aws".to_owned()
        } else {
            format!(
                "aws-{}",
                p.name.to_ascii_lowercase().replace(['_', ' ', '.'], "-")
            )
        };
        let Ok(item) = ItemName::new(&item_name) else {
            fix.kept.push((
                p.name.clone(),
                "the profile name makes no item name".to_owned(),
            ));
            continue;
        };
        let keys = [
            (
                Key::new(item.clone(), FieldName::new("access_key_id")?),
                Secret::from_str_copy(id),
            ),
            (
                Key::new(item.clone(), FieldName::new("secret_access_key")?),
                Secret::from_str_copy(secret),
            ),
        ];
        let held = vault
            .store()
            .get_many(&keys.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>())?;
        if keys
            .iter()
            .zip(&held)
            .any(|((_, v), h)| h.as_ref().is_some_and(|h| h != v))
        {
            fix.kept.push((
                p.name.clone(),
                format!("tv://{item_name} holds other keys; not replaced"),
            ));
            continue;
        }
        let writes: Vec<(crate::vault::Target, Secret)> = keys
            .iter()
            .zip(&held)
            .filter(|(_, h)| h.is_none())
            .map(|((k, v), _)| {
                (
                    crate::vault::Target {
                        key: k.clone(),
                        provider: Some("aws".to_owned()),
                    },
                    v.clone(),
                )
            })
            .collect();
        if !writes.is_empty() {
            vault.write_many_verified(&writes, now)?;
        }
        let dir = tv_home.join("aws");
        tokenvault_store::fsutil::ensure_private_dir(&dir)?;
        let template = dir.join(format!("{item_name}.json"));
        tokenvault_store::fsutil::atomic_write(
            &template,
            format!(
                "{{\"Version\": 1, \"AccessKeyId\": \"{{{{ tv://{item_name}/access_key_id }}}}\", \"SecretAccessKey\": \"{{{{ tv://{item_name}/secret_access_key }}}}\"}}\n"
            )
            .as_bytes(),
        )?;
        let template_str = template
            .to_str()
            .context("the tokenvault home's path is not UTF-8")?;
        // What the SDKs run, checked as they will run it.
        let out = std::process::Command::new(&exe)
            .args(["inject", "-i", template_str])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .context("running tokenvault inject")?;
        let answer = Zeroizing::new(out.stdout);
        let parsed: Option<serde_json::Value> = serde_json::from_slice(&answer).ok();
        let same = out.status.success()
            && parsed.as_ref().is_some_and(|v| {
                v["Version"] == 1
                    && v["AccessKeyId"].as_str() == Some(id.as_str())
                    && v["SecretAccessKey"].as_str() == Some(secret.as_str())
            });
        drop(parsed);
        if !same {
            fix.kept.push((
                p.name.clone(),
                "the credential_process did not answer with the same keys (is the vault unlocked? `tokenvault unlock`)".to_owned(),
            ));
            continue;
        }
        let command = format!(
            "credential_process = {} inject -i {}",
            sh_quote(&exe),
            sh_quote(template_str)
        );
        replace.push((*id_line, Some(command)));
        replace.push((*secret_line, None));
        fix.removed_lines.extend([*id_line, *secret_line]);
        fix.moved
            .push((p.name.clone(), format!("tv://{item_name}")));
    }
    if !replace.is_empty() {
        let mut out = Zeroizing::new(String::with_capacity(text.len()));
        for (i, line) in text.split_inclusive('\n').enumerate() {
            match replace.iter().find(|(l, _)| *l == i as u64 + 1) {
                None => out.push_str(line),
                Some((_, None)) => {}
                Some((_, Some(cmd))) => {
                    out.push_str(cmd);
                    out.push('\n');
                }
            }
        }
        crate::services::shred::replace_shredding(&target_path, text.as_bytes(), out.as_bytes())?;
    }
    Ok(fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_credential_lines_of_known_hosts_are_read_and_decoded() {
        let e = git_credential_entries(
            "https://me:hf_ab%2Fc@huggingface.co\nhttps://x:tok@example.com\nhttps://x-access-token:ghp_1@github.com/org\nnot a url\nhttps://nopass@github.com\n",
        );
        let got: Vec<(u64, &str, &str, &str)> = e
            .iter()
            .map(|e| (e.line, e.host.as_str(), e.item, e.value.expose_secret()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, "huggingface.co", "huggingface", "hf_ab/c"),
                (3, "github.com", "github", "ghp_1"),
            ]
        );
        assert!(percent_decode("%zz").is_none());
    }

    #[test]
    fn aws_profiles_keep_their_lines_and_flags() {
        let p = aws_profiles(
            "[default]\naws_access_key_id = AKIA1\naws_secret_access_key=s3cr3t\n[temp]\nAWS_ACCESS_KEY_ID = ASIA\naws_session_token = t\n",
        );
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].key_id, Some((2, "AKIA1".to_owned())));
        assert_eq!(
            p[0].secret.as_ref().map(|(l, s)| (*l, s.as_str())),
            Some((3, "s3cr3t"))
        );
        assert!(!p[0].session_token && p[1].session_token);
        assert_eq!(sh_quote("/a b/it's"), r"'/a b/it'\''s'");
    }
}

/// What `scan --home --fix` changed, and what it could not.
#[derive(Default)]
pub struct Fixes {
    /// Files whose values were redacted in place.
    pub redacted: HashSet<PathBuf>,
    /// Lines (file, line number) whose credential moved into the vault.
    pub moved_lines: HashSet<(PathBuf, u64)>,
    /// What was done, one line each.
    pub notes: Vec<String>,
    /// What could not be done, one line each.
    pub errors: Vec<String>,
    /// A shell history was redacted (running shells must be restarted).
    pub history_redacted: bool,
    /// Credential files whose every finding is gone (shredded, or rewritten without values).
    pub cleared: HashSet<PathBuf>,
    /// The audit records of what was done, written once the vault is closed.
    pub audit: Vec<crate::services::audit_log::Pending>,
}

impl Fixes {
    /// Whether the finding's copy is gone (redacted or moved).
    pub fn fixed(&self, f: &HomeFinding) -> bool {
        f.path.as_ref().is_some_and(|p| {
            self.redacted.contains(p)
                || self.cleared.contains(p)
                || self.moved_lines.contains(&(p.clone(), f.finding.line))
        })
    }
}

/// The vault references of the findings in `path` (values the vault holds), for the audit record.
fn references_in(scan: &HomeScan, path: &Path) -> Vec<String> {
    let mut out: Vec<String> = scan
        .findings
        .iter()
        .filter(|f| f.path.as_deref() == Some(path))
        .filter_map(|f| f.finding.reference.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `--fix`: redacts values in place where the place's fix is redaction (notebooks as JSON), and
/// moves the credential files' values into the vault behind the route each tool will use (each
/// replacement checked before a byte goes). With `dry_run`, only the plan, as notes. Each change
/// is audited (`home-redact`, `home-import`).
pub fn apply_fixes(ctx: &mut Ctx, scan: &HomeScan, scanner: &Scanner, dry_run: bool) -> Fixes {
    let mut fixes = apply(ctx, scan, scanner, dry_run);
    crate::services::audit_log::record_all(ctx, &std::mem::take(&mut fixes.audit));
    fixes
}

fn apply(ctx: &mut Ctx, scan: &HomeScan, scanner: &Scanner, dry_run: bool) -> Fixes {
    use crate::services::audit_log::Pending;
    // --fix: redact in place where the place's fix is redaction.
    let mut fixes = Fixes::default();
    {
        let mut files: Vec<(&PathBuf, &str, usize)> = Vec::new();
        for f in &scan.findings {
            let place = &scan.places[f.place];
            if place.fix != Fix::Redact || !f.editable {
                continue;
            }
            if let Some(p) = &f.path {
                if !files.iter().any(|(q, _, _)| *q == p) {
                    files.push((p, &f.shown, f.place));
                }
            }
        }
        for (path, shown, place) in files {
            let notebook = scan.places[place].kind == PlaceKind::Notebook;
            if dry_run {
                let n = scan
                    .findings
                    .iter()
                    .filter(|f| f.path.as_ref() == Some(path))
                    .count();
                fixes.notes.push(format!(
                    "would redact {} in {shown}",
                    tokenvault_core::words::count(n, "value")
                ));
                continue;
            }
            match redact(scanner, path, shown, notebook) {
                Ok(r) if r.values > 0 => {
                    fixes.redacted.insert(path.clone());
                    fixes.history_redacted |= scan.places[place].kind == PlaceKind::History;
                    let outcome = format!(
                        "redacted {} in {}",
                        tokenvault_core::words::count(r.values, "value"),
                        r.shown
                    );
                    fixes.audit.push(Pending {
                        action: "home-redact",
                        backend: None,
                        references: references_in(scan, path),
                        outcome: outcome.clone(),
                    });
                    fixes.notes.push(outcome);
                }
                Ok(_) => {}
                Err(e) => fixes.errors.push(format!("{e:#}")),
            }
        }
    }
    // --fix: git's credential store → the vault and tokenvault's helper.
    {
        let files_of = |id: &str| {
            let mut files: Vec<(&PathBuf, &str)> = Vec::new();
            for f in &scan.findings {
                if scan.places[f.place].id != id {
                    continue;
                }
                if let Some(p) = &f.path {
                    // ~/.aws/config holds no keys the SDKs read as static credentials here.
                    if id == "aws-credentials" && p.file_name().is_some_and(|n| n != "credentials")
                    {
                        continue;
                    }
                    if !files.iter().any(|(q, _)| *q == p) {
                        files.push((p, &f.shown));
                    }
                }
            }
            files
        };
        let cred_files = files_of("git-credentials");
        let aws_files = files_of("aws-credentials");
        let docker_files = files_of("docker-config");
        let netrc_files = files_of("netrc");
        let pypirc_files = files_of("pypirc");
        let npmrc_files = files_of("npmrc");
        let hub_files = files_of("huggingface-token");
        let tv_home = ctx.settings.paths.home.clone();
        let user_home = home_dir().ok();
        let catalogue = ctx.settings.catalogue.clone();
        if dry_run {
            for (files, what) in [
                (&cred_files, "store its tokens for huggingface.co and github.com in the vault and point git's credential helper at tokenvault"),
                (&aws_files, "store each profile's static keys in the vault and replace them with a credential_process"),
                (&docker_files, "store each registry login in the vault and set \"credsStore\": \"tokenvault\""),
            ] {
                for (_, shown) in files {
                    fixes.notes.push(format!("would {what}, then remove them from {shown}"));
                }
            }
        }
        let any = [
            &cred_files,
            &aws_files,
            &docker_files,
            &netrc_files,
            &pypirc_files,
            &npmrc_files,
            &hub_files,
        ]
        .iter()
        .any(|f| !f.is_empty());
        if any {
            let now = crate::context::now_rfc3339();
            // A dry run stores nothing: it needs no vault (nor a passphrase).
            let opened = if dry_run {
                Ok(None)
            } else {
                ctx.open_vault().map(Some)
            };
            match opened {
                Ok(vault) => {
                    let backend = vault.as_ref().map(|v| v.kind().as_str().to_owned());
                    // One credential file's move: its notes, kept entries, audit record and
                    // removed lines, or the error that stopped it.
                    let moved =
                        |fixes: &mut Fixes,
                         path: &PathBuf,
                         shown: &str,
                         result: Result<crate::services::home_creds::FileFix>| {
                            let fix = match result {
                                Ok(fix) => fix,
                                Err(e) => {
                                    fixes.errors.push(format!("{shown}: {e:#}"));
                                    return;
                                }
                            };
                            fixes.notes.extend(fix.notes);
                            fixes.errors.extend(fix.kept);
                            if !fix.references.is_empty() {
                                fixes.audit.push(Pending {
                                    action: "home-import",
                                    backend: backend.clone(),
                                    references: fix.references,
                                    outcome: format!("moved into the vault from {shown}"),
                                });
                            }
                            for line in fix.removed_lines {
                                fixes.moved_lines.insert((path.clone(), line));
                            }
                            if fix.shredded {
                                fixes.cleared.insert(path.clone());
                            }
                        };
                    for (path, shown) in &netrc_files {
                        let result = crate::services::home_creds::move_netrc(
                            vault.as_ref(),
                            path,
                            shown,
                            &now,
                            dry_run,
                        );
                        moved(&mut fixes, path, shown, result);
                    }
                    for (path, shown) in &pypirc_files {
                        let result = crate::services::home_creds::move_pypirc(
                            vault.as_ref(),
                            &tv_home,
                            user_home.as_deref(),
                            path,
                            shown,
                            &now,
                            dry_run,
                        );
                        moved(&mut fixes, path, shown, result);
                    }
                    for (path, shown) in &npmrc_files {
                        let result = crate::services::home_creds::move_npmrc(
                            vault.as_ref(),
                            path,
                            shown,
                            &now,
                            dry_run,
                        );
                        moved(&mut fixes, path, shown, result);
                    }
                    if let Some((first, _)) = hub_files.first() {
                        let home_for_shown = user_home.clone();
                        let shown_of = |p: &Path| match &home_for_shown {
                            Some(h) => shown(h, p),
                            None => p.display().to_string(),
                        };
                        let result = crate::services::home_creds::move_hub_tokens(
                            vault.as_ref(),
                            &catalogue,
                            &shown_of,
                            &now,
                            dry_run,
                        );
                        let shredded = result.as_ref().is_ok_and(|fix| fix.shredded);
                        moved(&mut fixes, first, "the Hub's token files", result);
                        if shredded {
                            for (p, _) in &hub_files {
                                if !p.exists() {
                                    fixes.cleared.insert((*p).clone());
                                }
                            }
                        }
                    }
                    let Some(vault) = vault else {
                        return fixes;
                    };
                    for (path, shown) in cred_files {
                        match move_git_credentials(&vault, path, &now) {
                            Ok(fix) => {
                                for (host, reference) in &fix.moved {
                                    fixes.notes.push(format!(
                                        "{host}: the token is in {reference}, git asks tokenvault for it (credential.https://{host}.helper), and its line is gone from {shown}"
                                    ));
                                }
                                if !fix.moved.is_empty() {
                                    fixes.audit.push(Pending {
                                        action: "home-import",
                                        backend: backend.clone(),
                                        references: fix.moved.iter().map(|m| m.1.clone()).collect(),
                                        outcome: format!("moved into the vault from {shown}"),
                                    });
                                }
                                for (host, why) in &fix.kept {
                                    fixes
                                        .errors
                                        .push(format!("{shown}: {host} left as it is: {why}"));
                                }
                                for line in fix.removed_lines {
                                    fixes.moved_lines.insert((path.clone(), line));
                                }
                            }
                            Err(e) => fixes.errors.push(format!("{shown}: {e:#}")),
                        }
                    }
                    for (path, shown) in aws_files {
                        match move_aws_credentials(&vault, path, &tv_home, &now) {
                            Ok(fix) => {
                                for (profile, item) in &fix.moved {
                                    fixes.notes.push(format!(
                                        "AWS profile [{profile}]: the keys are in {item}, and {shown} now runs `tokenvault inject` as its credential_process"
                                    ));
                                }
                                if !fix.moved.is_empty() {
                                    fixes.audit.push(Pending {
                                        action: "home-import",
                                        backend: backend.clone(),
                                        references: fix.moved.iter().map(|m| m.1.clone()).collect(),
                                        outcome: format!("moved into the vault from {shown}"),
                                    });
                                }
                                for (profile, why) in &fix.kept {
                                    fixes.errors.push(format!(
                                        "{shown}: profile [{profile}] left as it is: {why}"
                                    ));
                                }
                                for line in fix.removed_lines {
                                    fixes.moved_lines.insert((path.clone(), line));
                                }
                            }
                            Err(e) => fixes.errors.push(format!("{shown}: {e:#}")),
                        }
                    }
                    for (path, shown) in docker_files {
                        let Some(home) = &user_home else { break };
                        match move_docker_credentials(&vault, path, home, &now) {
                            Ok(fix) => {
                                for (server, reference) in &fix.moved {
                                    fixes.notes.push(format!(
                                        "{server}: the login is in {reference}, and Docker asks tokenvault for it (\"credsStore\": \"tokenvault\" in {shown})"
                                    ));
                                }
                                if !fix.moved.is_empty() {
                                    fixes.audit.push(Pending {
                                        action: "home-import",
                                        backend: backend.clone(),
                                        references: fix.moved.iter().map(|m| m.1.clone()).collect(),
                                        outcome: format!("moved into the vault from {shown}"),
                                    });
                                }
                                if let (Some(link), false) = (&fix.link, fix.moved.is_empty()) {
                                    if crate::exec::launcher::find_on_path(
                                        "docker-credential-tokenvault",
                                    )
                                    .is_none()
                                    {
                                        fixes.notes.push(format!(
                                            "Docker finds the helper on PATH: add {} to PATH",
                                            link.parent()
                                                .map(|p| p.display().to_string())
                                                .unwrap_or_default()
                                        ));
                                    }
                                }
                                for (server, why) in &fix.kept {
                                    fixes
                                        .errors
                                        .push(format!("{shown}: {server} left as it is: {why}"));
                                }
                                for line in fix.removed_lines {
                                    fixes.moved_lines.insert((path.clone(), line));
                                }
                            }
                            Err(e) => fixes.errors.push(format!("{shown}: {e:#}")),
                        }
                    }
                }
                Err(e) => fixes.errors.push(format!(
                    "credential files were not moved: the vault did not open ({e:#})"
                )),
            }
        }
    }
    fixes
}

/// What moving `~/.docker/config.json`'s logins did.
pub struct DockerFix {
    /// Registries whose login is now in the vault: (server, reference).
    pub moved: Vec<(String, String)>,
    /// Registries left as they were, and why.
    pub kept: Vec<(String, String)>,
    /// Lines of the original file that held a moved `auth`.
    pub removed_lines: Vec<u64>,
    /// The helper link made for Docker, when one was made.
    pub link: Option<PathBuf>,
}

/// The name Docker runs for `"credsStore": "tokenvault"`.
const DOCKER_HELPER: &str = "docker-credential-tokenvault";

/// Where the helper link goes: a directory on PATH under the home, else `~/.local/bin`.
fn docker_helper_dir(home: &Path) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .find(|d| d.starts_with(home) && d.is_dir())
        .unwrap_or_else(|| home.join(".local/bin"))
}

/// Makes `docker-credential-tokenvault` (a link to this tokenvault) where Docker finds it.
fn docker_helper_link(home: &Path) -> Result<PathBuf> {
    helper_link(home, DOCKER_HELPER)
}

/// Makes `name` a link to this tokenvault in a directory on PATH under the home (else
/// `~/.local/bin`), for a tool that runs a helper by name (Docker, pip's `keyring`).
pub(crate) fn helper_link(home: &Path, name: &str) -> Result<PathBuf> {
    let dir = docker_helper_dir(home);
    let link = dir.join(name);
    let me = crate::exec::launcher::self_path()?;
    match std::fs::read_link(&link) {
        Ok(to) if to == me => return Ok(link),
        Ok(_) => std::fs::remove_file(&link)
            .with_context(|| format!("replacing the old link {}", link.display()))?,
        Err(_) if link.exists() => {
            anyhow::bail!(
                "{} exists and is not a link to tokenvault; remove it, then run --fix again",
                link.display()
            )
        }
        Err(_) => {}
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    std::os::unix::fs::symlink(&me, &link)
        .with_context(|| format!("linking {} to {}", link.display(), me.display()))?;
    Ok(link)
}

/// Asks the helper, as Docker would, for `server`'s login: (username, secret).
fn docker_helper_get(link: &Path, server: &str) -> Result<(String, tokenvault_core::Secret)> {
    use std::io::Write;
    let mut child = std::process::Command::new(link)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("running {}", link.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(server.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    let text = Zeroizing::new(out.stdout);
    if !out.status.success() {
        anyhow::bail!("the helper did not answer for {server}");
    }
    let v: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|_| anyhow::anyhow!("the helper's answer for {server} is not JSON"))?;
    let user = v["Username"].as_str().unwrap_or_default().to_owned();
    let secret = tokenvault_core::Secret::from_str_copy(v["Secret"].as_str().unwrap_or_default());
    Ok((user, secret))
}

/// Moves every `auth` login of a Docker config into the vault and points Docker at
/// `docker-credential-tokenvault` (`"credsStore": "tokenvault"`). Each login is stored, the helper
/// is asked for it as Docker would ask, and only when it answers the same is the `auth` removed
/// from the file (atomically, mode kept).
pub fn move_docker_credentials(
    vault: &Vault<'_>,
    path: &Path,
    home: &Path,
    now: &str,
) -> Result<DockerFix> {
    let target_path = mcp_files::write_target(path)?;
    let text = Zeroizing::new(
        std::fs::read_to_string(&target_path)
            .with_context(|| format!("reading {}", path.display()))?,
    );
    let mut doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{} is not valid JSON (line {})", path.display(), e.line()))?;
    let mut fix = DockerFix {
        moved: Vec::new(),
        kept: Vec::new(),
        removed_lines: Vec::new(),
        link: None,
    };
    let logins: Vec<(String, String)> = doc["auths"]
        .as_object()
        .map(|auths| {
            auths
                .iter()
                .filter_map(|(server, e)| Some((server.clone(), e["auth"].as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    if logins.is_empty() {
        return Ok(fix);
    }
    let link = docker_helper_link(home)?;
    fix.link = Some(link.clone());
    let mut done = Vec::new();
    for (server, auth) in &logins {
        let Some((username, secret)) = tokenvault_core::dockercred::decode_auth(auth) else {
            fix.kept.push((
                server.clone(),
                "its auth is not base64 of user:password".into(),
            ));
            continue;
        };
        let creds = tokenvault_core::dockercred::Credentials {
            server: server.clone(),
            username: username.clone(),
            secret: secret.clone(),
        };
        crate::services::docker_creds::store(vault, &creds, now)?;
        match docker_helper_get(&link, server) {
            Ok((u, s)) if u == username && s == secret => done.push(server.clone()),
            Ok(_) => fix.kept.push((
                server.clone(),
                "the helper answered with another login".into(),
            )),
            Err(e) => fix.kept.push((
                server.clone(),
                format!("{e:#} (is the vault unlocked? `tokenvault unlock`)"),
            )),
        }
    }
    if done.is_empty() {
        return Ok(fix);
    }
    for (i, line) in text.lines().enumerate() {
        if logins
            .iter()
            .any(|(s, a)| done.contains(s) && line.contains(a.as_str()))
        {
            fix.removed_lines.push(i as u64 + 1);
        }
    }
    if let Some(auths) = doc["auths"].as_object_mut() {
        for server in &done {
            if let Some(entry) = auths.get_mut(server).and_then(|e| e.as_object_mut()) {
                entry.remove("auth");
            }
        }
    }
    doc["credsStore"] = serde_json::Value::String("tokenvault".into());
    let out = Zeroizing::new(format!("{}\n", serde_json::to_string_pretty(&doc)?));
    crate::services::shred::replace_shredding(&target_path, text.as_bytes(), out.as_bytes())?;
    for server in done {
        let reference = format!("tv://{}", tokenvault_core::dockercred::item_for(&server));
        fix.moved.push((server, reference));
    }
    Ok(fix)
}
