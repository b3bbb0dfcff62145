//! The metadata index: what is stored, never the values.
//!
//! `index.json` (mode 0600) records for each item its provider, its fields with a masked form of
//! each value, timestamps and the last verification, so that `list` and `show` work without
//! unlocking a vault and on stores that cannot enumerate. Timestamps are RFC 3339 strings that the
//! caller passes in; this module does not read the clock.
//!
//! The file is JSON written with one item per line. That keeps it readable and lets
//! [`IndexFile::load_item`] — on the path of every `get` and `run` — find one item with a substring
//! search and parse only its line instead of the whole index (10,000 items are megabytes). A file
//! edited by hand into another layout still loads, through the full parse.

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
    /// When `rotate` last replaced the value (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated: Option<String>,
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
                rotated: None,
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

/// A borrowed view of the index for `list`: strings point into the file's bytes instead of
/// being copied, which on a 10,000-item index is most of the cost of listing.
#[derive(Debug, Deserialize)]
pub struct IndexView<'a> {
    pub version: u64,
    #[serde(borrow, default)]
    pub items: BTreeMap<std::borrow::Cow<'a, str>, ItemView<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct ItemView<'a> {
    pub backend: BackendKind,
    #[serde(borrow, default)]
    pub provider: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    pub fields: BTreeMap<std::borrow::Cow<'a, str>, FieldView<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct FieldView<'a> {
    #[serde(borrow)]
    pub masked: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub updated: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    pub verified: Option<VerifiedView<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct VerifiedView<'a> {
    #[serde(borrow)]
    pub at: std::borrow::Cow<'a, str>,
    pub ok: bool,
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

    fn invalid(&self, e: serde_json::Error) -> StoreError {
        StoreError::Backend {
            backend: "index",
            message: format!(
                "{} is not a valid index ({e}); it holds no values: move it away and run `tokenvault list` to start a new one",
                self.path.display()
            ),
        }
    }

    /// The raw index bytes (empty when there is no index yet), for [`IndexFile::view`].
    pub fn read_bytes(&self) -> Result<Vec<u8>, StoreError> {
        check_private_file(&self.path)?;
        match std::fs::read(&self.path) {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(StoreError::io("reading", &self.path, e)),
        }
    }

    /// Parses bytes from [`IndexFile::read_bytes`] into a borrowed view.
    pub fn view<'a>(&self, bytes: &'a [u8]) -> Result<IndexView<'a>, StoreError> {
        if bytes.is_empty() {
            return Ok(IndexView {
                version: INDEX_VERSION,
                items: BTreeMap::new(),
            });
        }
        let view: IndexView<'a> = serde_json::from_slice(bytes).map_err(|e| self.invalid(e))?;
        if view.version > INDEX_VERSION {
            return Err(StoreError::UnsupportedVersion {
                path: self.path.clone(),
                found: view.version,
                supported: INDEX_VERSION,
            });
        }
        Ok(view)
    }

    /// One item's metadata, without parsing the rest of the index when the file has our
    /// one-item-per-line layout.
    pub fn load_item(&self, item: &str) -> Result<Option<ItemMeta>, StoreError> {
        check_private_file(&self.path)?;
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io("reading", &self.path, e)),
        };
        if bytes.starts_with(LINE_LAYOUT_HEAD) {
            let needle = format!("\n{}:", serde_json::Value::String(item.to_owned()));
            let found = memchr::memmem::find(&bytes, needle.as_bytes());
            let Some(start) = found else {
                return Ok(None);
            };
            let line_start = start + needle.len();
            let line_end = bytes[line_start..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(bytes.len(), |p| line_start + p);
            let line = bytes[line_start..line_end]
                .strip_suffix(b",")
                .unwrap_or(&bytes[line_start..line_end]);
            if let Ok(meta) = serde_json::from_slice::<ItemMeta>(line) {
                return Ok(Some(meta));
            }
        }
        let mut index = self.parse(&bytes)?;
        Ok(index.items.remove(item))
    }

    fn parse(&self, bytes: &[u8]) -> Result<Index, StoreError> {
        let index: Index = serde_json::from_slice(bytes).map_err(|e| self.invalid(e))?;
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
        atomic_write(&self.path, &serialize(&index)?)?;
        Ok(out)
    }
}

/// How every index we write starts; [`IndexFile::load_item`] relies on the layout after it.
const LINE_LAYOUT_HEAD: &[u8] = b"{\"version\":";

/// `{"version":1,"items":{` then one `"name":{…}` per line, then `}}`.
fn serialize(index: &Index) -> Result<Vec<u8>, StoreError> {
    let err = |e: serde_json::Error| StoreError::Backend {
        backend: "index",
        message: e.to_string(),
    };
    let mut out = Vec::with_capacity(128 + index.items.len() * 256);
    out.extend_from_slice(LINE_LAYOUT_HEAD);
    out.extend_from_slice(index.version.to_string().as_bytes());
    out.extend_from_slice(b",\"items\":{");
    for (i, (name, meta)) in index.items.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        serde_json::to_writer(&mut out, name).map_err(err)?;
        out.push(b':');
        serde_json::to_writer(&mut out, meta).map_err(err)?;
    }
    out.extend_from_slice(b"\n}}\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_one_item_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let f = IndexFile::new(dir.path());
        assert!(f.load().unwrap().items.is_empty());
        assert!(f.load_item("huggingface").unwrap().is_none());
        f.update(|i| {
            for name in ["aws", "huggingface", "huggingface-work", "x\"y"] {
                i.record_set(
                    BackendKind::File,
                    Some("huggingface"),
                    name,
                    "token",
                    "hf_ab…wxyz".into(),
                    false,
                    "2026-01-01T00:00:00Z",
                );
            }
        })
        .unwrap();
        let text = std::fs::read_to_string(f.path()).unwrap();
        assert_eq!(text.lines().count(), 6, "one item per line: {text}");
        let idx = f.load().unwrap();
        assert_eq!(
            idx.items["huggingface"].fields["token"].masked,
            "hf_ab…wxyz"
        );
        for name in ["aws", "huggingface", "huggingface-work", "x\"y"] {
            assert_eq!(
                f.load_item(name).unwrap().as_ref(),
                idx.items.get(name),
                "{name}"
            );
        }
        assert!(
            f.load_item("hugging").unwrap().is_none(),
            "no prefix matches"
        );
        // A hand-edited, pretty-printed index still works.
        crate::fsutil::atomic_write(
            f.path(),
            serde_json::to_string_pretty(&idx).unwrap().as_bytes(),
        )
        .unwrap();
        assert_eq!(f.load_item("aws").unwrap().as_ref(), idx.items.get("aws"));
        assert_eq!(f.load().unwrap(), idx);
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
