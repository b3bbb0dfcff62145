//! Caching an unlocked vault key between processes (`tokenvault unlock` / `lock`).
//! PLACEHOLDER: implemented by the file-backend work.

use crate::StoreError;
use std::time::Duration;
use zeroize::Zeroizing;

/// Somewhere to keep a derived key for a while, so later processes need no passphrase.
pub trait KeyCache: Send + Sync {
    fn load(&self, id: &str) -> Option<Zeroizing<Vec<u8>>>;
    fn store(&self, id: &str, data: &[u8], timeout: Option<Duration>) -> Result<(), StoreError>;
    fn forget(&self, id: &str) -> Result<bool, StoreError>;
}

/// No cache: every process needs the passphrase.
pub struct NoCache;

impl KeyCache for NoCache {
    fn load(&self, _id: &str) -> Option<Zeroizing<Vec<u8>>> {
        None
    }
    fn store(&self, _id: &str, _data: &[u8], _timeout: Option<Duration>) -> Result<(), StoreError> {
        Err(StoreError::Unavailable {
            backend: "key cache",
            reason: "no key cache on this platform".into(),
            hint: "set TOKENVAULT_PASSPHRASE_FILE for non-interactive use".into(),
        })
    }
    fn forget(&self, _id: &str) -> Result<bool, StoreError> {
        Ok(false)
    }
}
