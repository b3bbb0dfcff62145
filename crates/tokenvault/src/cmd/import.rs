//! `tokenvault import huggingface | dotenv FILE | ipfs-kit [FILE] | env VAR…`: move plaintext
//! tokens into the vault.
//!
//! Each source yields candidates (where it was found, the item and field it belongs to, the value);
//! providers are recognised from variable names, then from value formats. Importing is idempotent:
//! a value the vault already holds — at the same place or elsewhere — is reported, not stored
//! again, and a place that holds a *different* value is never overwritten (the source stays, so
//! nothing is lost). Every stored value is read back before it counts as imported. `--dry-run`
//! reports the same plan and changes nothing. Malformed sources are errors naming file and line,
//! raised before anything is stored. Output names places and masked values, never a value.

use crate::cli::{ImportArgs, ImportSource};
use crate::context::{now_rfc3339, Ctx, Outcome};
use crate::envvars;
use crate::error::hinted;
use crate::vault::{mask_for, Target};
use anyhow::{Context, Result};
use serde_json::json;
use std::path::{Path, PathBuf};
use tokenvault_core::{dotenv, Catalogue, FieldName, FormatCheck, ItemName, Reference, Secret};
use tokenvault_store::Key;

/// A value found in a source.
struct Candidate {
    /// `path:line`, `$VAR`, or `path [name]`.
    origin: String,
    item: String,
    field: String,
    provider: String,
    value: Secret,
}

/// What a source yielded: candidates, and lines it passed over (for the report).
#[derive(Default)]
struct Found {
    candidates: Vec<Candidate>,
    skipped: Vec<(String, String)>,
}

pub fn run(ctx: &mut Ctx, args: &ImportArgs) -> Result<Outcome> {
    let catalogue = ctx.settings.catalogue.clone();
    let found = match &args.source {
        ImportSource::Huggingface => huggingface(&catalogue)?,
        ImportSource::Dotenv { file } => dotenv_file(&catalogue, file)?,
        ImportSource::IpfsKit { file } => ipfs_kit(&catalogue, file.as_deref())?,
        ImportSource::Env { vars } => environment(&catalogue, vars)?,
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
    let vault = ctx.open_vault()?;
    let index = vault.load_index()?;
    // What the vault holds now, to recognise values that are already in it.
    let keys = vault.keys(&index)?;
    let values = vault.store().get_many(&keys)?;
    let mut held: Vec<(Key, Secret)> = keys
        .into_iter()
        .zip(values)
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    let now = now_rfc3339();
    let mut rows = Vec::new();
    let mut conflicts = false;
    for c in found.candidates {
        let key = Key::new(ItemName::new(&c.item)?, FieldName::new(&c.field)?);
        let target = Target {
            key: key.clone(),
            provider: Some(c.provider.clone()),
        };
        let reference = target.reference();
        let masked = mask_for(
            &catalogue,
            Some(&c.provider),
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
        let (status, detail) = match (same_place, elsewhere) {
            (Some(true), _) => ("already stored", reference.clone()),
            (None, Some(k)) => ("already stored", format!("as tv://{}/{}", k.item, k.field)),
            (Some(false), _) => {
                conflicts = true;
                (
                    "conflict",
                    format!("{reference} holds a different value; not replaced"),
                )
            }
            (None, None) => {
                if !dry_run {
                    vault.write(&target, &c.value, &now)?;
                    // Counts only once it reads back.
                    let back = vault.store().get(&key)?;
                    if back.as_ref() != Some(&c.value) {
                        return Err(hinted(
                            format!("{reference} did not read back after storing"),
                            "the source is untouched; check the backend with `tokenvault doctor`",
                        ));
                    }
                }
                // What the vault holds (or would hold) now: later candidates compare against it.
                held.push((key.clone(), c.value.clone()));
                (
                    if dry_run { "would import" } else { "imported" },
                    reference.clone(),
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
    if conflicts {
        printer.hint("replace a stored value with `tokenvault set REF` (the old one is kept for rollback), then import again");
        return Ok(Outcome::Negative);
    }
    Ok(Outcome::Success)
}

fn read_source(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// The candidate for `value` found under variable `var` (or no variable), or why it was skipped.
fn recognise(
    catalogue: &Catalogue,
    origin: String,
    var: Option<&str>,
    value: String,
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
        None => {
            return Err((
                origin,
                "no known provider for this name or value".to_owned(),
            ))
        }
    };
    let (provider, field) = (provider.id.clone(), field.name.clone());
    checked(catalogue, origin, &provider, &field, value)
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
                format!("does not look like a {} {}; store it with `tokenvault set --force` if it is one", provider.name, field.name),
            ));
        }
    }
    Ok(Candidate {
        origin,
        item: provider.id.clone(),
        field: field.name.clone(),
        provider: provider.id.clone(),
        value,
    })
}

fn push(found: &mut Found, r: Result<Candidate, (String, String)>) {
    match r {
        Ok(c) => found.candidates.push(c),
        Err(s) => found.skipped.push(s),
    }
}

fn dotenv_file(catalogue: &Catalogue, path: &Path) -> Result<Found> {
    let text = read_source(path)?;
    let entries = dotenv::parse(&text).map_err(|e| {
        hinted(
            format!("{}:{}: {}", path.display(), e.line, e.message),
            "fix that line and import again; nothing was imported",
        )
    })?;
    let mut found = Found::default();
    for e in entries {
        let origin = format!("{}:{} {}", path.display(), e.line, e.key);
        let r = recognise(catalogue, origin, Some(&e.key), e.value);
        push(&mut found, r);
    }
    Ok(found)
}

fn environment(catalogue: &Catalogue, vars: &[String]) -> Result<Found> {
    let mut found = Found::default();
    let mut unset = Vec::new();
    for var in vars {
        match std::env::var(var) {
            Ok(v) => {
                let r = recognise(catalogue, format!("${var}"), Some(var), v);
                push(&mut found, r);
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
    ("s3", "test_bucket", "s3", "test_bucket"),
    ("storacha", "token", "storacha", "token"),
];

/// `~/.ipfs_kit/config.json` (or `file`): the keys of [`IPFS_KIT_FIELDS`]; other keys are reported
/// as skipped. Invalid JSON is an error naming the line and column.
fn ipfs_kit(catalogue: &Catalogue, file: Option<&Path>) -> Result<Found> {
    let path = match file {
        Some(f) => f.to_owned(),
        None => envvars::get(envvars::HOME)
            .map(|h| Path::new(&h).join(".ipfs_kit").join("config.json"))
            .ok_or_else(|| {
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
    for (section, body) in top {
        let Some(body) = body.as_object() else {
            continue;
        };
        for (key, value) in body {
            let origin = format!("{} {section}.{key}", path.display());
            let Some((_, _, provider, field)) = IPFS_KIT_FIELDS
                .iter()
                .find(|(s, k, _, _)| s == section && k == key)
            else {
                found
                    .skipped
                    .push((origin, "not a setting tokenvault knows".to_owned()));
                continue;
            };
            let Some(value) = value.as_str() else {
                found.skipped.push((origin, "not a string".to_owned()));
                continue;
            };
            let value = Secret::from_str_copy(value);
            if value.is_empty() {
                found.skipped.push((origin, "empty".to_owned()));
                continue;
            }
            let r = checked(catalogue, origin, provider, field, value);
            push(&mut found, r);
        }
    }
    Ok(found)
}

/// The Hub's token file: `$HF_TOKEN_PATH`, else `$HF_HOME/token`, else
/// `${XDG_CACHE_HOME:-~/.cache}/huggingface/token` — as `huggingface_hub` resolves it.
fn hf_token_path() -> Option<PathBuf> {
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

fn huggingface(catalogue: &Catalogue) -> Result<Found> {
    let Some(token_path) = hf_token_path() else {
        return Err(hinted(
            "cannot find the Hugging Face token file: HOME, HF_HOME and HF_TOKEN_PATH are all unset",
            "set HF_TOKEN_PATH to the file",
        ));
    };
    let stored_path = token_path.with_file_name("stored_tokens");
    let active = match std::fs::read_to_string(&token_path) {
        Ok(t) => Some(t.trim().to_owned()).filter(|t| !t.is_empty()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("reading {}", token_path.display())))
        }
    };
    let stored = match std::fs::read_to_string(&stored_path) {
        Ok(t) => parse_ini(&t).map_err(|(line, msg)| {
            hinted(
                format!("{}:{line}: {msg}", stored_path.display()),
                "fix that line (or `hf auth logout` and log in again) and import again; nothing was imported",
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("reading {}", stored_path.display()))),
    };
    let mut found = Found::default();
    let mut active_named = false;
    for (name, pairs) in stored {
        let Some((_, value, line)) = pairs.into_iter().find(|(k, _, _)| k == "hf_token") else {
            found.skipped.push((
                format!("{} [{name}]", stored_path.display()),
                "no hf_token".to_owned(),
            ));
            continue;
        };
        let is_active = active.as_deref() == Some(value.as_str());
        active_named |= is_active;
        let origin = format!(
            "{}:{line} [{name}]{}",
            stored_path.display(),
            if is_active { " (active)" } else { "" }
        );
        let r = recognise(catalogue, origin, Some(envvars::HF_TOKEN), value).map(|mut c| {
            // The active token is the one programs use: it becomes plain `huggingface`.
            if !is_active {
                c.item = item_for_token_name(&name);
            }
            c
        });
        push(&mut found, r);
    }
    if let (Some(value), false) = (active, active_named) {
        let r = recognise(
            catalogue,
            format!("{} (active)", token_path.display()),
            Some(envvars::HF_TOKEN),
            value,
        );
        push(&mut found, r);
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
