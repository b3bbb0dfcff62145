//! Linux and the BSDs: the keychain is the freedesktop.org Secret Service (GNOME Keyring, KWallet,
//! KeePassXC, …), reached over the D-Bus session bus with the `dbus-secret-service` crate.
//!
//! # Stored items — a public contract
//!
//! Each value is one item in the **default collection** (the `default` alias, normally the
//! `login` keyring) with exactly these attributes:
//!
//! | attribute | value                                                                 |
//! |-----------|-----------------------------------------------------------------------|
//! | `service` | `tokenvault`                                                          |
//! | `item`    | the item name, e.g. `huggingface`                                     |
//! | `field`   | the field name, e.g. `token`                                          |
//! | `slot`    | `current`, or `previous` for the value kept for `rotate --rollback`   |
//!
//! The label is `tokenvault: ITEM/FIELD` (`tokenvault: ITEM/FIELD (previous)` for the previous
//! slot), the content type `text/plain`, and the secret is the value's UTF-8 bytes exactly: nothing
//! is added or stripped on the way in or out. So, with the usual tools:
//!
//! ```text
//! secret-tool search --all service tokenvault                      # every entry, with attributes
//! secret-tool lookup service tokenvault item huggingface field token slot current
//! printf %s "$TOKEN" | secret-tool store --label='tokenvault: huggingface/token' \
//!     service tokenvault item huggingface field token slot current
//! ```
//!
//! `secret-tool store` keeps a trailing newline of piped input (`echo … |` stores `…\n`), and we
//! return what is stored; use `printf %s`. Items that carry our attributes plus others of their
//! own are found as well. Items with `service=tokenvault` whose `item`/`field` are not valid names
//! or whose `slot` is neither value are never touched and `list` skips them.
//!
//! # Which bus
//!
//! libdbus (under `dbus-secret-service`) connects to the session bus named by
//! `DBUS_SESSION_BUS_ADDRESS`, or, when that is unset, to `$XDG_RUNTIME_DIR/bus`; it reads that
//! once per process and keeps it. `dbus-secret-service` offers no way to connect to another
//! address, so a store always uses its process's session bus. When neither exists we report
//! [`StoreError::Unavailable`] ourselves rather than let libdbus fall back to X11 autolaunch,
//! which would start a stray bus. See [`super::session_bus_fallback`] for what the binary does.
//!
//! # Never prompting, never hanging
//!
//! Every operation first checks that the default collection is unlocked and reports
//! [`StoreError::Locked`] if not; we never call `Unlock`, and the connection is opened with a
//! prompt timeout of zero, so any prompt the service asks for is cancelled before it is shown
//! (reported as locked). A background process must not pop up a dialog. Each D-Bus call gives up
//! after two seconds (the crate's per-call timeout), and connecting (bus handshake, then the
//! encrypted session) is bounded by [`CONNECT_TIMEOUT`] on a helper thread: a hung service makes
//! us report [`StoreError::Unavailable`], never hang an MCP server's start.

use super::{label, BACKEND, SERVICE};
use crate::{BackendKind, Change, Key, Slot, Store, StoreError};
use dbus_secret_service::{Collection, EncryptionType, Error as SsError, Item, SecretService};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{mpsc, Mutex, PoisonError};
use std::time::Duration;
use tokenvault_core::{FieldName, ItemName, Secret};
use zeroize::Zeroize;

const BUS_VAR: &str = "DBUS_SESSION_BUS_ADDRESS";
/// Bound on opening a connection: the bus handshake plus the Secret Service session.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long each D-Bus call waits for its answer: fixed by `dbus-secret-service` (2000 ms).
const CALL_TIMEOUT: &str = "2 s";
const CONTENT_TYPE: &str = "text/plain";

const ATTR_SERVICE: &str = "service";
const ATTR_ITEM: &str = "item";
const ATTR_FIELD: &str = "field";
const ATTR_SLOT: &str = "slot";
/// Marks entries that are not values (the state key).
const ATTR_KIND: &str = "kind";

const NO_BUS_HINT: &str = "run tokenvault inside your desktop session (or set \
    DBUS_SESSION_BUS_ADDRESS), or use `--backend file`";
const UNAVAILABLE_HINT: &str = "install and start a Secret Service provider (Debian/Ubuntu: \
    `apt install gnome-keyring`; desktop sessions start it), or use `--backend file`";
const LOCKED_HINT: &str = "unlock the login keyring (log into the desktop session, or unlock it \
    in Seahorse / \"Passwords and Keys\"), or use `--backend file`; tokenvault never opens an \
    unlock prompt by itself";
const TIMEOUT_HINT: &str = "the keyring daemon seems hung: restart it (or log out and in), or \
    use `--backend file`";
const HUNG_BUS_HINT: &str = "the D-Bus session bus or the keyring daemon seems hung: restart \
    them (or log out and in), or use `--backend file`";
const NO_DEFAULT_HINT: &str = "create a default keyring (Seahorse: new Password Keyring, then \
    \"Set as default\"), or use `--backend file`";

/// The Secret Service keychain. Cheap to create: it connects on first use and keeps the
/// connection for later calls.
pub struct KeychainStore {
    /// The connection with its encrypted Secret Service session, kept because opening one costs a
    /// bus handshake and a Diffie-Hellman exchange. A `Mutex` because a libdbus connection may
    /// move between threads but not be used by two at once (`Send`, not `Sync`). `None` until
    /// first use, and again after a failure that may have broken it, so the next call reconnects.
    service: Mutex<Option<SecretService>>,
}

impl Default for KeychainStore {
    fn default() -> Self {
        Self::new()
    }
}

impl KeychainStore {
    /// A store on this process's D-Bus session bus. Does no I/O.
    pub fn new() -> Self {
        KeychainStore {
            service: Mutex::new(None),
        }
    }

    /// Whether the store is usable right now: a session bus is reachable, a Secret Service answers
    /// on it, and its default collection exists and is unlocked. Cheap (a few D-Bus calls), never
    /// prompts; used by backend auto-selection and `doctor`.
    pub fn probe(&self) -> Result<(), StoreError> {
        self.with_collection(|_| Ok(()))
    }

    /// Runs `f` on the unlocked default collection, connecting first when needed.
    fn with_collection<T>(
        &self,
        f: impl FnOnce(&Collection<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        // A panic in an earlier call cannot leave the Option in a bad state (at worst the
        // connection was taken and is reopened), so a poisoned lock is simply used.
        let mut slot = self.service.lock().unwrap_or_else(PoisonError::into_inner);
        let service = match slot.take() {
            Some(service) => service,
            None => connect()?,
        };
        let result = unlocked_default(&service).and_then(|c| f(&c));
        // Keep the connection unless the error may mean it is broken (bus gone, service
        // restarted or hung, protocol trouble); "locked" says nothing about the connection.
        if !matches!(
            result,
            Err(StoreError::Unavailable { .. } | StoreError::Backend { .. })
        ) {
            *slot = Some(service);
        }
        result
    }
}

impl Store for KeychainStore {
    fn kind(&self) -> BackendKind {
        BackendKind::Keychain
    }

    fn describe(&self) -> String {
        let bus = match std::env::var(BUS_VAR) {
            Ok(address) if !address.is_empty() => address,
            _ => session_bus_fallback().unwrap_or_else(|| "(none found)".into()),
        };
        format!("OS keychain: Secret Service default keyring on the D-Bus session bus {bus}")
    }

    fn get(&self, key: &Key) -> Result<Option<Secret>, StoreError> {
        self.with_collection(|c| read(c, key))
    }

    /// One connection and one lock check for all keys.
    fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Secret>>, StoreError> {
        self.with_collection(|c| keys.iter().map(|k| read(c, k)).collect())
    }

    /// Applies the changes in order, one item at a time (the Secret Service has no transactions):
    /// on an error, the changes before it are kept.
    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        self.with_collection(|c| {
            for change in changes {
                match change {
                    Change::Set(key, value) => write(c, key, value)?,
                    Change::Delete(key) => {
                        remove(c, key)?;
                    }
                }
            }
            Ok(())
        })
    }

    fn set(&self, key: &Key, value: &Secret) -> Result<(), StoreError> {
        self.with_collection(|c| write(c, key, value))
    }

    fn delete(&self, key: &Key) -> Result<bool, StoreError> {
        self.with_collection(|c| remove(c, key))
    }

    fn list(&self) -> Result<Option<Vec<Key>>, StoreError> {
        self.with_collection(list_keys).map(Some)
    }

    fn state_key(&self, create: bool) -> Result<Option<crate::StateKey>, StoreError> {
        self.with_collection(|c| {
            if let Some(found) = read_state(c)? {
                return Ok(Some(found));
            }
            if !create {
                return Ok(None);
            }
            let key = crate::StateKey::generate(BackendKind::Keychain)?;
            c.create_item(
                super::STATE_LABEL,
                state_attributes(),
                key.to_secret().expose_secret().as_bytes(),
                true,
                CONTENT_TYPE,
            )
            .map_err(|e| map_error("store tokenvault's state key", e))?;
            // Another process may have made one at the same moment: the stored one wins.
            Ok(Some(match read_state(c)? {
                Some(stored) if stored.to_secret() != key.to_secret() => stored,
                _ => key,
            }))
        })
    }
}

/// The state key's entry: our service, no item (so [`list_keys`] skips it).
fn state_attributes() -> HashMap<&'static str, &'static str> {
    HashMap::from([(ATTR_SERVICE, SERVICE), (ATTR_KIND, "state-key")])
}

fn read_state(collection: &Collection<'_>) -> Result<Option<crate::StateKey>, StoreError> {
    let items = collection
        .search_items(state_attributes())
        .map_err(|e| map_error("search the keyring for tokenvault's state key", e))?;
    let Some(item) = items.first() else {
        return Ok(None);
    };
    let bytes = item
        .get_secret()
        .map_err(|e| map_error("read tokenvault's state key", e))?;
    let text = Secret::new(String::from_utf8_lossy(&bytes).into_owned());
    let mut bytes = bytes;
    bytes.zeroize();
    super::parse_state(&text).map(Some)
}

/// Opens a connection and an encrypted session, bounded by [`CONNECT_TIMEOUT`].
fn connect() -> Result<SecretService, StoreError> {
    let no_variable = std::env::var_os(BUS_VAR).is_none_or(|v| v.is_empty());
    if no_variable && session_bus_fallback().is_none() {
        return Err(StoreError::Unavailable {
            backend: BACKEND,
            reason: "no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set and \
                     neither $XDG_RUNTIME_DIR/bus nor /run/user/$UID/bus exists"
                .into(),
            hint: NO_BUS_HINT.into(),
        });
    }
    // libdbus's connect has no timeout of its own (the handshake waits up to 25 s), so it runs on
    // a helper thread. On a timeout the thread is left to finish or fail on its own; it holds
    // nothing but its half-open connection.
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("tokenvault-dbus-connect".into())
        .spawn(move || {
            let _ = tx.send(open_session());
        })
        .map_err(|e| StoreError::Backend {
            backend: BACKEND,
            message: format!("cannot start a thread to connect to D-Bus: {e}"),
        })?;
    match rx.recv_timeout(CONNECT_TIMEOUT) {
        Ok(result) => result,
        Err(_) => Err(StoreError::Unavailable {
            backend: BACKEND,
            reason: format!(
                "the D-Bus session bus or the Secret Service did not answer within {} s",
                CONNECT_TIMEOUT.as_secs()
            ),
            hint: HUNG_BUS_HINT.into(),
        }),
    }
}

fn open_session() -> Result<SecretService, StoreError> {
    // Prompt timeout 0: a prompt the service asks for is dismissed before it is shown.
    // Diffie-Hellman keeps values encrypted between us and the service; like libsecret, fall back
    // to a plain session (still only on the local, per-user bus) for providers without it.
    match SecretService::connect_with_max_prompt_timeout(EncryptionType::Dh, 0) {
        Err(SsError::Dbus(e)) if e.name() == Some("org.freedesktop.DBus.Error.NotSupported") => {
            SecretService::connect_with_max_prompt_timeout(EncryptionType::Plain, 0)
        }
        other => other,
    }
    .map_err(|e| map_error("connect to the Secret Service", e))
}

/// The default collection, or why it cannot be used.
fn unlocked_default(service: &SecretService) -> Result<Collection<'_>, StoreError> {
    let collection = match service.get_default_collection() {
        Ok(c) => c,
        Err(SsError::NoResult) => {
            return Err(StoreError::Unavailable {
                backend: BACKEND,
                reason: "the Secret Service has no default keyring".into(),
                hint: NO_DEFAULT_HINT.into(),
            })
        }
        Err(e) => return Err(map_error("find the default keyring", e)),
    };
    let locked = collection
        .is_locked()
        .map_err(|e| map_error("check whether the default keyring is locked", e))?;
    if locked {
        let name = collection.path.rsplit('/').next().unwrap_or_default();
        return Err(StoreError::Locked {
            what: format!("the keyring '{name}' (Secret Service default collection)"),
            hint: LOCKED_HINT.into(),
        });
    }
    Ok(collection)
}

fn attributes(key: &Key) -> HashMap<&str, &str> {
    HashMap::from([
        (ATTR_SERVICE, SERVICE),
        (ATTR_ITEM, key.item.as_str()),
        (ATTR_FIELD, key.field.as_str()),
        (ATTR_SLOT, key.slot.as_str()),
    ])
}

/// The key an item stands for, when its attributes are ours and valid.
fn key_from_attributes(attrs: &HashMap<String, String>) -> Option<Key> {
    if attrs.get(ATTR_SERVICE).map(String::as_str) != Some(SERVICE) {
        return None;
    }
    let item = ItemName::new(attrs.get(ATTR_ITEM)?).ok()?;
    let field = FieldName::new(attrs.get(ATTR_FIELD)?).ok()?;
    let slot = match attrs.get(ATTR_SLOT)?.as_str() {
        "current" => Slot::Current,
        "previous" => Slot::Previous,
        _ => return None,
    };
    Some(Key { item, field, slot })
}

fn find<'c>(collection: &'c Collection<'_>, key: &Key) -> Result<Vec<Item<'c>>, StoreError> {
    collection
        .search_items(attributes(key))
        .map_err(|e| map_error(&format!("search the keyring for {key}"), e))
}

fn read(collection: &Collection<'_>, key: &Key) -> Result<Option<Secret>, StoreError> {
    let mut items = find(collection, key)?;
    // Several matches only happen when another tool added items with our attributes plus its own;
    // the most recently modified one is what was written last.
    if items.len() > 1 {
        items.sort_by_cached_key(|item| std::cmp::Reverse(item.get_modified().unwrap_or(0)));
    }
    let Some(item) = items.first() else {
        return Ok(None);
    };
    let bytes = item
        .get_secret()
        .map_err(|e| map_error(&format!("read {key}"), e))?;
    match String::from_utf8(bytes) {
        Ok(value) => Ok(Some(Secret::new(value))),
        Err(e) => {
            e.into_bytes().zeroize();
            Err(StoreError::Backend {
                backend: BACKEND,
                message: format!(
                    "{key} in the Secret Service is not UTF-8 text; tokenvault keeps text only: \
                     store it again with `tokenvault set`"
                ),
            })
        }
    }
}

fn write(collection: &Collection<'_>, key: &Key, value: &Secret) -> Result<(), StoreError> {
    // replace=true: the service updates the item with exactly these attributes in place, so the
    // value is never absent while it is being replaced.
    let created = collection
        .create_item(
            &label(key),
            attributes(key),
            value.expose_secret().as_bytes(),
            true,
            CONTENT_TYPE,
        )
        .map_err(|e| map_error(&format!("store {key}"), e))?;
    // Items carrying our attributes plus others (written by another tool) would still match a
    // lookup and could shadow the new value: one key, one item.
    for other in find(collection, key)? {
        if other.path != created.path {
            other
                .delete()
                .map_err(|e| map_error(&format!("remove a duplicate item of {key}"), e))?;
        }
    }
    Ok(())
}

fn remove(collection: &Collection<'_>, key: &Key) -> Result<bool, StoreError> {
    let items = find(collection, key)?;
    for item in &items {
        item.delete()
            .map_err(|e| map_error(&format!("delete {key}"), e))?;
    }
    Ok(!items.is_empty())
}

fn list_keys(collection: &Collection<'_>) -> Result<Vec<Key>, StoreError> {
    let items = collection
        .search_items(HashMap::from([(ATTR_SERVICE, SERVICE)]))
        .map_err(|e| map_error("list the keyring's tokenvault items", e))?;
    let mut keys = Vec::with_capacity(items.len());
    for item in &items {
        let attrs = item
            .get_attributes()
            .map_err(|e| map_error("read an item's attributes", e))?;
        // Entries that are not valid tokenvault keys were made by hand or by another tool:
        // skip them rather than fail the whole listing.
        keys.extend(key_from_attributes(&attrs));
    }
    keys.sort();
    keys.dedup();
    Ok(keys)
}

/// Turns a crate error into ours: what we were doing, why it failed, and what to do next. None
/// of these errors carries a value (the crate's errors are about objects and the bus).
fn map_error(op: &str, e: SsError) -> StoreError {
    let locked = || StoreError::Locked {
        what: "the Secret Service keyring".into(),
        hint: LOCKED_HINT.into(),
    };
    let backend = |message: String| StoreError::Backend {
        backend: BACKEND,
        message,
    };
    match e {
        // Prompt: the service wanted to ask the user (to unlock) and we cancelled it.
        SsError::Locked | SsError::Prompt => locked(),
        SsError::Unavailable => StoreError::Unavailable {
            backend: BACKEND,
            reason: format!("cannot {op}: no D-Bus session or Secret Service provider found"),
            hint: UNAVAILABLE_HINT.into(),
        },
        SsError::Dbus(d) => {
            let name = d.name().unwrap_or("unknown D-Bus error");
            let message = d.message().unwrap_or("");
            let unavailable = |reason: String, hint: &str| StoreError::Unavailable {
                backend: BACKEND,
                reason,
                hint: hint.into(),
            };
            match name.strip_prefix("org.freedesktop.DBus.Error.") {
                Some("ServiceUnknown" | "NameHasNoOwner") => unavailable(
                    format!(
                        "cannot {op}: no Secret Service (org.freedesktop.secrets) on the D-Bus \
                         session bus: {message}"
                    ),
                    UNAVAILABLE_HINT,
                ),
                // libdbus's NoReply text lists every possible cause; ours is the likely one.
                Some("NoReply" | "Timeout" | "TimedOut") => unavailable(
                    format!("cannot {op}: the Secret Service did not answer within {CALL_TIMEOUT}"),
                    TIMEOUT_HINT,
                ),
                Some(
                    "NoServer" | "FileNotFound" | "Disconnected" | "NoNetwork" | "BadAddress"
                    | "AuthFailed" | "IOError" | "LimitsExceeded",
                ) => unavailable(
                    format!("cannot reach the D-Bus session bus to {op}: {message}"),
                    NO_BUS_HINT,
                ),
                _ if name == "org.freedesktop.Secret.Error.IsLocked" => locked(),
                _ => backend(format!("cannot {op}: {name}: {message}")),
            }
        }
        SsError::NoResult => backend(format!("cannot {op}: the Secret Service found nothing")),
        SsError::Crypto(_) => backend(format!(
            "cannot {op}: the Secret Service's encrypted reply did not decrypt"
        )),
        other => backend(format!("cannot {op}: {other}")),
    }
}

/// See [`super::session_bus_fallback`].
pub(super) fn session_bus_fallback() -> Option<String> {
    if std::env::var_os(BUS_VAR).is_some_and(|v| !v.is_empty()) {
        return None;
    }
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => runtime_bus_address(Path::new(&dir)),
        // `env -i`, cron, some launchers: no XDG_RUNTIME_DIR either. systemd-logind's is
        // /run/user/UID; used only when it is ours.
        // SAFETY: getuid has no preconditions and cannot fail.
        None => own_runtime_bus(Path::new("/run/user"), unsafe { libc::getuid() }),
    }
}

/// [`runtime_bus_address`] of `base/UID`, when that directory belongs to `uid`.
fn own_runtime_bus(base: &Path, uid: u32) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let dir = base.join(uid.to_string());
    let meta = std::fs::metadata(&dir).ok()?;
    (meta.uid() == uid)
        .then(|| runtime_bus_address(&dir))
        .flatten()
}

/// `unix:path=DIR/bus` when `DIR/bus` is a socket that belongs to the owner of `DIR` and `DIR` is
/// writable by no one else. libdbus checks the socket's owner against our uid; comparing with the
/// directory's owner needs no unsafe call and means the same for a proper `XDG_RUNTIME_DIR`
/// (ours, mode 0700). A socket someone else could have planted is not used.
fn runtime_bus_address(dir: &Path) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let dir_meta = std::fs::metadata(dir).ok()?;
    let socket = dir.join("bus");
    let meta = std::fs::symlink_metadata(&socket).ok()?;
    let usable = meta.file_type().is_socket()
        && meta.uid() == dir_meta.uid()
        && dir_meta.mode() & 0o022 == 0;
    usable.then(|| {
        format!(
            "unix:path={}",
            escape_address_value(socket.as_os_str().as_bytes())
        )
    })
}

/// D-Bus address escaping: every byte outside `[-0-9A-Za-z_/.\*]` becomes `%XX`.
fn escape_address_value(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_/.\\*".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn attributes_are_the_documented_four() {
        let key = Key::parse("huggingface/token").unwrap().previous();
        let attrs = attributes(&key);
        assert_eq!(attrs.len(), 4);
        assert_eq!(attrs["service"], "tokenvault");
        assert_eq!(attrs["item"], "huggingface");
        assert_eq!(attrs["field"], "token");
        assert_eq!(attrs["slot"], "previous");
    }

    #[test]
    fn attributes_round_trip_and_strangers_are_skipped() {
        let own = |item: &str, field: &str, slot: &str| -> HashMap<String, String> {
            HashMap::from([
                ("service".into(), "tokenvault".into()),
                ("item".into(), item.into()),
                ("field".into(), field.into()),
                ("slot".into(), slot.into()),
            ])
        };
        let key = Key::parse("aws-prod/secret_access_key").unwrap();
        assert_eq!(
            key_from_attributes(&own("aws-prod", "secret_access_key", "current")),
            Some(key.clone())
        );
        assert_eq!(
            key_from_attributes(&own("aws-prod", "secret_access_key", "previous")),
            Some(key.previous())
        );
        let mut extra = own("aws-prod", "secret_access_key", "current");
        extra.insert("xdg:schema".into(), "org.example".into());
        assert_eq!(key_from_attributes(&extra), Some(key));
        assert_eq!(
            key_from_attributes(&own("Bad Name", "token", "current")),
            None
        );
        assert_eq!(key_from_attributes(&own("hf", "", "current")), None);
        assert_eq!(key_from_attributes(&own("hf", "token", "older")), None);
        let mut no_slot = own("hf", "token", "current");
        no_slot.remove("slot");
        assert_eq!(key_from_attributes(&no_slot), None);
        let mut other_service = own("hf", "token", "current");
        other_service.insert("service".into(), "other".into());
        assert_eq!(key_from_attributes(&other_service), None);
    }

    #[test]
    fn escapes_bus_addresses() {
        assert_eq!(
            escape_address_value(b"/run/user/1000/bus"),
            "/run/user/1000/bus"
        );
        assert_eq!(
            escape_address_value(b"/tmp/a b,c=d;e"),
            "/tmp/a%20b%2cc%3dd%3be"
        );
    }

    #[test]
    fn runtime_bus_needs_a_socket_in_a_private_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(runtime_bus_address(dir.path()), None, "no socket yet");
        std::fs::write(dir.path().join("bus"), b"").unwrap();
        assert_eq!(
            runtime_bus_address(dir.path()),
            None,
            "a plain file is not a bus"
        );
        std::fs::remove_file(dir.path().join("bus")).unwrap();
        let _listener = std::os::unix::net::UnixListener::bind(dir.path().join("bus")).unwrap();
        let want = format!(
            "unix:path={}",
            escape_address_value(dir.path().join("bus").as_os_str().as_encoded_bytes())
        );
        assert_eq!(runtime_bus_address(dir.path()), Some(want));
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(
            runtime_bus_address(dir.path()),
            None,
            "a shared dir is not trusted"
        );
    }

    /// Without XDG_RUNTIME_DIR, systemd's /run/user/UID/bus is found — only in our own directory.
    #[test]
    fn the_runtime_dir_of_our_uid_is_the_fallback() {
        use std::os::unix::fs::MetadataExt;
        let base = tempfile::tempdir().unwrap();
        let uid = std::fs::metadata(base.path()).unwrap().uid();
        let dir = base.path().join(uid.to_string());
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(own_runtime_bus(base.path(), uid), None, "no socket yet");
        let _listener = std::os::unix::net::UnixListener::bind(dir.join("bus")).unwrap();
        let want = format!(
            "unix:path={}",
            escape_address_value(dir.join("bus").as_os_str().as_encoded_bytes())
        );
        assert_eq!(own_runtime_bus(base.path(), uid), Some(want));
        // Another user's directory (here: one whose name is not the owner's uid) is not used.
        let other = uid.wrapping_add(1);
        std::fs::create_dir(base.path().join(other.to_string())).unwrap();
        let _l2 =
            std::os::unix::net::UnixListener::bind(base.path().join(other.to_string()).join("bus"))
                .unwrap();
        assert_eq!(own_runtime_bus(base.path(), other), None);
    }
}
