//! The metadata index: what is stored, never the values.
//!
//! `index.json` (mode 0600) records for each item its provider, its fields with a masked form of
//! each value, timestamps and the last verification, so that `list` and `show` work without
//! unlocking a vault and on stores that cannot enumerate. Timestamps are RFC 3339 strings that the
//! caller passes in; this module does not read the clock.

use crate::fsutil::{atomic_write, check_private_file, FileLock};
use crate::{BackendKind, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const INDEX_VERSION: u64 = 1;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Index {
    pub version: u64,
    #[serde(default)]
    pub items: BTreeMap<String, ItemMeta>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ItemMeta {
    pub backend: BackendKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    pub created: String,
    pub updated: String,
    #[serde(default)]
    pub fields: BTreeMap<String, FieldMeta>,
    /// Anything a newer version wrote that this one does not know: kept, not dropped.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FieldMeta {
    /// The masked value (`hf_ab…wxyz`), never the value.
    pub masked: String,
    pub created: String,
    pub updated: String,
    #[serde(default)]
    pub has_previous: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<Verification>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// The outcome of the last live check.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Verification {
    pub at: String,
    pub ok: bool,
    pub summary: String,
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl ItemMeta {
    pub fn new(backend: BackendKind, provider: Option<String>, now: &str) -> Self {
        ItemMeta {
            backend,
            provider,
            created: now.to_owned(),
            updated: now.to_owned(),
            fields: BTreeMap::new(),
            extra: BTreeMap::new(),
        }
    }
}

impl Index {
    /// Records that `item/field` now holds a value whose masked form is `masked`.
    // Each argument is a distinct fact of the write; a struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub fn record_set(
        &mut self,
        backend: BackendKind,
        provider: Option<&str>,
        item: &str,
        field: &str,
        masked: String,
        has_previous: bool,
        now: &str,
    ) {
        let meta = self
            .items
            .entry(item.to_owned())
            .or_insert_with(|| ItemMeta::new(backend, provider.map(str::to_owned), now));
        meta.backend = backend;
        if provider.is_some() {
            meta.provider = provider.map(str::to_owned);
        }
        meta.updated = now.to_owned();
        let f = meta
            .fields
            .entry(field.to_owned())
            .or_insert_with(|| FieldMeta {
                masked: masked.clone(),
                created: now.to_owned(),
                updated: now.to_owned(),
                has_previous: false,
                verified: None,
                extra: BTreeMap::new(),
            });
        f.masked = masked;
        f.updated = now.to_owned();
        f.has_previous = has_previous;
        // A new value has not been verified yet.
        f.verified = None;
    }

    /// Forgets a field, and the item when it has no field left.
    pub fn record_delete(&mut self, item: &str, field: Option<&str>) {
        match field {
            None => {
                self.items.remove(item);
            }
            Some(f) => {
                if let Some(meta) = self.items.get_mut(item) {
                    meta.fields.remove(f);
                    if meta.fields.is_empty() {
                        self.items.remove(item);
                    }
                }
            }
        }
    }
}

/// The index file and its lock.
#[derive(Debug, Clone)]
pub struct IndexFile {
    path: PathBuf,
    lock: PathBuf,
}

impl IndexFile {
    pub fn new(home: &Path) -> Self {
        IndexFile {
            path: home.join("index.json"),
            lock: home.join("index.lock"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the index; a missing file is an empty index.
    pub fn load(&self) -> Result<Index, StoreError> {
        check_private_file(&self.path)?;
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Index {
                    version: INDEX_VERSION,
                    items: BTreeMap::new(),
                })
            }
            Err(e) => return Err(StoreError::io("reading", &self.path, e)),
        };
        self.parse(&bytes)
    }

    fn parse(&self, bytes: &[u8]) -> Result<Index, StoreError> {
        let index: Index = serde_json::from_slice(bytes).map_err(|e| StoreError::Backend {
            backend: "index",
            message: format!(
                "{} is not a valid index ({e}); it holds no values: move it away and run `tokenvault list` to start a new one",
                self.path.display()
            ),
        })?;
        if index.version > INDEX_VERSION {
            return Err(StoreError::UnsupportedVersion {
                path: self.path.clone(),
                found: index.version,
                supported: INDEX_VERSION,
            });
        }
        Ok(index)
    }

    /// Reads, changes and writes the index under its lock, atomically.
    pub fn update<T>(&self, f: impl FnOnce(&mut Index) -> T) -> Result<T, StoreError> {
        let _guard = FileLock::exclusive(&self.lock)?;
        crate::fsutil::remove_stale_temps(&self.path);
        let mut index = self.load()?;
        let out = f(&mut index);
        index.version = INDEX_VERSION;
        let bytes = serde_json::to_vec_pretty(&index).map_err(|e| StoreError::Backend {
            backend: "index",
            message: e.to_string(),
        })?;
        atomic_write(&self.path, &bytes)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_unknown_keys_survive() {
        let dir = tempfile::tempdir().unwrap();
        let f = IndexFile::new(dir.path());
        assert!(f.load().unwrap().items.is_empty());
        f.update(|i| {
            i.record_set(
                BackendKind::File,
                Some("huggingface"),
                "huggingface",
                "token",
                "hf_ab…wxyz".into(),
                false,
                "2026-01-01T00:00:00Z",
            )
        })
        .unwrap();
        // A newer tokenvault added a key we do not know.
        let text = std::fs::read_to_string(f.path())
            .unwrap()
            .replace("\"backend\"", "\"future\": 1, \"backend\"");
        crate::fsutil::atomic_write(f.path(), text.as_bytes()).unwrap();
        f.update(|_| ()).unwrap();
        let idx = f.load().unwrap();
        assert_eq!(idx.items["huggingface"].extra["future"], 1);
        assert_eq!(
            idx.items["huggingface"].fields["token"].masked,
            "hf_ab…wxyz"
        );
    }

    #[test]
    fn delete_field_then_item() {
        let mut i = Index::default();
        i.record_set(BackendKind::File, None, "a", "x", "m".into(), false, "t");
        i.record_set(BackendKind::File, None, "a", "y", "m".into(), false, "t");
        i.record_delete("a", Some("x"));
        assert!(i.items["a"].fields.contains_key("y"));
        i.record_delete("a", Some("y"));
        assert!(i.items.is_empty());
    }

    #[test]
    fn malformed_and_newer_index_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let f = IndexFile::new(dir.path());
        crate::fsutil::atomic_write(f.path(), b"{not json").unwrap();
        let e = f.load().unwrap_err().to_string();
        assert!(
            e.contains("index.json") && e.contains("not a valid index"),
            "{e}"
        );
        crate::fsutil::atomic_write(f.path(), b"{\"version\": 99, \"items\": {}}").unwrap();
        assert!(matches!(
            f.load().unwrap_err(),
            StoreError::UnsupportedVersion { found: 99, .. }
        ));
    }
}
