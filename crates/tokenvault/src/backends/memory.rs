//! Values in this process only: for tests, never chosen automatically.

use super::{Access, Backend, Def};
use crate::settings::Settings;
use anyhow::Result;
use std::sync::Arc;
use tokenvault_store::memory::MemoryStore;
use tokenvault_store::BackendKind;

pub const DEF: Def = Def {
    kind: BackendKind::Memory,
    what: "the memory backend",
    short: "memory backend",
    automatic: false,
    enumerates: true,
    caution: Some(
        "the memory backend forgets everything when this command exits (it exists for tests)",
    ),
    probe: None,
    healthy: "the memory backend is always available",
    unusable_hint: "",
    open,
    remote: None,
};

fn open(_: &Settings, access: Access) -> Result<Option<Backend>> {
    Ok(match access {
        // Nothing outlives a command, so there is nothing to read without one.
        Access::Quiet => None,
        Access::From(_) => Some(Backend::new(&DEF, Arc::new(MemoryStore::new()))),
    })
}
