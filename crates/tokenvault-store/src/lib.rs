//! tokenvault-store: where values live.
//!
//! One trait, [`Store`], and interchangeable backends behind it: `memory` (tests), `file` (one
//! age-format encrypted file), `keychain` (the OS credential store), `openbao` (an OpenBao or Vault KV v2 engine). Every backend passes the same
//! [`conformance`] suite or it does not ship. Libraries never prompt: the file backend asks the
//! caller's [`PassphraseSource`] for a passphrase, and the binary decides how to get one.
//!
//! Beside the values, a metadata [`index`] (no values) lets `list` work on stores that cannot
//! enumerate, and [`fsutil`] holds the one implementation of private directories, permission checks,
//! locks and atomic writes that everything else uses.

pub mod agefmt;
pub mod conformance;
pub mod error;
pub mod file;
pub mod fsutil;
#[doc(hidden)]
pub mod fuzzing;
pub mod index;
pub mod keycache;
pub mod keychain;
pub mod memory;
pub mod openbao;
pub mod state;

pub use error::StoreError;
pub use state::StateKey;
use std::fmt;
use std::path::Path;
use tokenvault_core::{FieldName, ItemName, Secret};

/// Which backend a store is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Keychain,
    File,
    Memory,
    OpenBao,
}

impl BackendKind {
    /// Every backend with its name: the one table `as_str` and `from_str` read.
    pub const ALL: [(BackendKind, &'static str); 4] = [
        (BackendKind::Keychain, "keychain"),
        (BackendKind::File, "file"),
        (BackendKind::Memory, "memory"),
        (BackendKind::OpenBao, "openbao"),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("unknown", |(_, name)| name)
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for BackendKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .find(|(_, name)| *name == s)
            .map(|(k, _)| *k)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|(_, n)| *n).collect();
                format!(
                    "unknown backend '{s}': expected {}",
                    tokenvault_core::words::or_list(&names)
                )
            })
    }
}

/// Which value of a field: the current one, or the one it replaced (kept for `rotate --rollback`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Slot {
    Current,
    Previous,
}

impl Slot {
    pub fn as_str(self) -> &'static str {
        match self {
            Slot::Current => "current",
            Slot::Previous => "previous",
        }
    }
}

/// The address of one stored value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub item: ItemName,
    pub field: FieldName,
    pub slot: Slot,
}

impl Key {
    pub fn new(item: ItemName, field: FieldName) -> Self {
        Key {
            item,
            field,
            slot: Slot::Current,
        }
    }

    pub fn previous(&self) -> Self {
        Key {
            slot: Slot::Previous,
            ..self.clone()
        }
    }

    /// Parses `item/field` (test and tooling convenience).
    pub fn parse(s: &str) -> Result<Self, tokenvault_core::NameError> {
        let (item, field) = s.split_once('/').unwrap_or((s, ""));
        Ok(Key::new(ItemName::new(item)?, FieldName::new(field)?))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tv://{}/{}", self.item, self.field)?;
        if self.slot == Slot::Previous {
            f.write_str(" (previous value)")?;
        }
        Ok(())
    }
}

/// One change in a batch given to [`Store::apply`].
#[derive(Debug, Clone)]
pub enum Change {
    Set(Key, Secret),
    Delete(Key),
}

/// A place that keeps values. Implementations must pass [`conformance::run_all`].
pub trait Store: Send + Sync {
    fn kind(&self) -> BackendKind;

    /// One line for `doctor` and error messages: which store, where.
    fn describe(&self) -> String;

    /// The value at `key`, or `None` when there is none.
    fn get(&self, key: &Key) -> Result<Option<Secret>, StoreError>;

    /// Several values at once; backends that decrypt a whole file do it once.
    fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Secret>>, StoreError> {
        keys.iter().map(|k| self.get(k)).collect()
    }

    /// Applies every change, all or nothing where the backend can promise it (the file backend
    /// writes one new file; an OS keychain applies them one by one).
    fn apply(&self, changes: &[Change]) -> Result<(), StoreError>;

    fn set(&self, key: &Key, value: &Secret) -> Result<(), StoreError> {
        self.apply(&[Change::Set(key.clone(), value.clone())])
    }

    /// Deletes `key`; `Ok(false)` when there was nothing to delete.
    fn delete(&self, key: &Key) -> Result<bool, StoreError> {
        let existed = self.get(key)?.is_some();
        if existed {
            self.apply(&[Change::Delete(key.clone())])?;
        }
        Ok(existed)
    }

    /// Every key, when the backend can enumerate (`None` when it cannot: use the index).
    fn list(&self) -> Result<Option<Vec<Key>>, StoreError>;

    /// The [`StateKey`] kept with the values (see [`state`]): `None` when there is none and
    /// `create` is false. With `create`, one is made and stored when there is none (its
    /// `created` is then true). Reading it needs what reading a value needs (an unlocked vault).
    fn state_key(&self, create: bool) -> Result<Option<StateKey>, StoreError>;

    /// Records non-secret facts about `item` (its provider, when it was updated, the last live
    /// check of a field) beside it, for a backend whose other users read them there (OpenBao's
    /// `custom_metadata`). Never a value. Others keep these in the local index only.
    fn annotate(&self, item: &ItemName, notes: &[(String, String)]) -> Result<(), StoreError> {
        let _ = (item, notes);
        Ok(())
    }

    /// For a backend that keeps earlier versions of what it stores (OpenBao's KV v2): destroys
    /// the kept history of `item` for good — every version when `whole` (the item is gone), else
    /// every version but the latest. `Ok(None)` when the backend keeps no history, so deleting
    /// already removed everything.
    fn destroy_history(&self, item: &ItemName, whole: bool) -> Result<Option<usize>, StoreError> {
        let _ = (item, whole);
        Ok(None)
    }
}

/// Where the file backend gets a passphrase. The binary implements it with a hidden prompt,
/// `TOKENVAULT_PASSPHRASE` or `TOKENVAULT_PASSPHRASE_FILE`; the library never touches a terminal.
pub trait PassphraseSource: Send + Sync {
    /// The passphrase of an existing vault, or `None` when none can be had (no TTY, no variable):
    /// the store then reports [`StoreError::Locked`].
    fn existing(&self, vault: &Path) -> Result<Option<Secret>, StoreError>;

    /// A passphrase for a new vault (a prompt asks twice); `None` when none can be had.
    fn new_passphrase(&self, vault: &Path) -> Result<Option<Secret>, StoreError>;
}

/// A fixed passphrase (tests and non-interactive tools).
pub struct FixedPassphrase(pub Option<Secret>);

impl PassphraseSource for FixedPassphrase {
    fn existing(&self, _vault: &Path) -> Result<Option<Secret>, StoreError> {
        Ok(self.0.clone())
    }
    fn new_passphrase(&self, _vault: &Path) -> Result<Option<Secret>, StoreError> {
        Ok(self.0.clone())
    }
}
