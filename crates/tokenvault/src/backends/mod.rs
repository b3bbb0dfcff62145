//! The backends, behind one registry.
//!
//! Each backend is one module here with one [`Def`]: how it is probed, opened and described, and
//! what it can do beyond the [`Store`] trait. [`ALL`] lists them; choosing (`--backend`, the
//! remembered choice, or the first automatic backend that is usable), opening and describing a
//! backend all read this table, so adding a backend is its store (in `tokenvault-store`, with its
//! name in `BackendKind::ALL`) plus one module here and one line in [`ALL`].

mod file;
mod keychain;
mod memory;
mod openbao;

pub use file::{backend_of as file_backend_of, file_store, sessions_dir};

use crate::settings::{BackendChoice, Settings};
use anyhow::Result;
use std::sync::Arc;
use tokenvault_core::Secret;
use tokenvault_store::file::FileStore;
use tokenvault_store::{BackendKind, PassphraseSource, Store};

/// Every backend, in the order an automatic choice tries them.
pub const ALL: &[&Def] = &[&keychain::DEF, &file::DEF, &memory::DEF, &openbao::DEF];

/// How a command may open a backend.
#[derive(Clone)]
pub enum Access {
    /// A locked file vault gets its passphrase from this source: the terminal (or askpass) for
    /// commands; the web app's never asks on the terminal (it is unlocked from the page).
    From(Arc<dyn PassphraseSource>),
    /// Only what opens without asking anyone (the key `tokenvault unlock` cached, the
    /// passphrase file or variable); `None` when there is nothing to open that way.
    Quiet,
}

/// Whether a backend can be used right now, and why not.
pub type Probe = fn(&Settings) -> Result<(), String>;

/// Opens a backend; `None` when [`Access::Quiet`] finds nothing to open.
pub type Open = fn(&Settings, Access) -> Result<Option<Backend>>;

/// One backend: what it is and how to reach it.
pub struct Def {
    pub kind: BackendKind,
    /// What it is, for messages: "the OS keychain (Secret Service)".
    pub what: &'static str,
    /// Its name in a sentence without an article: "no usable OS keychain".
    pub short: &'static str,
    /// Tried by the automatic choice (in [`ALL`] order) when nothing was chosen.
    pub automatic: bool,
    /// The store lists its own entries, including ones other tools made; the others are listed
    /// from the index alone (no passphrase, no decryption).
    pub enumerates: bool,
    /// Said whenever it is opened.
    pub caution: Option<&'static str>,
    /// Whether it can be used right now, and why not; `None` for a backend that always can.
    pub probe: Option<Probe>,
    /// What `doctor` says when the probe passes.
    pub healthy: &'static str,
    /// What to do when it is chosen but the probe fails.
    pub unusable_hint: &'static str,
    pub open: Open,
    /// What a backend on a server does beside storing: logging in, single-use hand-over.
    pub remote: Option<&'static Remote>,
}

/// How a login is made: the method and what it needs (the secret part never from argv).
pub struct LoginRequest {
    pub method: LoginMethod,
    /// userpass: the user name; approle: the role id.
    pub name: Option<String>,
    /// The token, the password or the AppRole secret id.
    pub secret: Secret,
    /// The auth method's mount when not the default (`userpass`, `approle`).
    pub mount: Option<String>,
    /// Where the login is kept: the backend chosen before the remote one, or `--local-backend`.
    pub local: BackendKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LoginMethod {
    Token,
    Userpass,
    Approle,
}

/// What a login did, for the command to report (no token).
pub struct LoginDone {
    pub server: String,
    /// Seconds the login lasts (0: it does not expire).
    pub ttl: u64,
    pub renewable: bool,
    /// Where it is kept.
    pub kept_in: BackendKind,
}

/// One value handed over through a single-use wrapping token.
pub struct Handover {
    pub item: String,
    pub field: String,
    pub provider: Option<String>,
    pub value: Secret,
}

/// A backend that lives on a server.
pub struct Remote {
    /// Logs in and keeps the login in the local backend.
    pub login: fn(&Settings, &LoginRequest) -> Result<LoginDone>,
    /// Wraps a value in a single-use token valid for `ttl` (e.g. `10m`); the token.
    pub wrap: fn(&Settings, &Handover, &str) -> Result<Secret>,
    /// Unwraps a token made by `wrap`; `None` when it was already unwrapped (or expired).
    pub unwrap: fn(&Settings, &Secret) -> Result<Option<Handover>>,
}

/// Items a backend keeps for tokenvault itself (a server backend's login), never copied.
pub const INTERNAL_ITEMS: &[&str] = &[openbao::LOGIN_ITEM];

/// The remote backends (those with a [`Remote`]).
pub fn remotes() -> impl Iterator<Item = &'static Def> {
    ALL.iter().copied().filter(|d| d.remote.is_some())
}

impl Access {
    /// As commands do: a locked file vault asks for its passphrase (terminal or askpass).
    pub fn interactive() -> Access {
        Access::From(Arc::new(crate::prompt::CliPassphrase))
    }
}

impl Def {
    /// Whether it can be used right now.
    pub fn check(&self, settings: &Settings) -> Result<(), String> {
        self.probe.map_or(Ok(()), |probe| probe(settings))
    }
}

/// The registered backend of a kind.
pub fn def(kind: BackendKind) -> &'static Def {
    ALL.iter()
        .copied()
        .find(|d| d.kind == kind)
        .expect("every BackendKind has a module in backends/ (checked by a unit test)")
}

/// The backend an automatic choice takes now, and why: the first automatic backend whose probe
/// passes. Nothing is remembered here (`Ctx::choose_backend` does that).
pub fn automatic_choice(settings: &Settings) -> BackendChoice {
    let mut why_not: Option<(&Def, String)> = None;
    for d in ALL.iter().filter(|d| d.automatic) {
        match d.check(settings) {
            Ok(()) => {
                let reason = match &why_not {
                    None => format!("{} is available", d.what),
                    Some((skipped, why)) => format!("no usable {}: {why}", skipped.short),
                };
                return BackendChoice {
                    kind: d.kind,
                    reason,
                };
            }
            Err(why) => {
                why_not.get_or_insert((d, why));
            }
        }
    }
    // The last automatic backend (the file) has no probe, so this is reached only if the table
    // changes; say what happened rather than pick something.
    let last = ALL[ALL.len() - 1];
    BackendChoice {
        kind: last.kind,
        reason: "no automatic backend is usable".into(),
    }
}

/// The backend a remote backend keeps its login in: the one remembered or chosen before it
/// (when that is a local one), else the automatic choice.
pub fn local_choice(settings: &Settings) -> BackendKind {
    settings
        .config
        .config
        .openbao
        .local_backend
        .filter(|k| def(*k).remote.is_none() && *k != BackendKind::Memory)
        .or(settings
            .config
            .config
            .backend
            .filter(|k| def(*k).remote.is_none() && *k != BackendKind::Memory))
        .unwrap_or_else(|| automatic_choice(settings).kind)
}

/// An opened backend: its store, and the file store's own operations (unlock, backups,
/// generations) when it is the file.
pub struct Backend {
    def: &'static Def,
    store: Arc<dyn Store>,
    file: Option<Arc<FileStore>>,
}

/// A store as commands see it: the items tokenvault keeps for itself ([`INTERNAL_ITEMS`], e.g.
/// the OpenBao login in the file vault) are not listed, so no list, index or copy shows them.
struct WithoutInternal(Arc<dyn Store>);

/// Whether `key` is one of [`INTERNAL_ITEMS`].
pub fn is_internal(key: &tokenvault_store::Key) -> bool {
    INTERNAL_ITEMS.contains(&key.item.as_str())
}

impl Store for WithoutInternal {
    fn kind(&self) -> BackendKind {
        self.0.kind()
    }
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn get(
        &self,
        key: &tokenvault_store::Key,
    ) -> Result<Option<Secret>, tokenvault_store::StoreError> {
        self.0.get(key)
    }
    fn get_many(
        &self,
        keys: &[tokenvault_store::Key],
    ) -> Result<Vec<Option<Secret>>, tokenvault_store::StoreError> {
        self.0.get_many(keys)
    }
    fn apply(
        &self,
        changes: &[tokenvault_store::Change],
    ) -> Result<(), tokenvault_store::StoreError> {
        self.0.apply(changes)
    }
    fn list(&self) -> Result<Option<Vec<tokenvault_store::Key>>, tokenvault_store::StoreError> {
        Ok(self
            .0
            .list()?
            .map(|keys| keys.into_iter().filter(|k| !is_internal(k)).collect()))
    }
    fn state_key(
        &self,
        create: bool,
    ) -> Result<Option<tokenvault_store::StateKey>, tokenvault_store::StoreError> {
        self.0.state_key(create)
    }
    fn annotate(
        &self,
        item: &tokenvault_core::ItemName,
        notes: &[(String, String)],
    ) -> Result<(), tokenvault_store::StoreError> {
        self.0.annotate(item, notes)
    }
    fn destroy_history(
        &self,
        item: &tokenvault_core::ItemName,
        whole: bool,
    ) -> Result<Option<usize>, tokenvault_store::StoreError> {
        self.0.destroy_history(item, whole)
    }
}

impl Backend {
    fn new(def: &'static Def, store: Arc<dyn Store>) -> Backend {
        Backend {
            def,
            store: Arc::new(WithoutInternal(store)),
            file: None,
        }
    }

    fn file(def: &'static Def, store: Arc<FileStore>) -> Backend {
        Backend {
            def,
            store: Arc::new(WithoutInternal(store.clone())),
            file: Some(store),
        }
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn def(&self) -> &'static Def {
        self.def
    }

    /// The file store, for what only the file backend does.
    pub fn file_store(&self) -> Option<&Arc<FileStore>> {
        self.file.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_backend_kind_is_registered_once() {
        for (kind, name) in BackendKind::ALL {
            let found: Vec<_> = ALL.iter().filter(|d| d.kind == kind).collect();
            assert_eq!(found.len(), 1, "backend '{name}' must have exactly one Def");
        }
        assert_eq!(ALL.len(), BackendKind::ALL.len());
    }

    #[test]
    fn the_last_automatic_backend_always_works() {
        let last = ALL
            .iter()
            .rfind(|d| d.automatic)
            .expect("an automatic backend");
        assert!(
            last.probe.is_none(),
            "the fallback must not depend on a probe"
        );
    }
}
