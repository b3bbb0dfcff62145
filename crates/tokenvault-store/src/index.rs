//! The metadata index: what is stored, never the values.
//!
//! `index.json` (mode 0600) records for each item its provider, its fields with a masked form of
//! each value, timestamps and the last verification, so that `list` and `show` work without
//! unlocking a vault and on stores that cannot enumerate. Timestamps are RFC 3339 strings that the
//! caller passes in; this module does not read the clock.
//!
//! The file is JSON written with one item per line, items sorted by name. That keeps it readable
//! and lets [`IndexFile::load_item`] — on the path of every `get` and `run` — find one item by a
//! binary search over the lines, reading a few KiB and parsing only that line instead of the whole
//! index (10,000 items are megabytes). A file edited by hand into another layout still loads,
//! through a substring search or the full parse.

use crate::fsutil::{atomic_write, check_private_file, FileLock};
use crate::{BackendKind, StateKey, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
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
    /// HMAC-SHA256 of everything above and the item's name under its store's [`StateKey`]
    /// ([`crate::state`]): an entry whose tag does not verify was changed outside tokenvault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

/// What an entry's tag covers: every field of [`ItemMeta`] but the tag (a field added there must
/// be added here, or it is not authenticated).
#[derive(Serialize)]
struct Tagged<'a> {
    backend: BackendKind,
    provider: &'a Option<String>,
    created: &'a str,
    updated: &'a str,
    fields: &'a BTreeMap<String, FieldMeta>,
}

/// The domain of index entry tags.
const TAG_DOMAIN: &str = "tokenvault index entry v1";

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
            mac: None,
        }
    }

    fn tag_input(&self) -> Vec<u8> {
        let tagged = Tagged {
            backend: self.backend,
            provider: &self.provider,
            created: &self.created,
            updated: &self.updated,
            fields: &self.fields,
        };
        // Plain data (strings, maps, booleans): serialising it cannot fail.
        serde_json::to_vec(&tagged).unwrap_or_default()
    }

    /// Tags the entry `name` under `key`.
    pub fn seal(&mut self, name: &str, key: &StateKey) {
        self.mac = Some(key.tag(TAG_DOMAIN, &[name.as_bytes(), &self.tag_input()]));
    }

    /// Whether the entry `name` carries a valid tag under `key`.
    pub fn authentic(&self, name: &str, key: &StateKey) -> bool {
        self.mac
            .as_deref()
            .is_some_and(|mac| key.verify(TAG_DOMAIN, &[name.as_bytes(), &self.tag_input()], mac))
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

    /// The entries of `key`'s store whose tag does not verify: changed outside tokenvault.
    pub fn untrusted(&self, key: &StateKey) -> Vec<String> {
        self.items
            .iter()
            .filter(|(name, meta)| meta.backend == key.backend() && !meta.authentic(name, key))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Removes the entries of [`Index::untrusted`] (what they say is not believed) and returns
    /// their names.
    pub fn drop_untrusted(&mut self, key: &StateKey) -> Vec<String> {
        let untrusted = self.untrusted(key);
        for name in &untrusted {
            self.items.remove(name);
        }
        untrusted
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

    /// One item's metadata, without reading the rest of the index when the file has our sorted
    /// one-item-per-line layout (a binary search over its lines, [`find_item_line`]).
    pub fn load_item(&self, item: &str) -> Result<Option<ItemMeta>, StoreError> {
        check_private_file(&self.path)?;
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io("reading", &self.path, e)),
        };
        let io_err = |e| StoreError::io("reading", &self.path, e);
        let len = file.metadata().map_err(io_err)?.len();
        self.find_item(&mut file, len, item)
    }

    /// [`IndexFile::load_item`] on an open index of `len` bytes.
    fn find_item<R: Read + Seek>(
        &self,
        file: &mut R,
        len: u64,
        item: &str,
    ) -> Result<Option<ItemMeta>, StoreError> {
        let io_err = |e| StoreError::io("reading", &self.path, e);
        if let Some(line) = find_item_line(file, len, item).map_err(io_err)? {
            if let Some(meta) = parse_item_line(&line) {
                return Ok(Some(meta));
            }
        }
        // Not found by the search (absent, or a file not in our sorted layout): read it all.
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.seek(SeekFrom::Start(0)).map_err(io_err)?;
        file.read_to_end(&mut bytes).map_err(io_err)?;
        if bytes.starts_with(LINE_LAYOUT_HEAD) {
            let quoted = serde_json::Value::String(item.to_owned()).to_string();
            let needle = format!("\n{quoted}:");
            match memchr::memmem::find(&bytes, needle.as_bytes()) {
                Some(start) => {
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
                // Absent for sure only when the name appears nowhere, not even written another
                // way (`\u` or `\/` escapes); otherwise (several items on a line, a file
                // minified by another tool) the full parse decides.
                None if memchr::memmem::find(&bytes, quoted.as_bytes()).is_none()
                    && memchr::memmem::find(&bytes, b"\\u").is_none()
                    && memchr::memmem::find(&bytes, b"\\/").is_none() =>
                {
                    return Ok(None);
                }
                None => {}
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
        self.update_sealed(None, f).map(|(out, _)| out)
    }

    /// [`IndexFile::update`] for the entries of `key`'s store: entries whose tag does not verify
    /// are dropped before `f` runs (what they say is not believed; their names are returned, for
    /// the caller to rebuild them from the store), and every entry of that store is tagged as it is
    /// written. A key the store has just made (`created`: an index written before tags existed)
    /// seals the entries as they are, once. Without a key (a store that has none yet), entries
    /// are written as they are.
    pub fn update_sealed<T>(
        &self,
        key: Option<&StateKey>,
        f: impl FnOnce(&mut Index) -> T,
    ) -> Result<(T, Vec<String>), StoreError> {
        let _guard = FileLock::exclusive(&self.lock)?;
        crate::fsutil::remove_stale_temps(&self.path);
        let mut index = self.load()?;
        let mut dropped = Vec::new();
        if let Some(key) = key.filter(|k| !k.created) {
            dropped = index.drop_untrusted(key);
        }
        let out = f(&mut index);
        if let Some(key) = key {
            for (name, meta) in index.items.iter_mut() {
                if meta.backend == key.backend() {
                    meta.seal(name, key);
                }
            }
        }
        index.version = INDEX_VERSION;
        atomic_write(&self.path, &serialize(&index)?)?;
        Ok((out, dropped))
    }
}

/// How every index we write starts; [`IndexFile::load_item`] relies on the layout after it.
const LINE_LAYOUT_HEAD: &[u8] = b"{\"version\":";

/// How many bytes one probe of [`find_item_line`] reads; most lines fit.
const PROBE: usize = 1024;

/// Finds `item`'s line by binary search over the lines of an index in our layout, whose items are
/// written sorted (a `BTreeMap`): a few small reads instead of megabytes. Only a line whose name
/// is exactly `item` is returned, so a file in another layout, unsorted or damaged can make this
/// miss (`None`: the caller then reads the whole file) but never return another item's line.
fn find_item_line<R: Read + Seek>(
    file: &mut R,
    len: u64,
    item: &str,
) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let first = read_line(file, 0, &mut line)?;
    let head_ok = line.starts_with(LINE_LAYOUT_HEAD)
        && line.ends_with(b",\"items\":{")
        && line[LINE_LAYOUT_HEAD.len()..line.len() - b",\"items\":{".len()]
            .iter()
            .all(u8::is_ascii_digit);
    if !head_ok {
        return Ok(None);
    }
    // Invariants: `lo` starts a line; lines starting before `lo` hold names below `item`, lines
    // starting at or after `hi` names above it (or the closing `}}`).
    let (mut lo, mut hi) = (first, len);
    while hi - lo > 4 * PROBE as u64 {
        let mid = lo + (hi - lo) / 2;
        // `mid` is inside some line (or starts one, which is then skipped): go to the next line.
        let start = read_line(file, mid, &mut line)?;
        if start >= hi {
            break;
        }
        read_line(file, start, &mut line)?;
        match line_name(&line).map(|name| name.as_ref().cmp(item)) {
            Some(std::cmp::Ordering::Less) => lo = start,
            Some(std::cmp::Ordering::Equal) => return Ok(Some(line)),
            Some(std::cmp::Ordering::Greater) | None => hi = start,
        }
    }
    let mut pos = lo;
    while pos < hi {
        let next = read_line(file, pos, &mut line)?;
        if line_name(&line).is_some_and(|name| name == item) {
            return Ok(Some(line));
        }
        pos = next;
    }
    Ok(None)
}

/// Reads the line starting at `start` into `line` (without its `\n`); returns where the next line
/// starts (the file's length after the last line).
fn read_line<R: Read + Seek>(file: &mut R, start: u64, line: &mut Vec<u8>) -> io::Result<u64> {
    line.clear();
    file.seek(SeekFrom::Start(start))?;
    let mut chunk = [0u8; PROBE];
    loop {
        let n = match file.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(start + line.len() as u64);
        }
        if let Some(i) = memchr::memchr(b'\n', &chunk[..n]) {
            line.extend_from_slice(&chunk[..i]);
            return Ok(start + line.len() as u64 + 1);
        }
        line.extend_from_slice(&chunk[..n]);
    }
}

/// The item name of a `"name":{…}` line, unescaped.
fn line_name(line: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    let end = name_end(line)?;
    let quoted = &line[..end - 1];
    if !quoted.contains(&b'\\') {
        return std::str::from_utf8(&quoted[1..])
            .ok()
            .map(std::borrow::Cow::Borrowed);
    }
    serde_json::from_slice::<String>(&line[..end])
        .ok()
        .map(std::borrow::Cow::Owned)
}

/// Where the JSON string that starts `line` ends (just after its closing quote), when it is
/// followed by `:`.
fn name_end(line: &[u8]) -> Option<usize> {
    if line.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while i < line.len() {
        match line[i] {
            b'\\' => i += 2,
            b'"' => return (line.get(i + 1) == Some(&b':')).then_some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The metadata on an item's line (`"name":{…}` with an optional trailing comma).
fn parse_item_line(line: &[u8]) -> Option<ItemMeta> {
    let value = &line[name_end(line)? + 1..];
    let value = value.strip_suffix(b",").unwrap_or(value);
    serde_json::from_slice(value).ok()
}

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

/// The `index` fuzz target ([`crate::fuzzing::index`]): `data` is an index file. Reading it whole
/// and as a borrowed view never panics; looking up one item (binary search, substring search,
/// full parse) finds what the full parse finds; an index read whole, written and read back is the
/// same index, and each of its items is found by the lookup.
pub(crate) fn fuzz_check(data: &[u8]) {
    let file = IndexFile::new(Path::new("/fuzz"));
    let _ = file.view(data);
    let parsed = file.parse(data);
    let mut names: Vec<String> = vec!["hf".into(), "a".into()];
    if let Ok(index) = &parsed {
        names.extend(index.items.keys().take(6).cloned());
    }
    let len = data.len() as u64;
    for name in &names {
        let found = file.find_item(&mut io::Cursor::new(data), len, name);
        if let Ok(index) = &parsed {
            match found {
                Ok(meta) => assert_eq!(meta.as_ref(), index.items.get(name), "item {name:?}"),
                Err(e) => panic!("the index parses, the lookup of {name:?} fails: {e}"),
            }
        }
    }
    let Ok(index) = parsed else {
        return;
    };
    let written = match serialize(&index) {
        Ok(w) => w,
        Err(e) => panic!("writing a parsed index failed: {e}"),
    };
    match file.parse(&written) {
        Ok(back) => assert_eq!(back, index, "index round trip"),
        Err(e) => panic!("a written index does not read back: {e}"),
    }
    let len = written.len() as u64;
    for (name, meta) in index.items.iter().take(6) {
        let mut cursor = io::Cursor::new(&written[..]);
        match find_item_line(&mut cursor, len, name) {
            Ok(Some(line)) => assert_eq!(parse_item_line(&line).as_ref(), Some(meta)),
            other => panic!("item {name:?} of a written index not found: {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(i: &mut Index, backend: BackendKind, name: &str) {
        i.record_set(
            backend,
            Some("huggingface"),
            name,
            "token",
            "hf_ab…wxyz".into(),
            false,
            "2026-01-01T00:00:00Z",
        );
    }

    /// An index from before tags is sealed once as it is (the key was just made); after that an
    /// entry edited, untagged or carrying another entry's tag is dropped before the change and
    /// never sealed; entries of another store are left as they are.
    #[test]
    fn sealing_migrates_once_then_drops_what_does_not_verify() {
        let dir = tempfile::tempdir().unwrap();
        let f = IndexFile::new(dir.path());
        f.update(|i| {
            put(i, BackendKind::File, "a");
            put(i, BackendKind::File, "b");
            put(i, BackendKind::Keychain, "k");
        })
        .unwrap();
        let made = StateKey::generate(BackendKind::File).unwrap();
        let (_, dropped) = f.update_sealed(Some(&made), |_| ()).unwrap();
        assert!(dropped.is_empty());
        let mut key = made.clone();
        key.created = false;
        let index = f.load().unwrap();
        assert!(index.untrusted(&key).is_empty());
        assert!(index.items["k"].mac.is_none(), "another store's entry");

        // Edits: a's provider changes; b gets a's tag.
        let mut edited = index.clone();
        edited.items.get_mut("a").unwrap().provider = Some("aws".into());
        let a_tag = edited.items["a"].mac.clone();
        edited.items.get_mut("b").unwrap().mac = a_tag;
        std::fs::write(f.path(), serialize(&edited).unwrap()).unwrap();
        assert_eq!(f.load().unwrap().untrusted(&key), vec!["a", "b"]);
        let (seen, dropped) = f
            .update_sealed(Some(&key), |i| i.items.contains_key("a"))
            .unwrap();
        assert!(!seen, "dropped before the change");
        assert_eq!(dropped, vec!["a", "b"]);
        let after = f.load().unwrap();
        assert!(!after.items.contains_key("a") && after.items.contains_key("k"));
        assert!(after.untrusted(&key).is_empty());
        // Untagged entries are not trusted either, once the key exists.
        let mut stripped = after.clone();
        put(&mut stripped, BackendKind::File, "c");
        std::fs::write(f.path(), serialize(&stripped).unwrap()).unwrap();
        assert_eq!(f.load().unwrap().untrusted(&key), vec!["c"]);
        // One-item lookups carry the tag: a bare reference can be checked without the rest.
        f.update_sealed(Some(&key), |i| put(i, BackendKind::File, "d"))
            .unwrap();
        assert!(f.load_item("d").unwrap().unwrap().authentic("d", &key));
        assert!(!f.load_item("d").unwrap().unwrap().authentic("c", &key));
    }

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

    /// A small deterministic generator (xorshift64), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    #[test]
    fn binary_search_agrees_with_the_full_parse() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let alphabet: Vec<&str> = vec![
            "a", "b", "z", "0", "9", "-", ".", "_", "\"", "\\", ":", "é", "\n",
        ];
        for round in 0..6 {
            let dir = tempfile::tempdir().unwrap();
            let f = IndexFile::new(dir.path());
            let count = [0, 1, 2, 50, 700, 3000][round];
            let mut names = std::collections::BTreeSet::new();
            while names.len() < count {
                let len = 1 + rng.below(12);
                let name: String = (0..len)
                    .map(|_| alphabet[rng.below(alphabet.len())])
                    .collect();
                // Prefixes of each other too: `hf`, `hf-work`.
                if rng.below(4) == 0 {
                    names.insert(format!("{name}-work"));
                }
                names.insert(name);
            }
            f.update(|i| {
                for (n, name) in names.iter().enumerate() {
                    // Some lines much longer than one probe.
                    let fields = if n % 97 == 0 { 40 } else { 1 + n % 3 };
                    for k in 0..fields {
                        i.record_set(
                            BackendKind::File,
                            Some("huggingface"),
                            name,
                            &format!("field-{k}"),
                            "hf_ab…wxyz".into(),
                            false,
                            "2026-01-01T00:00:00Z",
                        );
                    }
                }
            })
            .unwrap();
            let idx = f.load().unwrap();
            let mut probes: Vec<String> = names.iter().cloned().collect();
            for _ in 0..200 {
                let len = 1 + rng.below(12);
                probes.push(
                    (0..len)
                        .map(|_| alphabet[rng.below(alphabet.len())])
                        .collect(),
                );
            }
            probes.extend(["", "a-wor", "\u{10ffff}", "\"version\"", "items"].map(String::from));
            let bytes = std::fs::read(f.path()).unwrap();
            for name in &probes {
                let expected = idx.items.get(name.as_str());
                assert_eq!(f.load_item(name).unwrap().as_ref(), expected, "{name:?}");
                // The search alone never returns another item's line.
                let mut file = File::open(f.path()).unwrap();
                let line = find_item_line(&mut file, bytes.len() as u64, name).unwrap();
                if let Some(line) = line {
                    assert_eq!(parse_item_line(&line).as_ref(), expected, "{name:?}");
                } else {
                    assert!(expected.is_none(), "sorted layout, but {name:?} was missed");
                }
            }
            // Our layout, but unsorted (edited by hand): still right, through the fallback.
            let text = String::from_utf8(bytes).unwrap();
            let mut lines: Vec<&str> = text.lines().collect();
            let last = lines.len() - 1;
            lines[1..last].reverse();
            let mut body: Vec<String> = lines[1..last]
                .iter()
                .map(|l| l.trim_end_matches(',').to_owned())
                .collect();
            if body.len() > 1 {
                let mid = body.len() / 2;
                body.swap(0, mid);
            }
            let unsorted = format!("{}\n{}\n{}\n", lines[0], body.join(",\n"), lines[last]);
            crate::fsutil::atomic_write(f.path(), unsorted.as_bytes()).unwrap();
            assert_eq!(f.load().unwrap(), idx);
            for name in &probes {
                assert_eq!(
                    f.load_item(name).unwrap().as_ref(),
                    idx.items.get(name.as_str()),
                    "unsorted: {name:?}"
                );
            }
        }
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
