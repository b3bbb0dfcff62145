//! Where plaintext tokens live outside the vault, read as import candidates: dotenv files, the
//! environment, ipfs_kit's config, the Hugging Face token files. Shared by `import` (which stores
//! them) and `doctor` (which reports them). Data only: nothing here prints or changes a file.

use crate::envvars;
use crate::error::hinted;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use tokenvault_core::{dotenv, Catalogue, FieldName, FormatCheck, ItemName, Reference, Secret};

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

pub(crate) fn environment(
    catalogue: &Catalogue,
    vars: &[String],
    unknown: Unknown,
) -> Result<Found> {
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
