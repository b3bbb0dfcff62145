//! The state key: what makes tokenvault's own plaintext files beside a store trustworthy.
//!
//! The metadata index and the audit log's head live in plain files so that `list` needs no
//! unlock, but a plain file can be edited by anyone who can write the home directory. Each store
//! therefore keeps one random 256-bit key where its values are (inside the encrypted vault file;
//! as an entry of the OS keychain), and every index entry and the audit head carry an HMAC-SHA256
//! under it. Only who can read the values can make a valid tag, so an edit is detected as soon as
//! the key is at hand (after unlock), and what an edited entry says is never believed.
//!
//! A store that has no key yet (a vault written before this existed) gets one on its first write:
//! [`StateKey::created`] tells the caller that the index it holds is from before, to be sealed
//! once as it is. From then on an entry without a valid tag is not trusted.

use crate::{BackendKind, StoreError};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use tokenvault_core::Secret;
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

/// How a state key is written where it is kept: 64 lowercase hex digits.
const HEX_LEN: usize = 64;

/// One store's state key.
#[derive(Clone)]
pub struct StateKey {
    backend: BackendKind,
    key: Zeroizing<[u8; 32]>,
    /// Made by this call: the store had none before.
    pub created: bool,
}

impl fmt::Debug for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateKey")
            .field("backend", &self.backend)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

impl StateKey {
    /// A new random key.
    pub fn generate(backend: BackendKind) -> Result<StateKey, StoreError> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(key.as_mut()).map_err(|e| StoreError::Backend {
            backend: backend.as_str(),
            message: format!("no random numbers for a state key: {e}"),
        })?;
        Ok(StateKey {
            backend,
            key,
            created: true,
        })
    }

    /// The key as it is kept (`None` when `text` is not 64 hex digits).
    pub fn parse(backend: BackendKind, text: &str) -> Option<StateKey> {
        let text = text.trim();
        if text.len() != HEX_LEN {
            return None;
        }
        let mut key = Zeroizing::new([0u8; 32]);
        for (i, pair) in text.as_bytes().chunks(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            key[i] = u8::try_from(hi * 16 + lo).ok()?;
        }
        Some(StateKey {
            backend,
            key,
            created: false,
        })
    }

    /// The form in which the store keeps it.
    pub fn to_secret(&self) -> Secret {
        let mut text = String::with_capacity(HEX_LEN);
        for b in self.key.iter() {
            text.push_str(&format!("{b:02x}"));
        }
        Secret::new(text)
    }

    /// Which store's key this is: it judges only that store's entries.
    pub fn backend(&self) -> BackendKind {
        self.backend
    }

    fn mac(&self, domain: &str, parts: &[&[u8]]) -> HmacSha256 {
        // A fixed-size key: `new_from_slice` cannot fail for HMAC.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(self.key.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(domain.as_bytes());
        for part in parts {
            // Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac
    }

    /// The tag of `parts` in `domain` (what kind of thing is tagged), as hex.
    pub fn tag(&self, domain: &str, parts: &[&[u8]]) -> String {
        let bytes = self.mac(domain, parts).finalize().into_bytes();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `tag` is the tag of `parts` (compared in constant time).
    pub fn verify(&self, domain: &str, parts: &[&[u8]], tag: &str) -> bool {
        let Some(bytes) = decode_hex(tag) else {
            return false;
        };
        self.mac(domain, parts).verify_slice(&bytes).is_ok()
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|p| {
            let hi = (p[0] as char).to_digit(16)?;
            let lo = (p[1] as char).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_round_trips_and_tags_verify_only_unchanged() {
        let k = StateKey::generate(BackendKind::File).unwrap();
        assert!(k.created);
        let again = StateKey::parse(BackendKind::File, k.to_secret().expose_secret()).unwrap();
        assert!(!again.created);
        let tag = k.tag("index", &[b"hf", b"{}"]);
        assert!(again.verify("index", &[b"hf", b"{}"], &tag));
        assert!(!again.verify("index", &[b"hf", b"{ }"], &tag));
        assert!(!again.verify("audit", &[b"hf", b"{}"], &tag));
        assert!(!again.verify("index", &[b"h", b"f{}"], &tag));
        assert!(!again.verify("index", &[b"hf", b"{}"], "00"));
        assert!(!again.verify("index", &[b"hf", b"{}"], "zz"));
        let other = StateKey::generate(BackendKind::File).unwrap();
        assert!(!other.verify("index", &[b"hf", b"{}"], &tag));
        assert!(StateKey::parse(BackendKind::File, "abc").is_none());
        assert!(StateKey::parse(BackendKind::File, &"g".repeat(64)).is_none());
        assert!(!format!("{k:?}").contains(k.to_secret().expose_secret()));
    }
}
