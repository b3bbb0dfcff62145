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

pub use file::file_store;

use crate::settings::{BackendChoice, Settings};
use anyhow::Result;
use std::sync::Arc;
use tokenvault_store::file::FileStore;
use tokenvault_store::{BackendKind, PassphraseSource, Store};

/// Every backend, in the order an automatic choice tries them.
pub const ALL: &[&Def] = &[&keychain::DEF, &file::DEF, &memory::DEF];

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

/// An opened backend: its store, and the file store's own operations (unlock, backups,
/// generations) when it is the file.
pub struct Backend {
    def: &'static Def,
    store: Arc<dyn Store>,
    file: Option<Arc<FileStore>>,
}

impl Backend {
    fn new(def: &'static Def, store: Arc<dyn Store>) -> Backend {
        Backend {
            def,
            store,
            file: None,
        }
    }

    fn file(def: &'static Def, store: Arc<FileStore>) -> Backend {
        Backend {
            def,
            store: store.clone(),
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
