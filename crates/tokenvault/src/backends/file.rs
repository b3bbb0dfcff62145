//! One age-format encrypted file, through `tokenvault_store::file`: the passphrase comes from the
//! terminal (or askpass), the passphrase file or variable, or the key `tokenvault unlock` cached.

use super::{Access, Backend, Def};
use crate::prompt::{passphrase_configured, CliPassphrase};
use crate::settings::Settings;
use anyhow::Result;
use std::sync::Arc;
use tokenvault_store::file::{FileStore, DEFAULT_BACKUPS};
use tokenvault_store::{keycache, BackendKind, FixedPassphrase, PassphraseSource};

pub const DEF: Def = Def {
    kind: BackendKind::File,
    what: "the encrypted file",
    short: "encrypted file",
    automatic: true,
    enumerates: false,
    caution: None,
    probe: None,
    healthy: "the encrypted file is always available",
    unusable_hint: "",
    open,
    remote: None,
};

/// The file store of these settings, its passphrase from `source`.
pub fn file_store(settings: &Settings, source: Arc<dyn PassphraseSource>) -> FileStore {
    FileStore::new(&settings.paths.home, source, key_cache(settings))
        .with_log_n(settings.scrypt_log_n)
        .with_backups(settings.config.config.backups.unwrap_or(DEFAULT_BACKUPS))
        .with_accept_rollback(settings.global.accept_rollback)
}

/// A backend over a file store already opened (`unlock` reconciles the index through the very
/// store it unlocked, whatever cache holds its key).
pub fn backend_of(store: FileStore) -> Backend {
    Backend::file(&DEF, Arc::new(store))
}

/// Where sessions of `unlock --session` keep their sealed keys.
pub fn sessions_dir(settings: &Settings) -> std::path::PathBuf {
    settings.paths.home.join("sessions")
}

/// The key cache: the session `TOKENVAULT_SESSION` names when it is set (a value that is not a
/// session opens nothing, so the vault reads as locked), else the platform's (the kernel keyring).
fn key_cache(settings: &Settings) -> Arc<dyn keycache::KeyCache> {
    match crate::prompt::session_value() {
        Some(value) => {
            match keycache::SessionCache::from_value(&sessions_dir(settings), value.expose_secret())
            {
                Some(session) => Arc::new(session),
                None => Arc::new(keycache::NoCache),
            }
        }
        None => keycache::default_cache(),
    }
}

fn open(settings: &Settings, access: Access) -> Result<Option<Backend>> {
    let store = match access {
        Access::From(source) => file_store(settings, source),
        Access::Quiet if passphrase_configured() => file_store(settings, Arc::new(CliPassphrase)),
        // Only the key `tokenvault unlock` cached: never a prompt.
        Access::Quiet => {
            let store = file_store(settings, Arc::new(FixedPassphrase(None)));
            if !store.exists() {
                return Ok(None);
            }
            store
        }
    };
    Ok(Some(Backend::file(&DEF, Arc::new(store))))
}
