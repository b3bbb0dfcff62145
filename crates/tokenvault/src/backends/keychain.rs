//! The OS credential store (Secret Service on Linux, Keychain on macOS, Credential Manager on
//! Windows), through `tokenvault_store::keychain`.

use super::{Access, Backend, Def};
use crate::settings::Settings;
use anyhow::Result;
use std::sync::Arc;
use tokenvault_store::keychain::KeychainStore;
use tokenvault_store::BackendKind;

pub const DEF: Def = Def {
    kind: BackendKind::Keychain,
    what: "the OS keychain (Secret Service)",
    short: "OS keychain",
    automatic: true,
    enumerates: true,
    caution: None,
    probe: Some(probe),
    healthy: "the OS keychain (Secret Service) is reachable and unlocked",
    unusable_hint: "start your desktop keyring, or switch with --backend file",
    open,
    remote: None,
};

fn probe(_: &Settings) -> Result<(), String> {
    KeychainStore::new().probe().map_err(|e| {
        let mut s = e.to_string();
        if let Some(h) = e.hint() {
            s.push_str(&format!(" ({h})"));
        }
        s
    })
}

fn open(_: &Settings, _: Access) -> Result<Option<Backend>> {
    Ok(Some(Backend::new(&DEF, Arc::new(KeychainStore::new()))))
}
