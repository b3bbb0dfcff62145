//! The in-memory backend: for tests, and as the reference behaviour of the conformance suite.
//! It can be told to fail its next call, to test how callers report backend failures.
//! It is never chosen automatically: a store that forgets everything on exit is not a vault.

use crate::{BackendKind, Change, Key, Store, StoreError};
use std::collections::BTreeMap;
use std::sync::Mutex;
use tokenvault_core::Secret;

#[derive(Default)]
pub struct MemoryStore {
    values: Mutex<BTreeMap<Key, Secret>>,
    fail_next: Mutex<Option<String>>,
    state: Mutex<Option<crate::StateKey>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next call fail with a backend error carrying `message`.
    pub fn fail_next(&self, message: &str) {
        if let Ok(mut f) = self.fail_next.lock() {
            *f = Some(message.to_owned());
        }
    }

    fn check_fail(&self) -> Result<(), StoreError> {
        let mut f = self.fail_next.lock().map_err(|_| poisoned())?;
        match f.take() {
            Some(message) => Err(StoreError::Backend {
                backend: "memory",
                message,
            }),
            None => Ok(()),
        }
    }
}

fn poisoned() -> StoreError {
    StoreError::Backend {
        backend: "memory",
        message: "internal lock poisoned".into(),
    }
}

impl Store for MemoryStore {
    fn kind(&self) -> BackendKind {
        BackendKind::Memory
    }

    fn describe(&self) -> String {
        "in-memory store (forgets everything on exit)".into()
    }

    fn get(&self, key: &Key) -> Result<Option<Secret>, StoreError> {
        self.check_fail()?;
        let values = self.values.lock().map_err(|_| poisoned())?;
        Ok(values.get(key).cloned())
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        self.check_fail()?;
        let mut values = self.values.lock().map_err(|_| poisoned())?;
        for change in changes {
            match change {
                Change::Set(k, v) => {
                    values.insert(k.clone(), v.clone());
                }
                Change::Delete(k) => {
                    values.remove(k);
                }
            }
        }
        Ok(())
    }

    fn state_key(&self, create: bool) -> Result<Option<crate::StateKey>, StoreError> {
        self.check_fail()?;
        let mut state = self.state.lock().map_err(|_| poisoned())?;
        if let Some(k) = state.as_ref() {
            let mut k = k.clone();
            k.created = false;
            return Ok(Some(k));
        }
        if !create {
            return Ok(None);
        }
        let k = crate::StateKey::generate(BackendKind::Memory)?;
        *state = Some(k.clone());
        Ok(Some(k))
    }

    fn list(&self) -> Result<Option<Vec<Key>>, StoreError> {
        self.check_fail()?;
        let values = self.values.lock().map_err(|_| poisoned())?;
        Ok(Some(values.keys().cloned().collect()))
    }
}
