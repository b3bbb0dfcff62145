//! `tokenvault import huggingface | dotenv FILE | ipfs-kit [FILE] | env VAR…`: move plaintext
//! tokens into the vault, and optionally get rid of the plaintext.
//!
//! Each source yields candidates (where it was found, the item and field it belongs to, the value);
//! providers are recognised from variable names, then from value formats. Importing is idempotent:
//! a value the vault already holds — at the same place or elsewhere — is reported, not stored
//! again, and a place that holds a *different* value is never overwritten (the source stays, so
//! nothing is lost). Every stored value is read back before it counts as imported, and imported
//! tokens are checked live with their provider (as `set` does) unless `--no-verify`. `--dry-run`
//! reports the same plan and changes nothing. Malformed sources are errors naming file and line,
//! raised before anything is stored. Output names places and masked values, never a value.
//!
//! Afterwards, the files themselves: `--rewrite` (dotenv, ipfs-kit) replaces each imported
//! secret's value in the file by its `tv://` reference, keeping everything else byte for byte and
//! the original as a backup in tokenvault's private directory (`backups/import/`, never beside the file,
//! where git would not ignore it). `--shred` acts only on a file whose every value is in the vault (read
//! back equal) and whose every secret passed the live check: the file is overwritten with zeros,
//! synced and deleted — or, when it also holds other values (or with `--rewrite`), rewritten with
//! references and its old bytes overwritten, with no plaintext backup. A file that changed since it
//! was read is left alone. Every import that changed something is audited (`import`).

use crate::cli::{ImportArgs, ImportSource};
use crate::context::{now_rfc3339, Ctx, Outcome};
use crate::envvars;
use crate::error::hinted;
use crate::livecheck::{self, Checked};
use crate::vault::{mask_for, Target};
use anyhow::{Context, Result};
use serde_json::json;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use tokenvault_core::{dotenv, Catalogue, FieldName, FormatCheck, ItemName, Reference, Secret};
use tokenvault_store::{fsutil, Key};

/// How a source file can be changed once its values are in the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SourceKind {
    /// `KEY=value` lines: values can be replaced by references line by line.
    Dotenv,
    /// JSON: secret strings can be replaced by references.
    Json,
    /// A token file or the Hub's `stored_tokens`: shredded whole, never rewritten.
    Whole,
}

/// A file a source read, as it was read.
pub(crate) struct SourceFile {
    pub path: PathBuf,
    pub kind: SourceKind,
    /// The exact text that was parsed: a file that no longer reads the same is left alone.
    pub text: String,
    /// It holds values that are not candidates (skipped lines, other settings): never deleted.
    pub other_values: bool,
}

/// A value found in a source.
pub(crate) struct Candidate {
    /// `path:line`, `$VAR`, or `path [name]`.
    pub origin: String,
    pub item: String,
    pub field: String,
    /// `None` for a custom item (a secret-named variable of no known provider).
    pub provider: Option<String>,
    /// A secret (token, key) as opposed to an identifier such as a region.
    pub secret: bool,
    pub value: Secret,
    /// Indexes into [`Found::sources`] of the files that hold this value.
    pub sources: Vec<usize>,
    /// Where it sits in a dotenv file (1-based line).
    pub line: Option<usize>,
}

/// What a source yielded: candidates, lines it passed over (for the report), and its files.
#[derive(Default)]
pub(crate) struct Found {
    pub candidates: Vec<Candidate>,
    pub skipped: Vec<(String, String)>,
    pub sources: Vec<SourceFile>,
}

impl Found {
    fn add_source(&mut self, path: &Path, kind: SourceKind, text: &str) -> usize {
        self.sources.push(SourceFile {
            path: path.to_owned(),
            kind,
            text: text.to_owned(),
            other_values: false,
        });
        self.sources.len() - 1
    }

    /// Records `r` as a candidate of `source`, or as skipped (the source then holds other values).
    fn push(&mut self, source: Option<usize>, r: Result<Candidate, (String, String)>) {
        match r {
            Ok(mut c) => {
                c.sources.extend(source);
                self.candidates.push(c);
            }
            Err(s) => {
                if let Some(i) = source {
                    self.sources[i].other_values = true;
                }
                self.skipped.push(s);
            }
        }
    }
}

/// What happened to one candidate.
enum Placed {
    /// Stored now (or, in a dry run, would be), at this key.
    Imported(Key),
    /// The vault already holds this value, at this key.
    AlreadyThere(Key),
    /// The place holds a different value: not replaced.
    Conflict,
}

impl Placed {
    fn key(&self) -> Option<&Key> {
        match self {
            Placed::Imported(k) | Placed::AlreadyThere(k) => Some(k),
            Placed::Conflict => None,
        }
    }
}

pub fn run(ctx: &mut Ctx, args: &ImportArgs) -> Result<Outcome> {
    check_flags(args)?;
    let catalogue = ctx.settings.catalogue.clone();
    let unknown = if args.all {
        Unknown::All
    } else {
        Unknown::SecretNamed
    };
    let found = match &args.source {
        ImportSource::Huggingface => huggingface(&catalogue)?,
        ImportSource::Dotenv { file } => dotenv_file(&catalogue, file, unknown)?,
        ImportSource::IpfsKit { file } => ipfs_kit(&catalogue, file.as_deref())?,
        ImportSource::Env { vars } => environment(&catalogue, vars, unknown)?,
        ImportSource::Mcp { client, server } => {
            // Moving a secret out of a client config is rewriting the config: `mcp secure`'s job.
            let secure = crate::cli::McpSecureArgs {
                client: client.clone(),
                server: server.clone(),
                dry_run: args.dry_run,
            };
            return crate::cmd::mcp::secure::run(ctx, &secure);
        }
    };
    let dry_run = args.dry_run;
    let json_out = ctx.settings.global.json;
    let printer = ctx.printer.clone();
    for (origin, why) in &found.skipped {
        printer.note(&format!("{origin}: skipped ({why})"));
    }
    if found.candidates.is_empty() {
        printer.note("Nothing to import.");
        return Ok(Outcome::Success);
    }
    let mut subject = crate::audit::Subject::default();
    let result = import(ctx, args, &catalogue, &found, json_out, &mut subject);
    // Audited when something changed: values stored, files rewritten or shredded.
    if !dry_run && !subject.references.is_empty() {
        subject.references.sort();
        subject.references.dedup();
        subject.record(ctx, "import", &result);
    }
    result
}

/// Refuses flag combinations that make no sense for the source, before anything is read.
fn check_flags(args: &ImportArgs) -> Result<()> {
    match &args.source {
        ImportSource::Env { .. } if args.shred || args.rewrite => Err(hinted(
            "--shred and --rewrite work on files; environment variables are not files",
            "after importing, remove the variables from your shell profile and start programs with `tokenvault run`",
        )),
        ImportSource::Mcp { .. } if args.shred || args.rewrite => Err(hinted(
            "--shred and --rewrite do not apply to MCP client configs",
            "`tokenvault import mcp` rewrites each server to get its secrets from the vault and keeps a backup without secrets (`tokenvault mcp restore` undoes it)",
        )),
        ImportSource::Huggingface if args.rewrite => Err(hinted(
            "--rewrite works on dotenv and ipfs-kit files; the Hub's token files hold only tokens",
            "use --shred to remove them once the tokens are in the vault",
        )),
        _ => Ok(()),
    }
}

fn import(
    ctx: &mut Ctx,
    args: &ImportArgs,
    catalogue: &Catalogue,
    found: &Found,
    json_out: bool,
    subject: &mut crate::audit::Subject,
) -> Result<Outcome> {
    let dry_run = args.dry_run;
    let printer = ctx.printer.clone();
    let vault = ctx.open_vault()?;
    subject.backend = Some(vault.kind().as_str().to_owned());
    let audited = &mut subject.references;
    let index = vault.load_index_trusted()?;
    // What the vault holds now, to recognise values that are already in it.
    let mut held = vault.held_values(&index)?;
    let now = now_rfc3339();
    let mut rows = Vec::new();
    let mut placed = Vec::with_capacity(found.candidates.len());
    let mut conflicts = false;
    for c in &found.candidates {
        let key = Key::new(ItemName::new(&c.item)?, FieldName::new(&c.field)?);
        let target = Target {
            key: key.clone(),
            provider: c.provider.clone(),
        };
        let reference = target.reference();
        let masked = mask_for(
            catalogue,
            c.provider.as_deref(),
            &c.field,
            c.value.expose_secret(),
        );
        let same_place = held
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v == &c.value);
        let elsewhere = held
            .iter()
            .find(|(_, v)| *v == c.value)
            .map(|(k, _)| k.clone());
        let (status, detail, p) = match (same_place, elsewhere) {
            (Some(true), _) => (
                "already stored",
                reference.clone(),
                Placed::AlreadyThere(key),
            ),
            (None, Some(k)) => (
                "already stored",
                format!("as tv://{}/{}", k.item, k.field),
                Placed::AlreadyThere(k),
            ),
            (Some(false), _) => {
                conflicts = true;
                (
                    "conflict",
                    format!("{reference} holds a different value; not replaced"),
                    Placed::Conflict,
                )
            }
            (None, None) => {
                if !dry_run {
                    // Counts only once it reads back.
                    vault.write_verified(&target, &c.value, &now)?;
                    audited.push(reference.clone());
                }
                // What the vault holds (or would hold) now: later candidates compare against it.
                held.push((key.clone(), c.value.clone()));
                (
                    if dry_run { "would import" } else { "imported" },
                    reference.clone(),
                    Placed::Imported(key),
                )
            }
        };
        rows.push(json!({
            "origin": c.origin,
            "reference": reference,
            "status": status,
            "detail": detail,
            "masked": masked,
        }));
        placed.push(p);
    }

    // The live check: of every token stored now (as `set` does), and with --shred also of those
    // already stored, since a file is shredded only when its tokens work.
    let mut rejected = false;
    let mut checks: Vec<Option<Checked>> = Vec::with_capacity(placed.len());
    for (i, (c, p)) in found.candidates.iter().zip(&placed).enumerate() {
        let wanted = match p {
            Placed::Imported(_) => true,
            Placed::AlreadyThere(_) => args.shred,
            Placed::Conflict => false,
        };
        if dry_run || args.no_verify || !wanted || !c.secret {
            checks.push(None);
            continue;
        }
        let Some(key) = p.key() else {
            checks.push(None);
            continue;
        };
        let target = Target {
            key: key.clone(),
            provider: c.provider.clone(),
        };
        let shown = target.reference();
        let checked = livecheck::check(catalogue, c.provider.as_deref(), &c.field, &c.value, &now);
        checked.record(&vault, &target, &printer);
        match &checked {
            Checked::Valid { summary, .. } => {
                printer.note(&format!("Verified {shown}: {summary}."));
                rows[i]["check"] = json!("valid");
            }
            Checked::Rejected { explanation, .. } => {
                rejected = true;
                printer.error(&format!(
                    "{shown} is in the vault, but {}",
                    explanation.message
                ));
                printer.hint(&explanation.hint);
                rows[i]["check"] = json!(explanation.code);
            }
            Checked::Unknown(e) => {
                printer.warning(&format!(
                    "{shown} is in the vault but was not verified: {}",
                    e.message
                ));
                rows[i]["check"] = json!(e.code);
            }
            Checked::NotAvailable(_) => {
                rows[i]["check"] = json!("not available");
            }
        }
        checks.push(Some(checked));
    }

    if json_out {
        printer.json(&json!(rows))?;
    } else {
        for r in &rows {
            printer.line(&format!(
                "{}  {}  {}  {}",
                r["origin"].as_str().unwrap_or_default(),
                r["status"].as_str().unwrap_or_default(),
                r["detail"].as_str().unwrap_or_default(),
                r["masked"].as_str().unwrap_or_default(),
            ))?;
        }
        if dry_run {
            printer.note("Dry run: nothing was stored.");
        }
    }

    if args.shred || args.rewrite {
        let backups = ctx.settings.paths.home.join("backups").join("import");
        for (i, source) in found.sources.iter().enumerate() {
            let to = Settling {
                printer: &printer,
                backups: &backups,
            };
            let changed = settle_source(args, found, i, source, &placed, &checks, &to)?;
            if changed {
                // The references now standing in for the values.
                for (c, p) in found.candidates.iter().zip(&placed) {
                    if let (true, Some(k)) = (c.sources.contains(&i), p.key()) {
                        audited.push(format!("tv://{}/{}", k.item, k.field));
                    }
                }
            }
        }
    }

    if conflicts {
        printer.hint("replace a stored value with `tokenvault set REF` (the old one is kept for rollback), then import again");
        return Ok(Outcome::Negative);
    }
    Ok(if rejected {
        Outcome::Negative
    } else {
        Outcome::Success
    })
}

/// Rewrites, shreds or keeps one source file after the import; says which and why. Returns
/// whether the file was changed.
/// Where settling a source reports, and where it keeps backups (tokenvault's private directory).
struct Settling<'a> {
    printer: &'a crate::printer::Printer,
    backups: &'a Path,
}

fn settle_source(
    args: &ImportArgs,
    found: &Found,
    index: usize,
    source: &SourceFile,
    placed: &[Placed],
    checks: &[Option<Checked>],
    to: &Settling<'_>,
) -> Result<bool> {
    let (printer, backups) = (to.printer, to.backups);
    let path = source.path.display();
    let mine: Vec<usize> = (0..found.candidates.len())
        .filter(|&i| found.candidates[i].sources.contains(&index))
        .collect();
    if mine.is_empty() {
        return Ok(false);
    }
    // Secrets that are in the vault, with the reference to write in their place.
    let mut replacements: Vec<(usize, String)> = Vec::new();
    let mut not_in_vault = Vec::new();
    let mut not_verified = Vec::new();
    let mut other_values = source.other_values;
    for &i in &mine {
        let c = &found.candidates[i];
        match placed[i].key() {
            Some(k) => {
                if c.secret {
                    replacements.push((i, format!("tv://{}/{}", k.item, k.field)));
                } else {
                    // An identifier (a region, a bucket) stays in the file as it is.
                    other_values = true;
                }
            }
            None => not_in_vault.push(c.origin.clone()),
        }
        // Only a value the provider accepted counts: "no live check" or "no answer" says nothing
        // about the value, so its plaintext source is not destroyed (`--no-verify` says otherwise).
        let verified = args.no_verify
            || !c.secret
            || matches!(checks[i].as_ref(), Some(Checked::Valid { .. }));
        if !verified && placed[i].key().is_some() {
            let why = match checks[i].as_ref() {
                None => "not checked".to_owned(),
                Some(Checked::Valid { .. }) => "verified".to_owned(),
                Some(Checked::Rejected { explanation, .. }) => explanation.message.clone(),
                Some(Checked::Unknown(e)) => format!("could not check: {}", e.message),
                Some(Checked::NotAvailable(why)) => format!("could not check: {why}"),
            };
            not_verified.push(format!("{} ({why})", c.origin));
        }
    }
    let can_rewrite = source.kind != SourceKind::Whole;

    if args.dry_run {
        let what = if args.shred && !other_values && !args.rewrite {
            "overwrite and delete"
        } else if can_rewrite {
            "rewrite (secrets become tv:// references)"
        } else {
            "keep (it holds more than the tokens)"
        };
        let cond = if args.shred {
            " once every value is stored and verified"
        } else {
            ""
        };
        printer.note(&format!("Would {what} {path}{cond}."));
        return Ok(false);
    }

    if args.shred && (!not_in_vault.is_empty() || !not_verified.is_empty()) {
        let mut why = Vec::new();
        if !not_in_vault.is_empty() {
            why.push(format!("not imported: {}", not_in_vault.join(", ")));
        }
        if !not_verified.is_empty() {
            why.push(format!(
                "not verified live: {} (run again when the check works, or pass --no-verify)",
                not_verified.join(", ")
            ));
        }
        printer.warning(&format!(
            "{path} was not shredded and is unchanged: {}",
            why.join("; ")
        ));
        return Ok(false);
    }

    if args.shred && !other_values && !args.rewrite {
        shred_file(&source.path, &source.text)?;
        printer.note(&format!(
            "Shredded {path}: overwritten with zeros, synced and deleted. Start programs with `tokenvault run` to give them the tokens."
        ));
        return Ok(true);
    }
    if !can_rewrite {
        printer.warning(&format!(
            "{path} holds more than the tokens tokenvault imported, so it was kept; remove the tokens from it by hand"
        ));
        return Ok(false);
    }
    if replacements.is_empty() {
        printer.note(&format!("{path}: no secret to replace."));
        return Ok(false);
    }
    let new_text = match source.kind {
        SourceKind::Dotenv => {
            let lines: Vec<(usize, &str)> = replacements
                .iter()
                .filter_map(|(i, r)| found.candidates[*i].line.map(|l| (l, r.as_str())))
                .collect();
            dotenv::replace_values(&source.text, &lines).map_err(|e| {
                hinted(
                    format!("{path}:{}: cannot rewrite: {}", e.line, e.message),
                    "the file is unchanged; the values are in the vault",
                )
            })?
        }
        SourceKind::Json => {
            let pairs: Vec<(&Secret, &str)> = replacements
                .iter()
                .map(|(i, r)| (&found.candidates[*i].value, r.as_str()))
                .collect();
            rewrite_json(&source.text, &pairs).ok_or_else(|| {
                hinted(
                    format!("{path}: cannot replace the secrets by references without touching other values"),
                    "the file is unchanged; the values are in the vault: edit the file by hand",
                )
            })?
        }
        SourceKind::Whole => unreachable!("checked above"),
    };
    let backup = rewrite_file(
        &source.path,
        &source.text,
        &new_text,
        (!args.shred).then_some(backups),
    )?;
    let n = tokenvault_core::words::count(replacements.len(), "secret");
    let usage = if source.kind == SourceKind::Dotenv {
        format!(" Use it with `tokenvault run --env-file {path} -- CMD`.")
    } else {
        String::new()
    };
    match backup {
        Some(b) => printer.note(&format!(
            "Rewrote {path}: {n} replaced by tv:// references, everything else kept.{usage} The original is kept privately in {} (0600, outside the project, so it cannot be committed) — it still holds the plaintext: delete it once you are satisfied, or pass --shred next time to keep no copy.",
            b.display()
        )),
        None => printer.note(&format!(
            "Rewrote {path}: {n} replaced by tv:// references, everything else kept; the old bytes were overwritten with zeros (no plaintext backup).{usage}"
        )),
    }
    Ok(true)
}

/// Replaces each secret's JSON string in `text` by its reference; `None` unless the result parses
/// to exactly the old document with those strings replaced (so no other value can change).
fn rewrite_json(text: &str, pairs: &[(&Secret, &str)]) -> Option<String> {
    let mut expected: serde_json::Value = serde_json::from_str(text).ok()?;
    let mut out = text.to_owned();
    for (value, reference) in pairs {
        let quoted = serde_json::to_string(value.expose_secret()).ok()?;
        if !out.contains(&quoted) {
            return None;
        }
        out = out.replace(&quoted, &serde_json::to_string(reference).ok()?);
        replace_strings(&mut expected, value.expose_secret(), reference);
    }
    let got: serde_json::Value = serde_json::from_str(&out).ok()?;
    (got == expected).then_some(out)
}

fn replace_strings(v: &mut serde_json::Value, from: &str, to: &str) {
    match v {
        serde_json::Value::String(s) if s == from => *s = to.to_owned(),
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| replace_strings(x, from, to)),
        serde_json::Value::Object(o) => o.values_mut().for_each(|x| replace_strings(x, from, to)),
        _ => {}
    }
}

/// Opens `path` for reading and writing without following a symlink, and checks that it still
/// holds `expected` (what was parsed and imported).
fn open_unchanged(path: &Path, expected: &str) -> Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, libc::O_NOFOLLOW);
    let mut file = opts.open(path).with_context(|| {
        format!(
            "opening {} to shred or rewrite it (a symlink there is refused); it is unchanged",
            path.display()
        )
    })?;
    let mut now = Vec::new();
    file.read_to_end(&mut now)
        .with_context(|| format!("reading {}", path.display()))?;
    if now != expected.as_bytes() {
        return Err(hinted(
            format!(
                "{} changed since it was read, so it was left alone",
                path.display()
            ),
            "run the import again",
        ));
    }
    Ok(file)
}

/// Overwrites the whole of `file` with zeros and syncs it.
fn zero_fill(file: &mut std::fs::File, path: &Path) -> Result<()> {
    let len = file.metadata()?.len();
    file.rewind()?;
    let zeros = [0u8; 8192];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        file.write_all(&zeros[..n])
            .with_context(|| format!("overwriting {}", path.display()))?;
        left -= n as u64;
    }
    file.sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    Ok(())
}

fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// Overwrites `path` (which must still hold `expected`) with zeros of the same length, syncs it,
/// then deletes it.
fn shred_file(path: &Path, expected: &str) -> Result<()> {
    let mut file = open_unchanged(path, expected)?;
    zero_fill(&mut file, path)?;
    drop(file);
    std::fs::remove_file(path).with_context(|| {
        format!(
            "{} was overwritten with zeros but could not be deleted",
            path.display()
        )
    })?;
    sync_parent(path);
    Ok(())
}

/// A new backup path for `path` in the private directory `dir`: `NAME.TIMESTAMP.bak`, never
/// beside the file, where git would not ignore it and a `git add .` would commit the plaintext.
fn backup_path(dir: &Path, path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let stamp = now_rfc3339().replace(':', "");
    let mut candidate = dir.join(format!("{name}.{stamp}.bak"));
    let mut n = 1;
    while candidate.symlink_metadata().is_ok() {
        candidate = dir.join(format!("{name}.{stamp}.{n}.bak"));
        n += 1;
    }
    candidate
}

/// Replaces `path` (which must still hold `old`) by `new` atomically, keeping its mode. With a
/// `backup_dir` (tokenvault's private directory) the old text is kept there (0600), and its path
/// returned; without, there is no backup and the old bytes are overwritten with zeros once the new
/// file is in place.
fn rewrite_file(
    path: &Path,
    old: &str,
    new: &str,
    backup_dir: Option<&Path>,
) -> Result<Option<PathBuf>> {
    let mut file = open_unchanged(path, old)?;
    let meta = file.metadata()?;
    let backup = match backup_dir {
        None => None,
        Some(dir) => {
            fsutil::ensure_private_dir(dir)?;
            let b = backup_path(dir, path);
            fsutil::atomic_write(&b, old.as_bytes())?;
            Some(b)
        }
    };
    fsutil::atomic_write_with_permissions(path, new.as_bytes(), meta.permissions())?;
    if backup_dir.is_none() {
        // The old inode is no longer reachable by its name; our descriptor still reaches it.
        zero_fill(&mut file, path)?;
    }
    Ok(backup)
}

/// A source file's text. Text that is not UTF-8 is reported with the line where it stops being
/// text (never with its bytes).
fn read_source(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() + 1;
        hinted(
            format!("{}:{line}: not UTF-8 text", path.display()),
            "is this the right file? nothing was imported",
        )
    })
}

/// The candidate for `value` found under variable `var` (or no variable), or why it was skipped.
fn recognise(
    catalogue: &Catalogue,
    origin: String,
    var: Option<&str>,
    value: String,
    unknown: Unknown,
) -> Result<Candidate, (String, String)> {
    let value = Secret::new(value);
    if value.is_empty() {
        return Err((origin, "empty".to_owned()));
    }
    if Reference::is_uri(value.expose_secret()) {
        return Err((origin, "already a tv:// reference".to_owned()));
    }
    let by_name = var.and_then(|v| catalogue.detect_env(v));
    let (provider, field) = match by_name.or_else(|| catalogue.detect_value(value.expose_secret()))
    {
        Some(pf) => pf,
        None => return custom(origin, var, value, unknown),
    };
    let (provider, field) = (provider.id.clone(), field.name.clone());
    checked(catalogue, origin, &provider, &field, value)
}

/// What to do with a variable of no known provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unknown {
    /// Import it as a custom item when its name looks secret (`SVC_API_TOKEN`).
    SecretNamed,
    /// Import every one (`--all`).
    All,
    /// Skip it (sources that hold no variables).
    Skip,
}

/// A variable of no known provider as a custom item (`SVC_API_TOKEN` → `tv://svc-api/token`),
/// or why it was skipped.
fn custom(
    origin: String,
    var: Option<&str>,
    value: Secret,
    unknown: Unknown,
) -> Result<Candidate, (String, String)> {
    let skip = |why: &str| Err((origin.clone(), why.to_owned()));
    let Some(var) = var else {
        return skip("no known provider for this value");
    };
    let secret = tokenvault_core::audit::name_looks_secret(var);
    match unknown {
        Unknown::All => {}
        Unknown::SecretNamed if secret => {}
        Unknown::SecretNamed => {
            return skip(
                "no known provider, and the name does not look secret (import it with --all)",
            )
        }
        Unknown::Skip => return skip("no known provider for this name or value"),
    }
    let Some((item, field)) = custom_name(var) else {
        return skip("no known provider, and the name makes no valid item name");
    };
    Ok(Candidate {
        origin,
        item,
        field,
        provider: None,
        secret,
        value,
        sources: Vec::new(),
        line: None,
    })
}

/// `SVC_API_TOKEN` → (`svc-api`, `token`), `DB_PASSWORD` → (`db`, `password`), `OPENX_API_KEY`
/// → (`openx`, `api_key`), `FOO` → (`foo`, `token`): the variable's last word names the field when
/// it is one that names a secret.
fn custom_name(var: &str) -> Option<(String, String)> {
    const FIELDS: &[&str] = &["token", "secret", "key", "password", "passwd", "pat"];
    let lower = var.to_ascii_lowercase();
    let mut words: Vec<&str> = lower.split('_').filter(|w| !w.is_empty()).collect();
    let field = match words.as_slice() {
        [.., "api", "key"] if words.len() > 2 => {
            words.truncate(words.len() - 2);
            "api_key".to_owned()
        }
        [.., last] if words.len() > 1 && FIELDS.contains(last) => {
            let f = (*last).to_owned();
            words.pop();
            f
        }
        _ => "token".to_owned(),
    };
    let item = words.join("-");
    (ItemName::new(&item).is_ok() && FieldName::new(&field).is_ok()).then_some((item, field))
}

/// The candidate for `value` as `provider`'s `field`, after the format check of secret fields.
fn checked(
    catalogue: &Catalogue,
    origin: String,
    provider: &str,
    field: &str,
    value: Secret,
) -> Result<Candidate, (String, String)> {
    let Some((provider, field)) = catalogue
        .get(provider)
        .and_then(|p| p.field(field).map(|f| (p, f)))
    else {
        return Err((
            origin,
            format!("{provider}/{field} is not in the provider catalogue"),
        ));
    };
    if field.secret {
        if let FormatCheck::Invalid { .. } =
            catalogue.check_format(&provider.id, &field.name, value.expose_secret())
        {
            return Err((
                origin,
                format!(
                    "does not look like {} {}; store it with `tokenvault set --force` if it is one",
                    tokenvault_core::words::with_article(&provider.name),
                    field.name
                ),
            ));
        }
    }
    Ok(Candidate {
        origin,
        item: provider.id.clone(),
        field: field.name.clone(),
        provider: Some(provider.id.clone()),
        secret: field.secret,
        value,
        sources: Vec::new(),
        line: None,
    })
}

pub(crate) fn dotenv_file(catalogue: &Catalogue, path: &Path, unknown: Unknown) -> Result<Found> {
    let text = read_source(path)?;
    let entries = dotenv::parse(&text).map_err(|e| {
        hinted(
            format!("{}:{}: {}", path.display(), e.line, e.message),
            "fix that line and import again; nothing was imported",
        )
    })?;
    let mut found = Found::default();
    let source = found.add_source(path, SourceKind::Dotenv, &text);
    for e in entries {
        let origin = format!("{}:{} {}", path.display(), e.line, e.key);
        let r = recognise(catalogue, origin, Some(&e.key), e.value, unknown).map(|mut c| {
            c.line = Some(e.line);
            c
        });
        found.push(Some(source), r);
    }
    Ok(found)
}

fn environment(catalogue: &Catalogue, vars: &[String], unknown: Unknown) -> Result<Found> {
    let mut found = Found::default();
    let mut unset = Vec::new();
    for var in vars {
        match std::env::var(var) {
            Ok(v) => {
                let r = recognise(catalogue, format!("${var}"), Some(var), v, unknown);
                found.push(None, r);
            }
            Err(_) => unset.push(var.as_str()),
        }
    }
    if !unset.is_empty() {
        return Err(hinted(
            format!("not set in the environment: {}", unset.join(", ")),
            "name variables that are set (e.g. `tokenvault import env HF_TOKEN`); nothing was imported",
        ));
    }
    Ok(found)
}

/// Where ipfs_kit keeps values: JSON section and key → provider and field.
const IPFS_KIT_FIELDS: &[(&str, &str, &str, &str)] = &[
    ("huggingface", "token", "huggingface", "token"),
    ("huggingface", "test_repo", "huggingface", "test_repo"),
    ("aws", "access_key_id", "aws", "access_key_id"),
    ("aws", "secret_access_key", "aws", "secret_access_key"),
    ("aws", "region", "aws", "region"),
    ("s3", "access_key_id", "s3", "access_key_id"),
    ("s3", "secret_access_key", "s3", "secret_access_key"),
    ("s3", "endpoint_url", "s3", "endpoint_url"),
    ("s3", "bucket", "s3", "bucket"),
    ("s3", "test_bucket", "s3", "test_bucket"),
    ("storacha", "token", "storacha", "token"),
    ("storacha", "proof", "storacha", "proof"),
    ("storacha", "space_did", "storacha", "space_did"),
];

/// `~/.ipfs_kit/config.json` (or `file`): the keys of [`IPFS_KIT_FIELDS`]; other keys are reported
/// as skipped. Invalid JSON is an error naming the line and column.
pub(crate) fn ipfs_kit_path() -> Option<PathBuf> {
    envvars::get(envvars::HOME).map(|h| Path::new(&h).join(".ipfs_kit").join("config.json"))
}

pub(crate) fn ipfs_kit(catalogue: &Catalogue, file: Option<&Path>) -> Result<Found> {
    let path = match file {
        Some(f) => f.to_owned(),
        None => ipfs_kit_path().ok_or_else(|| {
            hinted(
                "HOME is not set",
                "name the file: `tokenvault import ipfs-kit FILE`",
            )
        })?,
    };
    let text = read_source(&path)?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        hinted(
            format!(
                "{}:{}:{}: not valid JSON ({:?} error)",
                path.display(),
                e.line(),
                e.column(),
                e.classify()
            ),
            "fix the file and import again; nothing was imported",
        )
    })?;
    let Some(top) = json.as_object() else {
        return Err(hinted(
            format!("{}: expected a JSON object at the top", path.display()),
            "is this an ipfs_kit config.json? nothing was imported",
        ));
    };
    let mut found = Found::default();
    let source = found.add_source(&path, SourceKind::Json, &text);
    for (section, body) in top {
        let Some(body) = body.as_object() else {
            // A top-level setting such as "version": stays in the file.
            found.sources[source].other_values = true;
            continue;
        };
        for (key, value) in body {
            let origin = format!("{} {section}.{key}", path.display());
            let skip = |why: &str| Err((origin.clone(), why.to_owned()));
            let r = match IPFS_KIT_FIELDS
                .iter()
                .find(|(s, k, _, _)| s == section && k == key)
            {
                None => skip("not a setting tokenvault knows"),
                Some((_, _, provider, field)) => match value.as_str() {
                    None => skip("not a string"),
                    Some("") => skip("empty"),
                    Some(v) if Reference::is_uri(v) => skip("already a tv:// reference"),
                    Some(v) => checked(
                        catalogue,
                        origin.clone(),
                        provider,
                        field,
                        Secret::from_str_copy(v),
                    ),
                },
            };
            found.push(Some(source), r);
        }
    }
    Ok(found)
}

/// The Hub's token file: `$HF_TOKEN_PATH`, else `$HF_HOME/token`, else
/// `${XDG_CACHE_HOME:-~/.cache}/huggingface/token` — as `huggingface_hub` resolves it.
pub(crate) fn hf_token_path() -> Option<PathBuf> {
    if let Some(p) = envvars::get(envvars::HF_TOKEN_PATH) {
        return Some(PathBuf::from(p));
    }
    let home = envvars::get(envvars::HF_HOME)
        .map(PathBuf::from)
        .or_else(|| {
            envvars::get(envvars::XDG_CACHE_HOME)
                .map(PathBuf::from)
                .or_else(|| envvars::get(envvars::HOME).map(|h| Path::new(&h).join(".cache")))
                .map(|c| c.join("huggingface"))
        })?;
    Some(home.join("token"))
}

/// A `stored_tokens` name as an item name: `huggingface-<name>`, lower-case, other characters `-`.
fn item_for_token_name(name: &str) -> String {
    let mut s: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    s.truncate(64 - "huggingface-".len());
    let s = s.trim_matches('-');
    if s.is_empty() {
        "huggingface-imported".to_owned()
    } else {
        format!("huggingface-{s}")
    }
}

/// An INI section: its name, and its `key = value` pairs with their lines.
type Section = (String, Vec<(String, String, usize)>);

/// Parses the `stored_tokens` INI file as Python's `configparser` writes it: `[name]` sections,
/// `key = value` (or `key: value`) lines, `#`/`;` comments. Errors name the line, never a value.
fn parse_ini(text: &str) -> Result<Vec<Section>, (usize, String)> {
    let mut sections: Vec<Section> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if let Some(rest) = t.strip_prefix('[') {
            let name = rest
                .strip_suffix(']')
                .ok_or((line, "a section header must end with ']'".to_owned()))?;
            sections.push((name.to_owned(), Vec::new()));
            continue;
        }
        let Some((k, v)) = t.split_once(['=', ':']) else {
            return Err((line, "expected 'key = value' or a [section]".to_owned()));
        };
        let Some(section) = sections.last_mut() else {
            return Err((line, "a value before any [section]".to_owned()));
        };
        section
            .1
            .push((k.trim().to_ascii_lowercase(), v.trim().to_owned(), line));
    }
    Ok(sections)
}

pub(crate) fn huggingface(catalogue: &Catalogue) -> Result<Found> {
    let Some(token_path) = hf_token_path() else {
        return Err(hinted(
            "cannot find the Hugging Face token file: HOME, HF_HOME and HF_TOKEN_PATH are all unset",
            "set HF_TOKEN_PATH to the file",
        ));
    };
    let stored_path = token_path.with_file_name("stored_tokens");
    let token_text = match std::fs::read_to_string(&token_path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("reading {}", token_path.display())))
        }
    };
    let active = token_text
        .as_deref()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let stored_text = match std::fs::read_to_string(&stored_path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("reading {}", stored_path.display())))
        }
    };
    let stored = match &stored_text {
        Some(t) => parse_ini(t).map_err(|(line, msg)| {
            hinted(
                format!("{}:{line}: {msg}", stored_path.display()),
                "fix that line (or `hf auth logout` and log in again) and import again; nothing was imported",
            )
        })?,
        None => Vec::new(),
    };
    let mut found = Found::default();
    let token_source = token_text
        .as_deref()
        .map(|t| found.add_source(&token_path, SourceKind::Whole, t));
    let stored_source = stored_text
        .as_deref()
        .map(|t| found.add_source(&stored_path, SourceKind::Whole, t));
    let mut active_named = false;
    for (name, pairs) in stored {
        if pairs.iter().any(|(k, _, _)| k != "hf_token") {
            // Other settings (e.g. an expiry) live beside the token: the file is more than tokens.
            if let Some(s) = stored_source {
                found.sources[s].other_values = true;
            }
        }
        let Some((_, value, line)) = pairs.into_iter().find(|(k, _, _)| k == "hf_token") else {
            let origin = format!("{} [{name}]", stored_path.display());
            found.push(stored_source, Err((origin, "no hf_token".to_owned())));
            continue;
        };
        let is_active = active.as_deref() == Some(value.as_str());
        active_named |= is_active;
        let origin = format!(
            "{}:{line} [{name}]{}",
            stored_path.display(),
            if is_active { " (active)" } else { "" }
        );
        let r = recognise(
            catalogue,
            origin,
            Some(envvars::HF_TOKEN),
            value,
            Unknown::Skip,
        )
        .map(|mut c| {
            // The active token is the one programs use: it becomes plain `huggingface`.
            if is_active {
                // The token file holds the same value: it goes with this candidate.
                c.sources.extend(token_source);
            } else {
                c.item = item_for_token_name(&name);
            }
            c
        });
        found.push(stored_source, r);
    }
    if let (Some(value), false) = (active, active_named) {
        let r = recognise(
            catalogue,
            format!("{} (active)", token_path.display()),
            Some(envvars::HF_TOKEN),
            value,
            Unknown::Skip,
        );
        found.push(token_source, r);
    }
    if found.candidates.is_empty() && found.skipped.is_empty() {
        found.skipped.push((
            token_path.display().to_string(),
            "no Hugging Face token file or stored_tokens here".to_owned(),
        ));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_variables_become_custom_items() {
        let n = |v: &str| custom_name(v).map(|(i, f)| format!("{i}/{f}"));
        assert_eq!(n("SVC_API_TOKEN").as_deref(), Some("svc-api/token"));
        assert_eq!(n("DB_PASSWORD").as_deref(), Some("db/password"));
        assert_eq!(n("OPENX_API_KEY").as_deref(), Some("openx/api_key"));
        assert_eq!(n("API_KEY").as_deref(), Some("api/key"));
        assert_eq!(n("FOO").as_deref(), Some("foo/token"));
        assert_eq!(n("_X__SECRET").as_deref(), Some("x/secret"));
        assert_eq!(n("TOKEN").as_deref(), Some("token/token"));
        assert_eq!(n("__").as_deref(), None);
    }

    #[test]
    fn ini_as_configparser_writes_it() {
        let s =
            parse_ini("[work]\nhf_token = hf_x\n\n[personal]\nhf_token = hf_y\nexpires_at = 1\n")
                .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].0, "personal");
        assert_eq!(s[1].1[0], ("hf_token".to_owned(), "hf_y".to_owned(), 5));
        assert_eq!(parse_ini("hf_token = x\n").unwrap_err().0, 1);
        assert_eq!(parse_ini("[a]\n[b\n").unwrap_err().0, 2);
        assert_eq!(parse_ini("[a]\njust words\n").unwrap_err().0, 2);
    }

    #[test]
    fn token_names_become_item_names() {
        assert_eq!(
            item_for_token_name("My Work Token"),
            "huggingface-my-work-token"
        );
        assert_eq!(item_for_token_name("!!!"), "huggingface-imported");
        assert!(ItemName::new(&item_for_token_name(&"x".repeat(200))).is_ok());
    }
}
