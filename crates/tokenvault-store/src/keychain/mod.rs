//! The OS keychain backend: one [`KeychainStore`] type, one implementation per platform.
//!
//! - Linux and the BSDs: the freedesktop Secret Service over D-Bus (GNOME Keyring, KWallet), in
//!   `keychain/secret_service.rs`. Each value is one item in the default collection with the
//!   attributes `service=tokenvault`, `item=ITEM`, `field=FIELD`, `slot=current|previous` and the
//!   label `tokenvault: ITEM/FIELD`; these are a public contract, documented in full in that file
//!   (`secret-tool search service tokenvault` finds our entries, and entries stored by
//!   `secret-tool store` under those attributes are read back).
//! - macOS (Keychain) and Windows (Credential Manager): the `keyring` crate, in `native`; entries
//!   are service `tokenvault`, user `ITEM/FIELD` (`ITEM/FIELD#previous` for the previous value).
//!   Those stores cannot enumerate by service, so `list` returns `None` and the binary uses the
//!   index.
//! - Anything else: a `KeychainStore` that reports [`crate::StoreError::Unavailable`] for every
//!   call, so the binary compiles everywhere and falls back to the file backend.
//!
//! All of them are opened with [`KeychainStore::new`] (no I/O) and checked with
//! [`KeychainStore::probe`] (cheap: is it usable right now?), which auto-selection and `doctor` use.
//! None of them ever shows an unlock prompt: a locked keychain is reported as
//! [`crate::StoreError::Locked`], and the binary decides what to offer.

#[cfg(all(unix, not(target_os = "macos")))]
mod secret_service;
#[cfg(all(unix, not(target_os = "macos")))]
pub use secret_service::KeychainStore;

#[cfg(any(target_os = "macos", windows))]
mod native;
#[cfg(any(target_os = "macos", windows))]
pub use native::KeychainStore;

#[cfg(not(any(unix, windows)))]
pub use unsupported::KeychainStore;

use crate::{Key, Slot};

/// The backend name in errors (`StoreError::Unavailable { backend, .. }`).
const BACKEND: &str = "keychain";

/// The service every entry is filed under, on every platform.
pub const SERVICE: &str = "tokenvault";

/// The one-line title of an entry as keychain UIs (Seahorse, Keychain Access) show it:
/// `tokenvault: ITEM/FIELD`, with ` (previous)` for the value kept for `rotate --rollback`.
pub fn label(key: &Key) -> String {
    let mut label = format!("{SERVICE}: {}/{}", key.item, key.field);
    if key.slot == Slot::Previous {
        label.push_str(" (previous)");
    }
    label
}

/// The account ("user") name of an entry in stores addressed by service + user (macOS, Windows):
/// `ITEM/FIELD`, or `ITEM/FIELD#previous`. `#` cannot occur in item or field names, so the two
/// slots never collide with another key.
#[cfg_attr(not(any(target_os = "macos", windows)), allow(dead_code))]
fn native_user(key: &Key) -> String {
    match key.slot {
        Slot::Current => format!("{}/{}", key.item, key.field),
        Slot::Previous => format!("{}/{}#previous", key.item, key.field),
    }
}

/// The label of the entry that holds the [`crate::StateKey`] (not a value: listing skips it).
#[cfg_attr(not(unix), allow(dead_code))]
const STATE_LABEL: &str = "tokenvault state key (authenticates the index and the audit head)";

/// The state key as read from its entry; an entry that is not one is an error, not a new key
/// (making a new one would make every index entry untrusted).
fn parse_state(text: &tokenvault_core::Secret) -> Result<crate::StateKey, crate::StoreError> {
    crate::StateKey::parse(crate::BackendKind::Keychain, text.expose_secret()).ok_or_else(|| {
        crate::StoreError::Backend {
            backend: BACKEND,
            message: "the keychain entry of tokenvault's state key is not one (edited by \
                      another tool?): delete it and run `tokenvault doctor`, which reseals the index"
                .into(),
        }
    })
}

/// The D-Bus session bus address to use when `DBUS_SESSION_BUS_ADDRESS` is unset or empty:
/// `unix:path=$XDG_RUNTIME_DIR/bus` (or `/run/user/UID/bus` when that variable is unset too), when that socket exists (systemd's per-user bus). `None`
/// when the variable is already set, when there is no such socket, or on platforms without a
/// Secret Service.
///
/// MCP clients start their servers with a minimal environment (`HOME`, `PATH`, …) that lacks the
/// bus address. The store does not need this to connect (libdbus looks at `$XDG_RUNTIME_DIR/bus`
/// itself when the variable is unset), but child processes and other D-Bus users might: the
/// binary sets `DBUS_SESSION_BUS_ADDRESS` to this value at the very start of `main`, before any
/// thread exists, because setting a variable while other threads read the environment is unsound.
pub fn session_bus_fallback() -> Option<String> {
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        secret_service::session_bus_fallback()
    }
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    {
        None
    }
}

/// Platforms with no OS keychain we support: the type exists so callers compile, and every call
/// says the backend is unavailable, which makes auto-selection pick the file backend.
#[cfg(not(any(unix, windows)))]
mod unsupported {
    use crate::{BackendKind, Change, Key, Store, StoreError};
    use tokenvault_core::Secret;

    #[derive(Debug, Default)]
    pub struct KeychainStore;

    impl KeychainStore {
        pub fn new() -> Self {
            KeychainStore
        }

        pub fn probe(&self) -> Result<(), StoreError> {
            Err(unavailable())
        }
    }

    fn unavailable() -> StoreError {
        StoreError::Unavailable {
            backend: super::BACKEND,
            reason: "this platform has no OS keychain that tokenvault supports".into(),
            hint: "use `--backend file` (an encrypted file) instead".into(),
        }
    }

    impl Store for KeychainStore {
        fn kind(&self) -> BackendKind {
            BackendKind::Keychain
        }
        fn describe(&self) -> String {
            "OS keychain (not supported on this platform)".into()
        }
        fn get(&self, _key: &Key) -> Result<Option<Secret>, StoreError> {
            Err(unavailable())
        }
        fn apply(&self, _changes: &[Change]) -> Result<(), StoreError> {
            Err(unavailable())
        }
        fn delete(&self, _key: &Key) -> Result<bool, StoreError> {
            Err(unavailable())
        }
        fn list(&self) -> Result<Option<Vec<Key>>, StoreError> {
            Err(unavailable())
        }
        fn state_key(&self, _create: bool) -> Result<Option<crate::StateKey>, StoreError> {
            Err(unavailable())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_users_name_the_slot() {
        let k = Key::parse("huggingface/token").unwrap();
        assert_eq!(label(&k), "tokenvault: huggingface/token");
        assert_eq!(
            label(&k.previous()),
            "tokenvault: huggingface/token (previous)"
        );
        assert_eq!(native_user(&k), "huggingface/token");
        assert_eq!(native_user(&k.previous()), "huggingface/token#previous");
    }
}
