//! macOS Keychain and Windows Credential Manager, through the `keyring` crate (v3).
//!
//! Each value is one generic password / generic credential with service `tokenvault` and user
//! `ITEM/FIELD` (`ITEM/FIELD#previous` for the previous slot), see [`super::native_user`]. These
//! stores cannot enumerate entries by service, so [`Store::list`] returns `None` and the binary
//! lists from the metadata index instead.
//!
//! This file is only compiled on macOS and Windows; it is kept small so it can be reviewed without
//! a compiler for those targets. The OS may show its own access dialog (macOS asks when another
//! binary created the entry); that is the OS's decision, not a prompt of ours.

use super::{native_user, BACKEND, SERVICE};
use crate::{BackendKind, Change, Key, Store, StoreError};
use keyring::{Entry, Error as KeyringError};
use tokenvault_core::Secret;

#[cfg(target_os = "macos")]
const STORE_NAME: &str = "the macOS login keychain";
#[cfg(windows)]
const STORE_NAME: &str = "Windows Credential Manager";

/// The user of the entry [`KeychainStore::probe`] reads. It has no `/`, so no key maps to it.
const PROBE_USER: &str = "tokenvault#probe";
/// The entry of the state key (not an `ITEM/FIELD` name, so never a value's).
const STATE_USER: &str = "tokenvault#state";

/// The OS credential store. Holds nothing: every call opens the entry it needs.
#[derive(Debug, Default)]
pub struct KeychainStore;

impl KeychainStore {
    pub fn new() -> Self {
        KeychainStore
    }

    /// Whether the store answers: reads an entry that never exists; "no entry" means it works.
    pub fn probe(&self) -> Result<(), StoreError> {
        match entry_for(PROBE_USER)?.get_password() {
            Ok(_) | Err(KeyringError::NoEntry) => Ok(()),
            Err(e) => Err(map_error("probe", e)),
        }
    }
}

fn entry_for(user: &str) -> Result<Entry, StoreError> {
    Entry::new(SERVICE, user).map_err(|e| map_error("open an entry", e))
}

impl Store for KeychainStore {
    fn kind(&self) -> BackendKind {
        BackendKind::Keychain
    }

    fn describe(&self) -> String {
        format!("OS keychain: {STORE_NAME} (service '{SERVICE}')")
    }

    fn get(&self, key: &Key) -> Result<Option<Secret>, StoreError> {
        match entry_for(&native_user(key))?.get_password() {
            Ok(value) => Ok(Some(Secret::new(value))),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(e) => Err(map_error(&format!("read {key}"), e)),
        }
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        for change in changes {
            match change {
                Change::Set(key, value) => entry_for(&native_user(key))?
                    .set_password(value.expose_secret())
                    .map_err(|e| map_error(&format!("store {key}"), e))?,
                Change::Delete(key) => {
                    self.delete(key)?;
                }
            }
        }
        Ok(())
    }

    fn delete(&self, key: &Key) -> Result<bool, StoreError> {
        match entry_for(&native_user(key))?.delete_credential() {
            Ok(()) => Ok(true),
            Err(KeyringError::NoEntry) => Ok(false),
            Err(e) => Err(map_error(&format!("delete {key}"), e)),
        }
    }

    fn list(&self) -> Result<Option<Vec<Key>>, StoreError> {
        Ok(None)
    }

    fn state_key(&self, create: bool) -> Result<Option<crate::StateKey>, StoreError> {
        let entry = entry_for(STATE_USER)?;
        match entry.get_password() {
            Ok(text) => return super::parse_state(&Secret::new(text)).map(Some),
            Err(KeyringError::NoEntry) => {}
            Err(e) => return Err(map_error("read tokenvault's state key", e)),
        }
        if !create {
            return Ok(None);
        }
        let key = crate::StateKey::generate(BackendKind::Keychain)?;
        entry
            .set_password(key.to_secret().expose_secret())
            .map_err(|e| map_error("store tokenvault's state key", e))?;
        Ok(Some(key))
    }
}

/// Turns a `keyring` error into ours without ever including a value: `BadEncoding` carries the
/// stored bytes and `Ambiguous` the matching credentials, so neither is formatted.
fn map_error(op: &str, e: KeyringError) -> StoreError {
    let backend = |message: String| StoreError::Backend {
        backend: BACKEND,
        message,
    };
    match e {
        KeyringError::NoStorageAccess(why) => StoreError::Locked {
            what: STORE_NAME.into(),
            hint: format!(
                "could not {op} ({why}); unlock it or allow access when the system asks, or use \
                 `--backend file`"
            ),
        },
        KeyringError::PlatformFailure(why) => StoreError::Unavailable {
            backend: BACKEND,
            reason: format!("cannot {op} in {STORE_NAME}: {why}"),
            hint: "use `--backend file` (an encrypted file) instead".into(),
        },
        KeyringError::BadEncoding(_) => backend(format!(
            "cannot {op}: the stored value is not UTF-8 text; store it again with `tokenvault set`"
        )),
        KeyringError::Ambiguous(matches) => backend(format!(
            "cannot {op}: {} entries match; remove the extra ones in the system's credential manager",
            matches.len()
        )),
        KeyringError::TooLong(attr, limit) => backend(format!(
            "cannot {op}: {attr} is longer than the platform limit of {limit}"
        )),
        KeyringError::Invalid(attr, why) => backend(format!("cannot {op}: {attr} is invalid: {why}")),
        other => backend(format!("cannot {op}: {other}")),
    }
}
