//! `scan --home --fix` for the credential files that have no helper protocol of their own:
//! `~/.netrc`, `~/.pypirc`, `~/.npmrc` and the Hub's `token` and `stored_tokens`. Each value is
//! stored in the vault and read back; then the route the tool will use from now on is checked
//! (git through tokenvault's credential helper for a git host in `.netrc`, pip's `keyring`
//! command for a `.pypirc` password); and only then are its bytes removed from the file — the
//! entry, the line or the value, every other byte kept — with the old copy overwritten
//! (`services::shred`). A value the vault already holds differently is never replaced: its
//! entry stays. With `dry_run` (and no vault: `None`) nothing is stored or changed: the plan
//! comes back as notes.
//! Data only: nothing here prints.

use crate::services::home_scan::{git_helper_value, git_through_helper};
use crate::services::keyring_map;
use crate::services::shred;
use crate::vault::{Target, Vault};
use anyhow::{Context, Result};
use std::ops::Range;
use std::path::{Path, PathBuf};
use tokenvault_core::credfiles::{self, item_name};
use tokenvault_core::{FieldName, ItemName, Secret};
use tokenvault_store::Key;
use zeroize::Zeroizing;

/// What fixing one credential file did.
#[derive(Debug, Default)]
pub struct FileFix {
    /// What was moved (or, in a dry run, would be), one line each.
    pub notes: Vec<String>,
    /// What was left in the file, and why, one line each.
    pub kept: Vec<String>,
    /// Lines of the file (1-based, as they were) whose value is gone.
    pub removed_lines: Vec<u64>,
    /// The references that now hold the moved values.
    pub references: Vec<String>,
    /// The whole file was shredded.
    pub shredded: bool,
}

/// Stores `value` at `item/field` unless the vault holds another value there; `Err(why)` when
/// it does. The write is read back (`write_many_verified`).
fn store(
    vault: Option<&Vault<'_>>,
    item: &str,
    field: &str,
    provider: Option<&str>,
    value: &Secret,
    now: &str,
) -> Result<std::result::Result<String, String>> {
    let vault = vault.context("the vault is not open")?;
    let key = Key::new(ItemName::new(item)?, FieldName::new(field)?);
    let reference = format!("tv://{item}/{field}");
    match vault
        .store()
        .get_many(std::slice::from_ref(&key))?
        .into_iter()
        .next()
        .flatten()
    {
        Some(held) if held != *value => {
            return Ok(Err(format!(
                "{reference} holds a different value; not replaced"
            )))
        }
        Some(_) => {}
        None => {
            vault.write_many_verified(
                &[(
                    Target {
                        key,
                        provider: provider.map(str::to_owned),
                    },
                    value.clone(),
                )],
                now,
            )?;
        }
    }
    Ok(Ok(reference))
}

/// Reads a file's text (its real target: a symlinked dotfile is changed where it lives).
fn read(path: &Path) -> Result<(PathBuf, Zeroizing<String>)> {
    let target = crate::mcp::files::write_target(path)?;
    let text = Zeroizing::new(
        std::fs::read_to_string(&target)
            .with_context(|| format!("reading {}", target.display()))?,
    );
    Ok((target, text))
}

fn line_of(text: &str, at: usize) -> u64 {
    text.as_bytes()[..at]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64
        + 1
}

/// `text` with each of `cuts` replaced by its string.
fn splice(text: &str, cuts: &mut [(Range<usize>, String)]) -> Zeroizing<String> {
    cuts.sort_by_key(|(r, _)| r.start);
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    let mut at = 0;
    for (r, with) in cuts.iter() {
        if r.start < at {
            continue;
        }
        out.push_str(&text[at..r.start]);
        out.push_str(with);
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

/// `~/.netrc`: each `machine` entry with a password is stored (a git host's token in its item —
/// `huggingface`, `github` — and checked through git and tokenvault's helper; any other host's
/// password in `netrc-HOST/password`), then the entry is removed.
pub fn move_netrc(
    vault: Option<&Vault<'_>>,
    path: &Path,
    shown: &str,
    now: &str,
    dry_run: bool,
) -> Result<FileFix> {
    let (target, text) = read(path)?;
    let mut fix = FileFix::default();
    let mut cuts = Vec::new();
    let helper = git_helper_value()?;
    for e in credfiles::netrc_entries(&text) {
        let Some(pr) = e.password.clone() else {
            continue;
        };
        let host = e.machine.to_ascii_lowercase();
        let rule = tokenvault_core::gitcred::rule_for(&host);
        let (item, field, provider) = match &rule {
            Some(r) => (r.default_item.to_owned(), "token", Some(r.default_item)),
            None => (item_name("netrc", &host), "password", None),
        };
        let line = line_of(&text, pr.start);
        if dry_run {
            fix.notes.push(format!(
                "would store {shown}'s entry for {host} in tv://{item}/{field}{}, then remove the entry",
                if rule.is_some() { " and point git at tokenvault for it" } else { "" }
            ));
            continue;
        }
        let value = Secret::from_str_copy(&text[pr]);
        let reference = match store(vault, &item, field, provider, &value, now)? {
            Ok(r) => r,
            Err(why) => {
                fix.kept
                    .push(format!("{shown}: {host} left as it is: {why}"));
                continue;
            }
        };
        if rule.is_some() {
            if let Some(why) = git_through_helper(&host, &value, &helper)? {
                fix.kept
                    .push(format!("{shown}: {host} left as it is: {why}"));
                continue;
            }
            fix.notes.push(format!(
                "{host}: the token is in {reference}, git asks tokenvault for it (credential.https://{host}.helper), and its entry is gone from {shown}"
            ));
        } else {
            fix.notes.push(format!(
                "{host}: the password is in {reference} and its entry is gone from {shown}; give it to a program with tokenvault run -e VAR={reference} -- COMMAND"
            ));
        }
        fix.references.push(reference);
        fix.removed_lines
            .extend(line..=line_of(&text, e.span.end.saturating_sub(1).max(e.span.start)));
        cuts.push((e.span.clone(), String::new()));
    }
    if !cuts.is_empty() {
        let out = splice(&text, &mut cuts);
        shred::replace_shredding(&target, text.as_bytes(), out.as_bytes())?;
    }
    Ok(fix)
}

/// `~/.pypirc`: each section's password is stored (`tv://pypi/password` for `[pypi]`,
/// `tv://pypi-SECTION/password` for another), mapped for the `keyring` command under the
/// section's repository and user name, and asked back through `tokenvault keyring get` as pip
/// asks; then the `password` line goes.
pub fn move_pypirc(
    vault: Option<&Vault<'_>>,
    tv_home: &Path,
    user_home: Option<&Path>,
    path: &Path,
    shown: &str,
    now: &str,
    dry_run: bool,
) -> Result<FileFix> {
    let (target, text) = read(path)?;
    let mut fix = FileFix::default();
    let mut cuts = Vec::new();
    let exe = crate::exec::launcher::self_path()?;
    for s in credfiles::pypirc_sections(&text) {
        let item = if s.name == "pypi" {
            "pypi".to_owned()
        } else {
            item_name("pypi", &s.name)
        };
        let username = s.username.clone().unwrap_or_else(|| "__token__".to_owned());
        let Some(repository) = s.repository.clone() else {
            fix.kept.push(format!(
                "{shown}: [{}] left as it is: it names no repository URL",
                s.name
            ));
            continue;
        };
        if dry_run {
            fix.notes.push(format!(
                "would store [{}]'s password from {shown} in tv://{item}/password for `keyring get {repository} {username}`, then remove its password line",
                s.name
            ));
            continue;
        }
        let value = Secret::from_str_copy(&text[s.password.clone()]);
        let reference = match store(vault, &item, "password", None, &value, now)? {
            Ok(r) => r,
            Err(why) => {
                fix.kept
                    .push(format!("{shown}: [{}] left as it is: {why}", s.name));
                continue;
            }
        };
        keyring_map::add(
            tv_home,
            keyring_map::Entry {
                service: repository.clone(),
                username: username.clone(),
                reference: reference.clone(),
            },
        )?;
        // As pip runs it: `keyring get URL USER`, the password on stdout.
        let out = std::process::Command::new(&exe)
            .args(["keyring", "get", &repository, &username])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .context("running tokenvault keyring get")?;
        let answer = Zeroizing::new(out.stdout);
        let same = out.status.success()
            && answer.strip_suffix(b"\n").unwrap_or(&answer) == value.expose_secret().as_bytes();
        if !same {
            fix.kept.push(format!(
                "{shown}: [{}] left as it is: `tokenvault keyring get` did not answer with it (is the vault unlocked? `tokenvault unlock`)",
                s.name
            ));
            continue;
        }
        fix.notes.push(format!(
            "[{}]: the password is in {reference} and its line is gone from {shown}; twine: tokenvault run -e TWINE_USERNAME={username} -e TWINE_PASSWORD={reference} -- twine upload dist/*; pip: `keyring get {repository} {username}` answers from the vault (pip --keyring-provider subprocess, with tokenvault linked as `keyring` on PATH)",
            s.name
        ));
        fix.references.push(reference);
        fix.removed_lines.push(s.line_no);
        cuts.push((s.line.clone(), String::new()));
    }
    if !cuts.is_empty() {
        let out = splice(&text, &mut cuts);
        shred::replace_shredding(&target, text.as_bytes(), out.as_bytes())?;
        // pip runs the `keyring` it finds on PATH; one that is there already (Python's own) is
        // left alone.
        if crate::exec::launcher::find_on_path("keyring").is_none() {
            if let Some(home) = user_home {
                match crate::services::home_scan::helper_link(home, "keyring") {
                    Ok(link) => fix.notes.push(format!(
                        "pip finds tokenvault as `keyring` at {} (pip --keyring-provider subprocess; that directory must be on PATH)",
                        link.display()
                    )),
                    Err(e) => fix.kept.push(format!("the `keyring` link for pip was not made: {e:#}")),
                }
            }
        }
    }
    Ok(fix)
}

/// `~/.npmrc`: each `_authToken` value is stored (`tv://npm/token` for the public registry,
/// `tv://npm-HOST/token` for another) and replaced by `${NPM_TOKEN}` (`${NPM_TOKEN_HOST}`), which
/// npm expands from its environment: `tokenvault run -e NPM_TOKEN=tv://npm/token -- npm …`.
pub fn move_npmrc(
    vault: Option<&Vault<'_>>,
    path: &Path,
    shown: &str,
    now: &str,
    dry_run: bool,
) -> Result<FileFix> {
    let (target, text) = read(path)?;
    let mut fix = FileFix::default();
    let mut cuts = Vec::new();
    for t in credfiles::npmrc_tokens(&text) {
        let item = if t.registry == credfiles::NPM_REGISTRY {
            "npm".to_owned()
        } else {
            item_name("npm", &t.registry)
        };
        let var = credfiles::npm_variable(&t.registry);
        if dry_run {
            fix.notes.push(format!(
                "would store {shown}'s token for {} in tv://{item}/token and write ${{{var}}} in its place",
                t.registry
            ));
            continue;
        }
        let value = Secret::from_str_copy(&text[t.value.clone()]);
        let reference = match store(vault, &item, "token", None, &value, now)? {
            Ok(r) => r,
            Err(why) => {
                fix.kept
                    .push(format!("{shown}: {} left as it is: {why}", t.registry));
                continue;
            }
        };
        fix.notes.push(format!(
            "{}: the token is in {reference} and {shown} reads it from ${{{var}}}: run npm as tokenvault run -e {var}={reference} -- npm publish (or make a wrapper: tokenvault wrapper)",
            t.registry
        ));
        fix.references.push(reference);
        fix.removed_lines.push(t.line_no);
        cuts.push((t.value.clone(), format!("${{{var}}}")));
    }
    if !cuts.is_empty() {
        let out = splice(&text, &mut cuts);
        // The new file must hold no token npm would still read.
        if !credfiles::npmrc_tokens(&out)
            .iter()
            .all(|t| !fix.removed_lines.contains(&t.line_no))
        {
            anyhow::bail!(
                "{shown}: a token is still there after the rewrite; the file was left alone"
            );
        }
        shred::replace_shredding(&target, text.as_bytes(), out.as_bytes())?;
    }
    Ok(fix)
}

/// The Hub's `token` and `stored_tokens` (as `huggingface_hub` finds them): the active token in
/// `tv://huggingface`, each named token in `tv://huggingface-NAME`; a file is shredded once every
/// token it holds is in the vault and it holds nothing else.
pub fn move_hub_tokens(
    vault: Option<&Vault<'_>>,
    catalogue: &tokenvault_core::Catalogue,
    shown_of: &dyn Fn(&Path) -> String,
    now: &str,
    dry_run: bool,
) -> Result<FileFix> {
    let found = crate::services::import_sources::huggingface(catalogue)?;
    let mut fix = FileFix::default();
    let mut source_ok = vec![true; found.sources.len()];
    for c in &found.candidates {
        if dry_run {
            fix.notes.push(format!(
                "would store the Hub token of {} in tv://{}/{}",
                shown_of(Path::new(c.origin.split(':').next().unwrap_or_default())),
                c.item,
                c.field
            ));
            continue;
        }
        match store(
            vault,
            &c.item,
            &c.field,
            c.provider.as_deref(),
            &c.value,
            now,
        )? {
            Ok(reference) => {
                fix.notes.push(format!(
                    "the Hub token {} is in {reference}: run Hub tools as tokenvault run -e HF_TOKEN={reference} -- COMMAND",
                    c.origin
                        .rsplit_once(" [")
                        .map(|(_, n)| format!("[{n}"))
                        .unwrap_or_else(|| "(active)".to_owned())
                ));
                fix.references.push(reference);
            }
            Err(why) => {
                for s in &c.sources {
                    source_ok[*s] = false;
                }
                fix.kept
                    .push(format!("a Hub token left where it is: {why}"));
            }
        }
    }
    for (i, s) in found.sources.iter().enumerate() {
        let shown = shown_of(&s.path);
        if s.other_values {
            fix.kept.push(format!(
                "{shown} holds more than tokens; it is kept (the tokens are in the vault: remove them with `hf auth logout`)"
            ));
            continue;
        }
        if dry_run {
            fix.notes.push(format!("would shred {shown}"));
            continue;
        }
        if !source_ok[i] {
            continue;
        }
        shred::shred_file(&s.path, s.text.as_bytes())?;
        fix.notes
            .push(format!("{shown} was overwritten and removed"));
        fix.shredded = true;
    }
    Ok(fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_each_range_and_keeps_the_rest() {
        let text = "a=1\nb=SECRET\nc=3\n";
        let s = text.find("SECRET").unwrap();
        let out = splice(text, &mut [(s..s + 6, "${B}".to_owned())]);
        assert_eq!(out.as_str(), "a=1\nb=${B}\nc=3\n");
        assert_eq!(line_of(text, s), 2);
    }
}
