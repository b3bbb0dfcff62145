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
use crate::error::hinted;
use crate::printer::Printer;
use crate::services::livecheck::{self, Checked};
use crate::services::shred::{open_unchanged, shred_file, zero_fill};
use crate::vault::{mask_for, Target, Vault};
use anyhow::Result;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tokenvault_core::{dotenv, Catalogue, FieldName, ItemName, Secret};
use tokenvault_store::{fsutil, Key};

use crate::services::import_sources::{
    dotenv_file, environment, huggingface, ipfs_kit, Found, SourceFile, SourceKind, Unknown,
};

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
            let request = crate::services::mcp_secure::Request {
                client: client.clone(),
                server: server.clone(),
                dry_run: args.dry_run,
            };
            let report = crate::services::mcp_secure::secure_clients(ctx, &request)?;
            let global = &ctx.settings.global;
            return crate::render::mcp_secure::render(
                &ctx.printer,
                &report,
                global.json,
                global.quiet,
            );
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
    let mut held = Held::new(vault.held_values(&index)?);
    let now = now_rfc3339();
    let mut rows = Vec::new();
    let mut placed = Vec::with_capacity(found.candidates.len());
    let mut conflicts = false;
    let mut pending = Vec::new();
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
        let same_place = held.same_place(&key, &c.value);
        let elsewhere = held.key_holding(&c.value);
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
                    // Written all at once after the loop; counts only once it reads back.
                    pending.push((target.clone(), c.value.clone()));
                    audited.push(reference.clone());
                }
                // What the vault holds (or would hold) now: later candidates compare against it.
                held.add(key.clone(), c.value.clone());
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

    // One vault write and one index write for the whole import (each value read back).
    if !pending.is_empty() {
        vault.write_many_verified(&pending, &now)?;
    }

    // The live check: of every token stored now (as `set` does), and with --shred also of those
    // already stored, since a file is shredded only when its tokens work.
    let checks = if dry_run || args.no_verify {
        placed.iter().map(|_| None).collect()
    } else {
        check_stored(
            &vault, &printer, found, &placed, args.shred, &mut rows, &now,
        )
    };
    let rejected = checks
        .iter()
        .any(|c| matches!(c, Some(Checked::Rejected { .. })));

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

/// Checks each imported token (and, with `shred`, each already stored) with its provider, says
/// what was found, notes it in its row, and records it in the index.
fn check_stored(
    vault: &Vault<'_>,
    printer: &Printer,
    found: &Found,
    placed: &[Placed],
    shred: bool,
    rows: &mut [Value],
    now: &str,
) -> Vec<Option<Checked>> {
    let mut checks: Vec<Option<Checked>> = Vec::with_capacity(placed.len());
    for (i, (c, p)) in found.candidates.iter().zip(placed).enumerate() {
        let wanted = match p {
            Placed::Imported(_) => true,
            Placed::AlreadyThere(_) => shred,
            Placed::Conflict => false,
        };
        if !wanted || !c.secret {
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
        let checked = livecheck::check(
            vault.catalogue,
            c.provider.as_deref(),
            &c.field,
            &c.value,
            now,
        );
        if let Some(w) = checked.record(vault, &target) {
            printer.warning(&w);
        }
        match &checked {
            Checked::Valid { summary, .. } => {
                printer.note(&format!("Verified {shown}: {summary}."));
                rows[i]["check"] = json!("valid");
            }
            Checked::Rejected { explanation, .. } => {
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

    checks
}

/// What the vault holds, looked up by key and by value (a hash of it; equal values are then
/// compared), so that an import of n tokens is not n × n comparisons.
struct Held {
    entries: Vec<(Key, Secret)>,
    by_key: HashMap<Key, usize>,
    by_value: HashMap<u64, Vec<usize>>,
}

impl Held {
    fn new(entries: Vec<(Key, Secret)>) -> Held {
        let mut held = Held {
            entries: Vec::with_capacity(entries.len()),
            by_key: HashMap::new(),
            by_value: HashMap::new(),
        };
        for (k, v) in entries {
            held.add(k, v);
        }
        held
    }

    /// Whether `key` holds `value` (`None`: `key` holds nothing).
    fn same_place(&self, key: &Key, value: &Secret) -> Option<bool> {
        self.by_key.get(key).map(|&i| self.entries[i].1 == *value)
    }

    /// A key that holds `value`.
    fn key_holding(&self, value: &Secret) -> Option<Key> {
        self.by_value
            .get(&value_hash(value))?
            .iter()
            .find(|&&i| self.entries[i].1 == *value)
            .map(|&i| self.entries[i].0.clone())
    }

    fn add(&mut self, key: Key, value: Secret) {
        let i = self.entries.len();
        self.by_key.insert(key.clone(), i);
        self.by_value.entry(value_hash(&value)).or_default().push(i);
        self.entries.push((key, value));
    }
}

/// Rewrites, shreds or keeps one source file after the import; says which and why. Returns
/// whether the file was changed.
/// Where settling a source reports, and where it keeps backups (tokenvault's private directory).
struct Settling<'a> {
    printer: &'a Printer,
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
        shred_file(&source.path, source.text.as_bytes())?;
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
    let mut file = open_unchanged(path, old.as_bytes())?;
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

/// A process-local hash of a value, to find equal values without comparing each with each.
fn value_hash(value: &Secret) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    value.expose_secret().hash(&mut h);
    h.finish()
}
