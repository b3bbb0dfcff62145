//! Where the binary gets passphrases and values: environment, passphrase file, or a hidden prompt
//! on the controlling terminal. The store library never prompts; it calls [`PassphraseSource`].

use crate::envvars;
use std::io::IsTerminal;
use std::path::Path;
use tokenvault_core::Secret;
use tokenvault_store::{fsutil, PassphraseSource, StoreError};

/// Passphrase from `TOKENVAULT_PASSPHRASE_FILE`, `TOKENVAULT_PASSPHRASE`, or the terminal.
pub struct CliPassphrase;

impl CliPassphrase {
    fn configured(&self) -> Result<Option<Secret>, StoreError> {
        if let Some(file) = std::env::var_os(envvars::TOKENVAULT_PASSPHRASE_FILE) {
            let path = Path::new(&file);
            let bytes = fsutil::read_private(path)?.ok_or_else(|| StoreError::Locked {
                what: "the file vault".into(),
                hint: format!(
                    "{} names {}, which does not exist",
                    envvars::TOKENVAULT_PASSPHRASE_FILE,
                    path.display()
                ),
            })?;
            let text = String::from_utf8(bytes).map_err(|_| StoreError::Backend {
                backend: "file",
                message: format!("passphrase file {} is not UTF-8", path.display()),
            })?;
            let line = text.lines().next().unwrap_or("").to_owned();
            let mut text = text;
            zeroize::Zeroize::zeroize(&mut text);
            return Ok(Some(Secret::new(line)));
        }
        if let Ok(p) = std::env::var(envvars::TOKENVAULT_PASSPHRASE) {
            return Ok(Some(Secret::new(p)));
        }
        Ok(None)
    }
}

/// Whether a person can be asked: a terminal on stdin or stderr.
pub fn has_terminal() -> bool {
    std::io::stderr().is_terminal() || std::io::stdin().is_terminal()
}

/// Reads a hidden line from the controlling terminal; `None` when there is no terminal
/// (CI, a desktop client launching an MCP server).
pub fn hidden_prompt(prompt: &str) -> Option<Secret> {
    if !has_terminal() {
        return None;
    }
    rpassword::prompt_password(prompt).ok().map(Secret::new)
}

impl PassphraseSource for CliPassphrase {
    fn existing(&self, vault: &Path) -> Result<Option<Secret>, StoreError> {
        if let Some(p) = self.configured()? {
            return Ok(Some(p));
        }
        Ok(hidden_prompt(&format!(
            "Passphrase for {}: ",
            vault.display()
        )))
    }

    fn new_passphrase(&self, vault: &Path) -> Result<Option<Secret>, StoreError> {
        if let Some(p) = self.configured()? {
            return Ok(Some(p));
        }
        if !has_terminal() {
            return Ok(None);
        }
        // The prompt itself goes to the terminal, like rpassword's; this is part of it.
        eprintln!(
            "Creating the encrypted vault {}.\nChoose a passphrase; it cannot be recovered if you forget it.",
            vault.display()
        );
        let Some(first) = hidden_prompt("New passphrase: ") else {
            return Ok(None);
        };
        if first.is_empty() {
            return Err(StoreError::EmptyPassphrase);
        }
        let Some(second) = hidden_prompt("Repeat passphrase: ") else {
            return Ok(None);
        };
        if first != second {
            return Err(StoreError::Backend {
                backend: "file",
                message: "the two passphrases did not match; nothing was created".into(),
            });
        }
        Ok(Some(first))
    }
}
