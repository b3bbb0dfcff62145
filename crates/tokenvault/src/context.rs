//! What every command gets: settings, the printer, and the way to open the vault.
//!
//! Opening is lazy (commands like `completions` never touch a backend) and is where the backend is
//! chosen: the flag, else the remembered choice, else the OS keychain when it is usable right now,
//! else the encrypted file. An automatic choice is remembered in the config so it does not flip
//! between runs, and is announced once. There is never a silent fall back to memory.

use crate::backends::{self, Access, Backend};
use crate::envvars;
use crate::printer::Printer;
use crate::prompt::CliPassphrase;
use crate::settings::{BackendChoice, Settings};
use crate::vault::Vault;
use anyhow::Result;
use std::sync::Arc;
use tokenvault_store::file::FileStore;
use tokenvault_store::index::IndexFile;
use tokenvault_store::{fsutil, BackendKind, PassphraseSource};

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
        backends::file_store(&self.settings, source)
    }

    /// Decides the backend, probing and remembering when nothing was chosen yet.
    pub fn choose_backend(&mut self) -> Result<BackendChoice> {
        if let Some(choice) = self.settings.requested_backend()? {
            return Ok(choice);
        }
        let choice = backends::automatic_choice(&self.settings);
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
        let def = backends::def(choice.kind);
        if let Some(caution) = def.caution {
            self.printer.warning(caution);
        }
        let backend = (def.open)(&self.settings, Access::From(source))?
            .ok_or_else(|| anyhow::anyhow!("the {} backend could not be opened", choice.kind))?;
        Ok(self.vault_over(backend, choice))
    }

    /// Opens the vault of a backend named on the command line (`copy --from/--to`), whatever
    /// the chosen one is.
    pub fn open_vault_of(&self, kind: BackendKind) -> Result<Vault<'_>> {
        fsutil::ensure_private_dir(&self.settings.paths.home)?;
        let def = backends::def(kind);
        if let Some(caution) = def.caution {
            self.printer.warning(caution);
        }
        let backend = (def.open)(&self.settings, Access::interactive())?
            .ok_or_else(|| anyhow::anyhow!("the {kind} backend could not be opened"))?;
        Ok(self.vault_over(
            backend,
            BackendChoice {
                kind,
                reason: "named on the command line".into(),
            },
        ))
    }

    /// Opens the vault only if that asks no one anything (see [`Access::Quiet`]); `None` when
    /// there is nothing to open that way.
    pub fn open_vault_quietly(&mut self) -> Result<Option<Vault<'_>>> {
        let choice = self.choose_backend()?;
        let def = backends::def(choice.kind);
        Ok((def.open)(&self.settings, Access::Quiet)?.map(|b| self.vault_over(b, choice)))
    }

    /// The vault over a file store this command opened itself (`unlock`).
    pub fn vault_of_file_store(&mut self, store: FileStore) -> Result<Vault<'_>> {
        let choice = self.choose_backend()?;
        Ok(self.vault_over(backends::file_backend_of(store), choice))
    }

    fn vault_over(&self, backend: Backend, choice: BackendChoice) -> Vault<'_> {
        Vault {
            backend,
            choice,
            index_file: IndexFile::new(&self.settings.paths.home),
            catalogue: &self.settings.catalogue,
            state: Default::default(),
        }
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
