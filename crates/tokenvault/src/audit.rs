//! The audit log writer and reader: `audit.jsonl` in the tokenvault home, one hash-chained JSON
//! line per read or change (the record and chain rules live in `tokenvault_core::audit`).
//!
//! Appending is serialised by an exclusive lock on `audit.lock`; under it the writer reads only the
//! log's last line (seeking back from the end, so a large log costs nothing), links the new record
//! to it, and appends the line with one write(2) on an `O_APPEND` descriptor. Concurrent
//! processes therefore never interleave or fork the chain. There is no fsync: the line is in the
//! page cache, which every later reader sees, and only a machine crash in the next seconds could
//! drop the newest lines — a cost we accept to keep `get` and `run` (which an MCP client pays on
//! every launch) within a few milliseconds. A dropped tail never breaks the chain. A log that cannot be written refuses a
//! read before any value leaves ([`record_before_release`]; `audit_required = false` relaxes it);
//! for other commands it costs one `warning:` on stderr, never a byte on stdout.
//!
//! A chain shows edits and deletions inside the log, not lines cut from its end nor a log deleted
//! whole. So after each append the new head (`seq` and hash of the last line) is written to
//! `audit.head` with a tag under the store's state key ([`tokenvault_store::state`]), whenever this
//! process has read that key (every command that reads or writes values has): `audit verify` then
//! finds a log shorter than its head, a head that does not match its line, or a log gone. The head
//! is replaced atomically but not synced either, for the same reason as the log and so that a
//! machine crash loses log and head alike rather than leaving a synced head ahead of its log.

use crate::context::{now_rfc3339, Ctx};
use crate::printer::Printer;
use anyhow::{bail, Context, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use tokenvault_core::audit::{redact_argv, ChainHead, Entry, LineHasher};
use tokenvault_core::Catalogue;
use tokenvault_store::fsutil::{self, FileLock};
use tokenvault_store::{BackendKind, StateKey, StoreError};

#[cfg(unix)]
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

/// Set once an append failed in this process: later records are not attempted (each failure is
/// reported once, as the refusal or the warning it caused).
static LOG_FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The state key this process read, which tags the audit head (see the module docs).
static ANCHOR_KEY: std::sync::Mutex<Option<StateKey>> = std::sync::Mutex::new(None);

/// The head file, beside the log.
pub const HEAD_FILE: &str = "audit.head";

/// The domain of the head's tag.
const HEAD_DOMAIN: &str = "tokenvault audit head v1";

/// Lets later appends of this process anchor the head with `key`.
pub fn anchor_with(key: &StateKey) {
    *ANCHOR_KEY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(key.clone());
}

/// The authenticated head of the log: the last record's `seq` and its line's hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AnchoredHead {
    pub seq: u64,
    pub hash: String,
    /// The store whose state key made the tag.
    pub backend: BackendKind,
    pub mac: String,
}

impl AnchoredHead {
    fn tag_input(seq: u64, hash: &str, backend: BackendKind) -> [Vec<u8>; 3] {
        [
            seq.to_string().into_bytes(),
            hash.as_bytes().to_vec(),
            backend.as_str().as_bytes().to_vec(),
        ]
    }

    fn new(seq: u64, hash: String, key: &StateKey) -> AnchoredHead {
        let parts = Self::tag_input(seq, &hash, key.backend());
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        AnchoredHead {
            seq,
            mac: key.tag(HEAD_DOMAIN, &refs),
            hash,
            backend: key.backend(),
        }
    }

    /// Whether the tag verifies under `key` (a key of the store that made it).
    pub fn authentic(&self, key: &StateKey) -> bool {
        let parts = Self::tag_input(self.seq, &self.hash, self.backend);
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        key.backend() == self.backend && key.verify(HEAD_DOMAIN, &refs, &self.mac)
    }
}

pub fn head_path(home: &Path) -> PathBuf {
    home.join(HEAD_FILE)
}

/// The head file, when there is one (an unreadable or malformed one is an error: it was edited).
pub fn read_head(home: &Path) -> Result<Option<AnchoredHead>> {
    let path = head_path(home);
    fsutil::check_private_file(&path)?;
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .with_context(|| format!("{} is not an audit head (edited?)", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The highest file vault generation the log recorded (`None`: none recorded, or no log).
pub fn highest_generation(home: &Path) -> Result<Option<u64>> {
    let mut highest = None;
    read_lines(home, |_, line| {
        if let Ok(r) = tokenvault_core::audit::Record::parse(line) {
            if r.backend.as_deref() == Some("file") {
                highest = highest.max(r.generation);
            }
        }
        Ok(true)
    })?;
    Ok(highest)
}

/// The log, in the tokenvault home.
pub const LOG_FILE: &str = "audit.jsonl";
/// Held exclusively by writers, shared by readers.
pub const LOCK_FILE: &str = "audit.lock";

/// How far back the writer reads at a time when looking for the last line.
const TAIL_CHUNK: u64 = 8 * 1024;
/// A last line longer than this is hashed as a stream instead of held (a record is < 1 KiB; only a
/// damaged log has such a line).
const MAX_LINE_IN_MEMORY: usize = 1 << 20;
/// How much of the parent's command line is recorded.
const MAX_CMDLINE: u64 = 64 * 1024;

pub fn log_path(home: &Path) -> PathBuf {
    home.join(LOG_FILE)
}

pub fn lock_path(home: &Path) -> PathBuf {
    home.join(LOCK_FILE)
}

/// The record of `action` now, by this process, launched by its parent.
fn new_entry(
    ctx: &Ctx,
    action: &str,
    backend: Option<&str>,
    references: &[String],
    outcome: &str,
) -> Entry {
    let (ppid, parent_name, parent_cmdline) = parent_process(&ctx.settings.catalogue);
    Entry {
        time: now_rfc3339(),
        action: action.to_owned(),
        references: references.to_vec(),
        backend: backend.map(str::to_owned),
        outcome: outcome.to_owned(),
        pid: std::process::id(),
        ppid,
        parent_name,
        parent_cmdline,
        // What vault.seen holds now: the generation this action read or wrote.
        generation: (backend == Some("file"))
            .then(|| ctx.file_store().seen_generation())
            .filter(|g| *g > 0),
        actor: actor(),
    }
}

/// Who this process acts for, when not the person at the keyboard (`mcp serve`: the MCP client).
static ACTOR: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Records every later action of this process as done for `name` (the MCP client's name).
pub fn set_actor(name: &str) {
    let name: String = name.chars().filter(|c| !c.is_control()).take(128).collect();
    if let Ok(mut a) = ACTOR.lock() {
        *a = Some(name);
    }
}

fn actor() -> Option<String> {
    ACTOR.lock().ok().and_then(|a| a.clone())
}

/// Appends one audit record: `action` (get, run, export, inject, set, rm, git-credential, …), the
/// references involved (never values), and the outcome (`ok`, or a short reason).
pub fn record(
    ctx: &Ctx,
    action: &str,
    backend: Option<&str>,
    references: &[String],
    outcome: &str,
) {
    let entry = new_entry(ctx, action, backend, references, outcome);
    let home = &ctx.settings.paths.home;
    if LOG_FAILED.load(std::sync::atomic::Ordering::Relaxed) {
        // Already reported once in this process (a refused read, or a warning): not again.
        return;
    }
    if let Err(e) = append(home, entry, &ctx.printer) {
        LOG_FAILED.store(true, std::sync::atomic::Ordering::Relaxed);
        ctx.printer.warning(&format!(
            "could not write the audit log {}: {e:#}; the {action} itself went ahead (check the directory's permissions and free space)",
            log_path(home).display()
        ));
    }
}

/// Appends the record of a read *before* the value leaves (`get`, `run`, `export`, `inject`), and
/// refuses the read when the log cannot be written — as HashiCorp Vault refuses requests its audit
/// devices cannot log — so that no value is handed out unrecorded. `audit_required = false` in the
/// config relaxes it to a warning.
pub fn record_before_release(
    ctx: &Ctx,
    action: &str,
    backend: Option<&str>,
    references: &[String],
) -> Result<()> {
    let entry = new_entry(ctx, action, backend, references, "ok");
    let home = &ctx.settings.paths.home;
    let appended = append(home, entry, &ctx.printer);
    if appended.is_err() {
        LOG_FAILED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    match appended {
        Ok(()) => Ok(()),
        Err(e) if ctx.settings.config.config.audit_required == Some(false) => {
            ctx.printer.warning(&format!(
                "could not write the audit log {}: {e:#}; the {action} went ahead because audit_required = false",
                log_path(home).display()
            ));
            Ok(())
        }
        Err(e) => Err(crate::error::hinted(
            format!(
                "could not write the audit log {}: {e:#}; refusing to hand out values unrecorded",
                log_path(home).display()
            ),
            format!(
                "fix the log (its directory's permissions, free space), or set `audit_required = false` in {} to let reads go ahead unlogged",
                ctx.settings.config.path.display()
            ),
        )),
    }
}

/// A short, value-free reason for a failed command, for the `outcome` field.
pub fn reason(e: &anyhow::Error) -> String {
    for cause in e.chain() {
        if let Some(s) = cause.downcast_ref::<StoreError>() {
            return match s {
                StoreError::Locked { .. } => "locked",
                StoreError::WrongPassphrase { .. } => "wrong passphrase",
                StoreError::EmptyPassphrase => "empty passphrase",
                StoreError::WeakPassphrase { .. } => "weak passphrase",
                StoreError::Corrupt { .. } => "vault damaged",
                StoreError::UnsupportedVersion { .. } => "vault too new",
                StoreError::Rollback { .. } => "vault rolled back",
                StoreError::VaultMissing { .. } => "vault missing",
                StoreError::InsecurePermissions { .. } => "insecure permissions",
                StoreError::Unavailable { .. } => "backend unavailable",
                StoreError::Io { .. } => "i/o error",
                StoreError::Backend { .. } => "backend error",
                StoreError::Denied { .. } => "permission denied",
            }
            .to_owned();
        }
    }
    // Messages never hold values (house rule), but they may quote what was typed; keep only the
    // kind of failure.
    let text = e.to_string();
    if text.contains("is not stored") || text.contains("has no previous value") {
        "not found".to_owned()
    } else if text.contains("does not look like") {
        "rejected: format".to_owned()
    } else if text.contains("needs confirmation") {
        "refused: needs --yes".to_owned()
    } else {
        "failed".to_owned()
    }
}

/// The outcome of a command's result: `ok`, or [`reason`].
pub fn outcome_of<T>(result: &Result<T>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(e) => reason(e),
    }
}

/// What a command touched, filled in as it learns it (the resolved `tv://` reference, the
/// backend), so the audit line can be written once the command's result is known.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub references: Vec<String>,
    pub backend: Option<String>,
    /// Already recorded by [`Subject::record_before_release`]: the final record is skipped.
    pub recorded: bool,
}

impl Subject {
    pub fn new(reference: impl ToString) -> Subject {
        Subject {
            references: vec![reference.to_string()],
            backend: None,
            recorded: false,
        }
    }

    /// [`record_before_release`] for this subject; the record at the end is then skipped.
    pub fn record_before_release(&mut self, ctx: &Ctx, action: &str) -> Result<()> {
        record_before_release(ctx, action, self.backend.as_deref(), &self.references)?;
        self.recorded = true;
        Ok(())
    }

    /// Appends the record for `action` with the outcome of `result`.
    pub fn record<T>(&self, ctx: &Ctx, action: &str, result: &Result<T>) {
        if self.recorded && result.is_ok() {
            return;
        }
        record(
            ctx,
            action,
            self.backend.as_deref(),
            &self.references,
            &outcome_of(result),
        );
    }
}

/// Appends `entry` under the lock.
fn append(home: &Path, entry: Entry, printer: &Printer) -> Result<()> {
    fsutil::ensure_private_dir(home)?;
    let _lock = FileLock::exclusive(&lock_path(home))?;
    let path = log_path(home);
    let mut opts = OpenOptions::new();
    opts.read(true).append(true).create(true);
    #[cfg(unix)]
    opts.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    let mut file = opts
        .open(&path)
        .with_context(|| format!("opening {} (a symlink there is refused)", path.display()))?;
    check_private(&file, &path)?;

    let (head, ends_open) = last_line_head(&mut file).context("reading the log's last line")?;
    if head.damaged {
        printer.warning(&format!(
            "the last line of {} is not an audit record; appending after it anyway — run `tokenvault audit verify`",
            path.display()
        ));
    }
    let record = head.seal(entry);
    let line = record.to_line().context("encoding the record")?;
    let mut buf = Vec::with_capacity(line.len() + 2);
    if ends_open {
        // A cut-off last line: start ours on a line of its own.
        buf.push(b'\n');
    }
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    // One write(2) on an O_APPEND descriptor: the line lands whole at the end. A short write only
    // happens when the disk is full.
    let written = file.write(&buf).context("appending")?;
    if written != buf.len() {
        bail!(
            "only {written} of {} bytes were appended (is the disk full?)",
            buf.len()
        );
    }
    // Still under the log's lock: the head moves with the log.
    let key = ANCHOR_KEY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    if let Some(key) = key {
        let after = ChainHead::after_line(line.as_bytes());
        let head = AnchoredHead::new(after.seq, after.hash, &key);
        let text = serde_json::to_vec(&head).context("encoding the audit head")?;
        fsutil::atomic_write_unsynced(&head_path(home), &text).context("writing the audit head")?;
    }
    Ok(())
}

/// Refuses a log that others can read: it names what you use and when.
fn check_private(file: &File, path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let mode = file.metadata()?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(StoreError::InsecurePermissions {
                path: path.to_owned(),
                mode,
            }
            .into());
        }
    }
    let _ = (file, path);
    Ok(())
}

/// The chain head after the file's last line, and whether the file ends without a newline.
/// Reads backwards from the end in small chunks until it finds the line's start.
fn last_line_head(file: &mut File) -> std::io::Result<(ChainHead, bool)> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok((ChainHead::genesis(), false));
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    let ends_open = last[0] != b'\n';
    let end = if ends_open { len } else { len - 1 };

    // `tail` holds [pos, end) while it is small enough.
    let mut tail: Vec<u8> = Vec::new();
    let mut overflow = false;
    let mut pos = end;
    let mut start = 0;
    let mut chunk = Vec::new();
    while pos > 0 {
        let from = pos.saturating_sub(TAIL_CHUNK);
        chunk.resize(usize::try_from(pos - from).unwrap_or(0), 0);
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut chunk)?;
        let found = chunk.iter().rposition(|b| *b == b'\n');
        let keep_from = found.map_or(0, |i| i + 1);
        if !overflow {
            if tail.len() + chunk.len() - keep_from > MAX_LINE_IN_MEMORY {
                overflow = true;
                tail = Vec::new();
            } else {
                let mut joined = chunk[keep_from..].to_vec();
                joined.extend_from_slice(&tail);
                tail = joined;
            }
        }
        if let Some(i) = found {
            start = from + i as u64 + 1;
            break;
        }
        pos = from;
    }
    if !overflow {
        return Ok((ChainHead::after_line(&tail), ends_open));
    }
    let mut hasher = LineHasher::new();
    file.seek(SeekFrom::Start(start))?;
    let mut rest = (&mut *file).take(end - start);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = rest.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok((ChainHead::from_parts(hasher.finish(), None), ends_open))
}

/// Our parent's pid, name and redacted command line: which program launched us. Name and command
/// line come from `/proc` and exist only on Linux.
fn parent_process(catalogue: &Catalogue) -> (Option<u32>, Option<String>, Option<Vec<String>>) {
    #[cfg(unix)]
    {
        let ppid = std::os::unix::process::parent_id();
        let (name, cmdline) = proc_info(ppid, catalogue);
        (Some(ppid), name, cmdline)
    }
    #[cfg(not(unix))]
    {
        let _ = catalogue;
        (None, None, None)
    }
}

#[cfg(target_os = "linux")]
fn proc_info(pid: u32, catalogue: &Catalogue) -> (Option<String>, Option<Vec<String>>) {
    let name = std::fs::read(format!("/proc/{pid}/comm")).ok().map(|b| {
        String::from_utf8_lossy(&b)
            .trim_end_matches('\n')
            .to_owned()
    });
    let cmdline = File::open(format!("/proc/{pid}/cmdline"))
        .ok()
        .and_then(|f| {
            let mut bytes = Vec::new();
            f.take(MAX_CMDLINE + 1).read_to_end(&mut bytes).ok()?;
            let cut = bytes.len() as u64 > MAX_CMDLINE;
            bytes.truncate(usize::try_from(MAX_CMDLINE).unwrap_or(usize::MAX));
            if bytes.last() == Some(&0) {
                bytes.pop();
            }
            let mut argv: Vec<String> = bytes
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            if cut {
                // The last element may be a fragment of a secret that no longer matches its format.
                argv.pop();
                argv.push("…".to_owned());
            }
            let redacted = redact_argv(&argv, catalogue);
            zeroize::Zeroize::zeroize(&mut bytes);
            for a in &mut argv {
                zeroize::Zeroize::zeroize(a);
            }
            Some(redacted)
        });
    (name, cmdline)
}

#[cfg(all(unix, not(target_os = "linux")))]
fn proc_info(_pid: u32, _catalogue: &Catalogue) -> (Option<String>, Option<Vec<String>>) {
    (None, None)
}

/// Reads the log line by line under a shared lock (no half-appended line is seen); `false` when
/// there is no log yet. `each` gets the 1-based line number and the line with its newline, and
/// returns whether to go on.
pub fn read_lines(home: &Path, mut each: impl FnMut(u64, &[u8]) -> Result<bool>) -> Result<bool> {
    let path = log_path(home);
    if !path.exists() {
        return Ok(false);
    }
    let _lock = FileLock::shared(&lock_path(home))?;
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    opts.custom_flags(libc::O_NOFOLLOW);
    let file = opts
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    check_private(&file, &path)?;
    let mut reader = std::io::BufReader::new(file);
    let mut buf = Vec::new();
    let mut n = 0u64;
    loop {
        buf.clear();
        let got = std::io::BufRead::read_until(&mut reader, b'\n', &mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if got == 0 {
            break;
        }
        n += 1;
        if !each(n, &buf)? {
            break;
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokenvault_core::audit::{line_hash, Verifier};

    fn entry(i: usize) -> Entry {
        Entry {
            time: "2025-01-01T00:00:00Z".into(),
            action: format!("get{i}"),
            outcome: "ok".into(),
            ..Entry::default()
        }
    }

    fn verify(path: &Path) -> tokenvault_core::audit::ChainSummary {
        let bytes = std::fs::read(path).unwrap();
        let mut v = Verifier::new();
        for l in bytes.split_inclusive(|b| *b == b'\n') {
            v.feed(l).unwrap();
        }
        v.finish().unwrap()
    }

    #[test]
    fn appends_link_and_the_file_is_0600() {
        let dir = tempfile::tempdir().unwrap();
        let p = Printer::new(true, crate::cli::ColorWhen::Never);
        for i in 0..3 {
            append(dir.path(), entry(i), &p).unwrap();
        }
        let s = verify(&log_path(dir.path()));
        assert_eq!((s.entries, s.last_seq), (3, 3));
        #[cfg(unix)]
        assert_eq!(
            std::fs::metadata(log_path(dir.path()))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }

    #[test]
    fn the_last_line_is_found_across_chunks_and_when_huge() {
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(dir.path());
        // A first "line" far longer than a chunk and than the in-memory limit, then a record.
        let long = vec![b'x'; MAX_LINE_IN_MEMORY + 3 * TAIL_CHUNK as usize];
        std::fs::write(&path, [&long[..], b"\n"].concat()).unwrap();
        #[cfg(unix)]
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut f = File::open(&path).unwrap();
        let (head, open) = last_line_head(&mut f).unwrap();
        assert!(!open && head.damaged);
        assert_eq!(head.hash, line_hash(&long));

        let p = Printer::new(true, crate::cli::ColorWhen::Never);
        append(dir.path(), entry(0), &p).unwrap();
        let mut f = File::open(&path).unwrap();
        let (head, _) = last_line_head(&mut f).unwrap();
        assert_eq!((head.seq, head.damaged), (1, false));
    }

    #[test]
    fn a_cut_last_line_gets_a_newline_before_the_next_record() {
        let dir = tempfile::tempdir().unwrap();
        let p = Printer::new(true, crate::cli::ColorWhen::Never);
        append(dir.path(), entry(0), &p).unwrap();
        let path = log_path(dir.path());
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() / 2);
        std::fs::write(&path, &bytes).unwrap();
        append(dir.path(), entry(1), &p).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[1].starts_with("{\"seq\":1"), "{text}");
        assert!(lines[1].contains(&line_hash(lines[0].as_bytes())));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_or_readable_log_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = Printer::new(true, crate::cli::ColorWhen::Never);
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, b"").unwrap();
        std::os::unix::fs::symlink(&elsewhere, log_path(dir.path())).unwrap();
        assert!(append(dir.path(), entry(0), &p).is_err());
        assert_eq!(std::fs::read(&elsewhere).unwrap(), b"");

        std::fs::remove_file(log_path(dir.path())).unwrap();
        append(dir.path(), entry(0), &p).unwrap();
        std::fs::set_permissions(log_path(dir.path()), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        let e = append(dir.path(), entry(1), &p).unwrap_err();
        assert!(
            format!("{e:#}").contains("accessible by other users"),
            "{e:#}"
        );
    }

    #[test]
    fn reasons_are_short_and_value_free() {
        let locked: anyhow::Error = StoreError::Locked {
            what: "the file vault".into(),
            hint: "unlock".into(),
        }
        .into();
        assert_eq!(reason(&locked.context("reading")), "locked");
        assert_eq!(
            reason(&anyhow::anyhow!(
                "tv://x/token is not stored in the file backend"
            )),
            "not found"
        );
        assert_eq!(
            reason(&anyhow::anyhow!("something hf_secret-ish")),
            "failed"
        );
    }
}
