//! What every command gets: settings, the printer, and the way to open the vault.
//!
//! Opening is lazy (commands like `completions` never touch a backend) and is where the backend is
//! chosen: the flag, else the remembered choice, else the OS keychain when it is usable right now,
//! else the encrypted file. An automatic choice is remembered in the config so it does not flip
//! between runs, and is announced once. There is never a silent fall back to memory.

use crate::envvars;
use crate::printer::Printer;
use crate::prompt::CliPassphrase;
use crate::settings::{BackendChoice, Settings};
use crate::vault::{Backend, Vault};
use anyhow::Result;
use std::sync::Arc;
use tokenvault_store::file::FileStore;
use tokenvault_store::index::IndexFile;
use tokenvault_store::keychain::KeychainStore;
use tokenvault_store::memory::MemoryStore;
use tokenvault_store::{fsutil, keycache, BackendKind, PassphraseSource};

/// A command's outcome, mapped to the exit code by `main`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// A negative answer: token invalid, leaks found.
    Negative,
    /// A child's status (`run`).
    Code(i32),
}

pub struct Ctx {
    pub settings: Settings,
    pub printer: Printer,
}

/// The current time as RFC 3339 (UTC), for the index.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

impl Ctx {
    pub fn file_store(&self) -> FileStore {
        self.file_store_with(Arc::new(CliPassphrase))
    }

    /// The file store with its passphrase from `source` (`unlock --stdin`).
    pub fn file_store_with(&self, source: Arc<dyn PassphraseSource>) -> FileStore {
        FileStore::new(&self.settings.paths.home, source, keycache::default_cache())
            .with_log_n(self.settings.scrypt_log_n)
            .with_backups(
                self.settings
                    .config
                    .config
                    .backups
                    .unwrap_or(tokenvault_store::file::DEFAULT_BACKUPS),
            )
            .with_accept_rollback(self.settings.global.accept_rollback)
    }

    pub fn keychain_store(&self) -> KeychainStore {
        KeychainStore::new()
    }

    /// Probes the OS keychain: why it can or cannot be used right now.
    pub fn probe_keychain(&self) -> Result<(), String> {
        self.keychain_store().probe().map_err(|e| {
            let mut s = e.to_string();
            if let Some(h) = e.hint() {
                s.push_str(&format!(" ({h})"));
            }
            s
        })
    }

    /// Decides the backend, probing and remembering when nothing was chosen yet.
    pub fn choose_backend(&mut self) -> Result<BackendChoice> {
        if let Some(choice) = self.settings.requested_backend()? {
            return Ok(choice);
        }
        let choice = match self.probe_keychain() {
            Ok(()) => BackendChoice {
                kind: BackendKind::Keychain,
                reason: "the OS keychain (Secret Service) is available".into(),
            },
            Err(why) => BackendChoice {
                kind: BackendKind::File,
                reason: format!("no usable OS keychain: {why}"),
            },
        };
        fsutil::ensure_private_dir(&self.settings.paths.home)?;
        self.settings
            .config
            .set_top_level("backend", toml_edit::value(choice.kind.as_str()))?;
        self.printer.note(&format!(
            "Using the {} backend ({}); remembered in {}. Change it with --backend or by editing that file.",
            choice.kind,
            choice.reason,
            self.settings.config.path.display()
        ));
        Ok(choice)
    }

    /// Refuses a command that only the file backend has (`what`), naming the backend in use;
    /// `instead` says what the keychain does in its place.
    pub fn require_file_backend(&mut self, what: &str, instead: &str) -> Result<()> {
        let choice = self.choose_backend()?;
        if choice.kind != BackendKind::File {
            return Err(crate::error::hinted(
                format!(
                    "`{what}` is for the file backend; this vault uses the {} backend",
                    choice.kind
                ),
                instead,
            ));
        }
        Ok(())
    }

    /// Opens the vault for reading or writing.
    pub fn open_vault(&mut self) -> Result<Vault<'_>> {
        self.open_vault_with(Arc::new(CliPassphrase))
    }

    /// Opens the vault; a file vault gets its passphrase from `source` (the web app's never asks
    /// on the terminal: a locked vault is unlocked from the page).
    pub fn open_vault_with(&mut self, source: Arc<dyn PassphraseSource>) -> Result<Vault<'_>> {
        let choice = self.choose_backend()?;
        fsutil::ensure_private_dir(&self.settings.paths.home)?;
        let backend = match choice.kind {
            BackendKind::File => Backend::File(Arc::new(self.file_store_with(source))),
            BackendKind::Keychain => Backend::Keychain(self.keychain_store()),
            BackendKind::Memory => {
                self.printer.warning(
                    "the memory backend forgets everything when this command exits (it exists for tests)",
                );
                Backend::Memory(MemoryStore::new())
            }
        };
        Ok(Vault {
            backend,
            choice,
            index_file: IndexFile::new(&self.settings.paths.home),
            catalogue: &self.settings.catalogue,
            state: Default::default(),
        })
    }
}

/// Makes the Secret Service reachable from the minimal environment desktop MCP clients give their
/// servers: when `DBUS_SESSION_BUS_ADDRESS` is missing, use `$XDG_RUNTIME_DIR/bus`. Called at the
/// very start of `main`, before any thread exists, so setting the variable is sound.
pub fn session_bus_fallback() {
    if envvars::get(envvars::DBUS_SESSION_BUS_ADDRESS).is_some() {
        return;
    }
    if let Some(addr) = tokenvault_store::keychain::session_bus_fallback() {
        std::env::set_var(envvars::DBUS_SESSION_BUS_ADDRESS, addr);
    }
}
