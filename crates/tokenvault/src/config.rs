//! The user's config file (`config.toml`): the remembered backend, the user's own providers and
//! (later) profiles. We read it with `toml` and change it with `toml_edit`, so that a config the
//! user edited by hand keeps its comments and layout; every rewrite is atomic and keeps a backup.

use anyhow::{Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tokenvault_core::Catalogue;
use tokenvault_store::{fsutil, BackendKind};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The backend chosen on first use (or by the user).
    pub backend: Option<BackendKind>,
    /// User providers, same schema as `rules/providers.toml`.
    #[serde(default)]
    pub provider: Vec<toml::Value>,
    /// Profiles: name → { VAR = reference }.
    #[serde(default)]
    pub profiles: BTreeMap<String, BTreeMap<String, String>>,
    /// How many replaced generations of the file vault to keep (default 5; 0 keeps none).
    pub backups: Option<usize>,
    /// `false`: a read goes ahead (with a warning) when the audit log cannot be written.
    pub audit_required: Option<bool>,
    /// `mcp serve`: what agents may run with which references without asking.
    #[serde(default)]
    pub agent: AgentConfig,
    /// The OpenBao backend: mount, prefix, where the login is kept.
    #[serde(default)]
    pub openbao: OpenBaoSection,
}

/// `[agent]`: the allow-list of `mcp serve`'s `run_with_credentials`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// `[[agent.allow]] command = "hf upload *"  refs = ["tv://huggingface/token"]`
    #[serde(default)]
    pub allow: Vec<AllowEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowEntry {
    /// A command-line pattern; `*` matches anything.
    pub command: String,
    /// References the matching commands may receive (`tv://ITEM/FIELD`, or `ITEM`).
    #[serde(default)]
    pub refs: Vec<String>,
}

/// `[openbao]`: how the OpenBao backend uses the server (the address, namespace and CA come from
/// `BAO_ADDR`/`VAULT_ADDR`, `BAO_NAMESPACE`/`VAULT_NAMESPACE`, `BAO_CACERT`/`VAULT_CACERT`, or
/// the keys of the same name here).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenBaoSection {
    /// The server, when `BAO_ADDR`/`VAULT_ADDR` are not set.
    pub addr: Option<String>,
    pub namespace: Option<String>,
    pub cacert: Option<PathBuf>,
    /// The KV v2 mount (default `secret`).
    pub mount: Option<String>,
    /// Prepended to every item's path (default `tokenvault/`).
    pub prefix: Option<String>,
    /// Where `backend login openbao` keeps the OpenBao token: `keychain` or `file`.
    pub local_backend: Option<BackendKind>,
    /// How long a request keeps retrying a busy, sealed or unreachable server (default 30).
    pub retry_seconds: Option<u64>,
}

#[derive(Debug)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub config: Config,
}

impl ConfigFile {
    /// Loads the config; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let config: Config = toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "config file {} is not valid: {}\nhint: fix the file (allowed top-level keys: backend, backups, audit_required, provider, profiles, agent, openbao) or move it away; nothing was changed",
                path.display(),
                e.to_string().trim_end()
            )
        })?;
        Ok(ConfigFile {
            path: path.to_owned(),
            config,
        })
    }

    /// The built-in catalogue extended by the config's `[[provider]]` tables.
    pub fn catalogue(&self) -> Result<Catalogue> {
        let mut cat = Catalogue::builtin_shared().clone();
        if !self.config.provider.is_empty() {
            #[derive(serde::Serialize)]
            struct Wrapper<'a> {
                provider: &'a [toml::Value],
            }
            let text = toml::to_string(&Wrapper {
                provider: &self.config.provider,
            })?;
            let user = Catalogue::parse(&text, &self.path.display().to_string())?;
            cat.extend(user);
        }
        Ok(cat)
    }

    /// Sets a top-level key, keeping the rest of the file as the user wrote it.
    pub fn set_top_level(&mut self, key: &str, value: toml_edit::Item) -> Result<()> {
        self.edit(|doc| {
            doc[key] = value;
        })
    }

    /// Applies `f` to the document and writes it back atomically, with a backup of the old file.
    pub fn edit(&mut self, f: impl FnOnce(&mut toml_edit::DocumentMut)) -> Result<()> {
        let old = match std::fs::read_to_string(&self.path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading {}", self.path.display())),
        };
        let mut doc: toml_edit::DocumentMut = old
            .as_deref()
            .unwrap_or("")
            .parse()
            .with_context(|| format!("parsing {}", self.path.display()))?;
        f(&mut doc);
        let new_text = doc.to_string();
        let config: Config = toml::from_str(&new_text)
            .with_context(|| format!("the change would make {} invalid", self.path.display()))?;
        if let Some(dir) = self.path.parent() {
            fsutil::ensure_private_dir(dir)?;
        }
        if let Some(old) = &old {
            let backup = self.path.with_extension("toml.bak");
            fsutil::atomic_write(&backup, old.as_bytes())?;
        }
        fsutil::atomic_write(&self.path, new_text.as_bytes())?;
        self.config = config;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_keeps_comments_and_makes_backup() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(
            &p,
            "# my notes\n[profiles.hf]\nHF_TOKEN = \"tv://huggingface\" # main\n",
        )
        .unwrap();
        let mut c = ConfigFile::load(&p).unwrap();
        c.set_top_level("backend", toml_edit::value("file"))
            .unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.contains("# my notes") && text.contains("# main"),
            "{text}"
        );
        assert_eq!(c.config.backend, Some(BackendKind::File));
        assert!(dir.path().join("config.toml.bak").exists());
    }

    #[test]
    fn malformed_config_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(&p, "backend = \"floppy\"\n").unwrap();
        let e = format!("{:#}", ConfigFile::load(&p).unwrap_err());
        assert!(e.contains("config.toml") && e.contains("floppy"), "{e}");
        std::fs::write(&p, "backnd = \"file\"\n").unwrap();
        let e = format!("{:#}", ConfigFile::load(&p).unwrap_err());
        assert!(e.contains("backnd"), "{e}");
    }
}
