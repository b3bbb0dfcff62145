//! The vault as the commands see it: a backend plus the metadata index plus the catalogue.
//!
//! This is where a reference becomes a key (default field from the provider), where a replaced
//! value is kept as the previous one, and where the index is kept in step with the store. Commands
//! call these few operations instead of talking to the store and index separately.

pub use crate::backends::Backend;
use crate::settings::BackendChoice;
use anyhow::{Context, Result};
use std::sync::{Mutex, PoisonError};
use tokenvault_core::{mask, Catalogue, FieldName, Provider, Reference, Secret};
use tokenvault_store::index::{Index, IndexFile, Verification};
use tokenvault_store::{BackendKind, Change, Key, Slot, StateKey, Store};

pub struct Vault<'a> {
    pub backend: Backend,
    pub choice: BackendChoice,
    pub index_file: IndexFile,
    pub catalogue: &'a Catalogue,
    /// The store's state key once read (see [`tokenvault_store::state`]).
    pub state: StateCache,
}

/// The state key as this process last read it: unread, absent, or the key.
#[derive(Default)]
pub struct StateCache {
    key: Mutex<Option<Option<StateKey>>>,
}

/// Index entries this process found changed outside tokenvault (not believed), for `main` to
/// report once the command is done.
static DISTRUSTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The names of index entries found changed outside tokenvault, each once.
pub fn take_distrusted() -> Vec<String> {
    let mut names = std::mem::take(&mut *DISTRUSTED.lock().unwrap_or_else(PoisonError::into_inner));
    names.sort();
    names.dedup();
    names
}

fn note_distrusted(names: &[String]) {
    DISTRUSTED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .extend(names.iter().cloned());
}

/// The error of a bare reference whose index entry was changed outside tokenvault.
pub fn untrusted_entry(item: &str) -> anyhow::Error {
    crate::error::hinted(
        format!(
            "the index entry of '{item}' was changed outside tokenvault (its tag does not match \
             the vault), so which field tv://{item} means is not known"
        ),
        format!(
            "name the field (tv://{item}/FIELD), or run `tokenvault unlock` (or any write) to \
             rebuild the entry from the vault; `tokenvault doctor` shows what was changed"
        ),
    )
}

/// A reference resolved against the catalogue and index.
#[derive(Debug, Clone)]
pub struct Target {
    pub key: Key,
    pub provider: Option<String>,
}

impl Target {
    pub fn reference(&self) -> String {
        format!("tv://{}/{}", self.key.item, self.key.field)
    }
}

/// What a write did.
pub struct Written {
    pub replaced: bool,
    pub masked: String,
}

/// Masks a value with the longest known prefix of its field that it starts with. A value of a
/// field the catalogue marks plain (`secret = false`: a region, a repository id, a bucket, an
/// endpoint, a space DID) is shown as it is, as long as it has the field's format (or, for a field
/// without one, does not look like a secret): a token stored there by mistake stays masked.
pub fn mask_for(catalogue: &Catalogue, provider: Option<&str>, field: &str, value: &str) -> String {
    let known = provider
        .and_then(|p| catalogue.get(p))
        .and_then(|p| p.field(field));
    if let Some(f) = known.filter(|f| !f.secret) {
        let plain = if f.formats.is_empty() {
            tokenvault_core::lookalike::secret_lookalike(value, catalogue).is_none()
        } else {
            f.formats.iter().any(|fmt| fmt.is_match(value))
        };
        if plain {
            return value.to_owned();
        }
    }
    let f = known.or_else(|| catalogue.detect_value(value).map(|(_, f)| f));
    let prefix = f.and_then(|f| {
        f.prefix
            .iter()
            .chain(f.keywords.iter())
            .filter(|p| value.starts_with(p.as_str()))
            .max_by_key(|p| p.len())
            .cloned()
    });
    mask(value, prefix.as_deref())
}

impl<'a> Vault<'a> {
    pub fn store(&self) -> &dyn Store {
        self.backend.store()
    }

    pub fn kind(&self) -> BackendKind {
        self.choice.kind
    }

    pub fn load_index(&self) -> Result<Index> {
        Ok(self.index_file.load()?)
    }

    /// The store's state key: read once per process; with `create`, made when the store has
    /// none (a write does that, so that the index it writes is sealed).
    pub fn state_key(&self, create: bool) -> Result<Option<StateKey>> {
        let mut cached = self
            .state
            .key
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(Some(k)) = cached.as_ref() {
            return Ok(Some(k.clone()));
        }
        if cached.is_some() && !create {
            return Ok(None);
        }
        let found = self.store().state_key(create)?;
        if let Some(k) = &found {
            crate::audit::anchor_with(k);
        }
        *cached = Some(found.clone());
        Ok(found)
    }

    /// The state key when it can be had without asking for a passphrase (a locked file vault
    /// gives none), for commands that only show the index.
    pub fn quiet_state_key(&self) -> Option<StateKey> {
        if let Some(store) = self.backend.file_store() {
            if !(store.is_unlocked() || crate::prompt::passphrase_configured()) {
                return None;
            }
        }
        self.state_key(false).ok().flatten()
    }

    /// The index with the entries of this store that do not verify left out (and noted), when
    /// the state key is at hand without a prompt; else the index as it is (a cache).
    pub fn load_index_checked(&self) -> Result<Index> {
        self.load_index_without_untrusted(self.quiet_state_key())
    }

    /// The index for a command that reads or writes values (so the state key is at hand): the
    /// entries of this store that do not verify are left out and noted, never believed.
    pub fn load_index_trusted(&self) -> Result<Index> {
        self.load_index_without_untrusted(self.state_key(false)?)
    }

    /// The index with the entries that do not verify under `key` left out and noted (as it is
    /// when there is no key).
    fn load_index_without_untrusted(&self, key: Option<StateKey>) -> Result<Index> {
        let mut index = self.load_index()?;
        if let Some(key) = key {
            note_distrusted(&index.drop_untrusted(&key));
        }
        Ok(index)
    }

    /// Changes the index under its lock, sealing this store's entries with the state key (made
    /// now when the store has none: the index as it stands is then sealed once, as written
    /// before tags existed). Entries found changed outside tokenvault are not believed: they are
    /// dropped, noted, and rebuilt from what the store holds.
    pub fn update_index<T>(&self, f: impl FnOnce(&mut Index) -> T) -> Result<T> {
        let key = self.state_key(true)?;
        let (out, dropped) = self.index_file.update_sealed(key.as_ref(), f)?;
        if let Some(Some(k)) = self
            .state
            .key
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            // Sealed once as it was; from now on an entry without a valid tag is not trusted.
            k.created = false;
        }
        if !dropped.is_empty() {
            note_distrusted(&dropped);
            if let Some(held) = self.store().list()? {
                self.reconcile_index(&held, &crate::context::now_rfc3339())?;
            }
        }
        Ok(out)
    }

    /// The provider of an item: what the index recorded, else `override_`, else the name's first
    /// segment when that is a known provider.
    pub fn provider_of(
        &self,
        index: &Index,
        item: &str,
        override_: Option<&str>,
    ) -> Option<&'a Provider> {
        let recorded = index.items.get(item).and_then(|m| m.provider.as_deref());
        override_
            .or(recorded)
            .and_then(|id| self.catalogue.get(id))
            .or_else(|| {
                tokenvault_core::ItemName::new(item)
                    .ok()
                    .and_then(|n| self.catalogue.for_item(&n).map(|p| p as &Provider))
            })
    }

    /// Resolves `r` to a key: a missing field means the provider's default field (`token` for an
    /// unknown provider).
    pub fn target(
        &self,
        index: &Index,
        r: &Reference,
        provider_override: Option<&str>,
    ) -> Result<Target> {
        let provider = self.provider_of(index, r.item.as_str(), provider_override);
        let default_field = provider
            .map(|p| p.default_field.as_str())
            .unwrap_or("token");
        let (item, field) = r.resolve(default_field)?;
        Ok(Target {
            key: Key::new(item, field),
            provider: provider_override
                .map(str::to_owned)
                .or_else(|| provider.map(|p| p.id.clone())),
        })
    }

    /// Resolves `r` for reading (`get`, `run`): like [`Vault::target`], but reads the index only
    /// for a bare `ITEM` reference, and then only that item's line — the hot path of every launch.
    pub fn target_for_read(&self, r: &Reference) -> Result<Target> {
        // Read first (it is where the value is, so this costs no extra unlock): it checks a bare
        // reference's entry below, and anchors the audit head of the read about to be recorded.
        let state = self.state_key(false)?;
        if r.field.is_some() {
            let provider = self.catalogue.for_item(&r.item).map(|p| p.id.clone());
            let (item, field) = r.resolve("token")?;
            return Ok(Target {
                key: Key::new(item, field),
                provider,
            });
        }
        let mut index = Index::default();
        if let Some(meta) = self.index_file.load_item(r.item.as_str())? {
            // The entry decides the field: believed only when its tag verifies (a store that has
            // no state key yet has never sealed its index).
            if meta.backend == self.kind() {
                if let Some(key) = &state {
                    if !meta.authentic(r.item.as_str(), key) {
                        return Err(untrusted_entry(r.item.as_str()));
                    }
                }
            }
            index.items.insert(r.item.to_string(), meta);
        }
        self.target(&index, r, None)
    }

    /// Stores `value` at `target`, keeping the value it replaces in the previous slot.
    pub fn write(&self, target: &Target, value: &Secret, now: &str) -> Result<Written> {
        let mut written = self.write_many(&[(target.clone(), value.clone())], now)?;
        written
            .pop()
            .ok_or_else(|| anyhow::anyhow!("no result for {}", target.reference()))
    }

    /// [`Vault::write`] of several values: one store write and one index write, whatever their
    /// number (an import of 10,000 tokens is not 10,000 rewrites of the vault and the index).
    /// Targets must be distinct.
    pub fn write_many(&self, writes: &[(Target, Secret)], now: &str) -> Result<Vec<Written>> {
        let keys: Vec<Key> = writes.iter().map(|(t, _)| t.key.clone()).collect();
        let olds = self.store().get_many(&keys)?;
        let mut changes = Vec::with_capacity(writes.len() * 2);
        let mut written = Vec::with_capacity(writes.len());
        for ((target, value), old) in writes.iter().zip(olds) {
            let replaced = old.as_ref().is_some_and(|o| o != value);
            if let (true, Some(old)) = (replaced, old) {
                changes.push(Change::Set(target.key.previous(), old));
            }
            changes.push(Change::Set(target.key.clone(), value.clone()));
            let masked = mask_for(
                self.catalogue,
                target.provider.as_deref(),
                target.key.field.as_str(),
                value.expose_secret(),
            );
            written.push(Written { replaced, masked });
        }
        if changes.is_empty() {
            return Ok(written);
        }
        self.store().apply(&changes)?;
        // Non-secret facts beside the values, for a store others read them from (OpenBao's
        // custom_metadata): the provider and when it changed. Best effort: the values are stored.
        let mut annotated: Vec<&str> = Vec::new();
        for (target, _) in writes {
            if annotated.contains(&target.key.item.as_str()) {
                continue;
            }
            annotated.push(target.key.item.as_str());
            let mut notes = vec![("updated".to_owned(), now.to_owned())];
            if let Some(p) = &target.provider {
                notes.push(("provider".to_owned(), p.clone()));
            }
            let _ = self.store().annotate(&target.key.item, &notes);
        }
        let kind = self.kind();
        self.update_index(|idx| {
            for ((target, _), w) in writes.iter().zip(&written) {
                let (item, field) = (target.key.item.as_str(), target.key.field.as_str());
                // Read under the index lock, in the same pass that writes it.
                let had_previous = idx
                    .items
                    .get(item)
                    .and_then(|m| m.fields.get(field))
                    .is_some_and(|f| f.has_previous);
                idx.record_set(
                    kind,
                    target.provider.as_deref(),
                    item,
                    field,
                    w.masked.clone(),
                    w.replaced || had_previous,
                    now,
                );
            }
        })
        .context("the values were stored, but updating the index failed")?;
        Ok(written)
    }

    /// Records the result of a live check of `target` in its index entry (sealed like every
    /// index change). Nothing is recorded for a field the index does not list.
    pub fn record_verification(&self, target: &Target, verification: &Verification) -> Result<()> {
        let _ = self.store().annotate(
            &target.key.item,
            &[(
                format!("verified_{}", target.key.field),
                format!(
                    "{} {} {}",
                    verification.at,
                    if verification.ok { "ok" } else { "failed" },
                    verification.summary
                ),
            )],
        );
        self.update_index(|idx| {
            if let Some(f) = idx
                .items
                .get_mut(target.key.item.as_str())
                .and_then(|m| m.fields.get_mut(target.key.field.as_str()))
            {
                f.verified = Some(verification.clone());
            }
        })
    }

    /// Every current value the vault holds, with its key (to recognise a value stored before).
    pub fn held_values(&self, index: &Index) -> Result<Vec<(Key, Secret)>> {
        let keys = self.keys(index)?;
        let values = self.store().get_many(&keys)?;
        Ok(keys
            .into_iter()
            .zip(values)
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect())
    }

    /// [`Vault::write`], then reads the value back: only a value that reads back equal may
    /// replace its plaintext source (an import, a client config).
    pub fn write_verified(&self, target: &Target, value: &Secret, now: &str) -> Result<Written> {
        let mut written = self.write_many_verified(&[(target.clone(), value.clone())], now)?;
        written
            .pop()
            .ok_or_else(|| anyhow::anyhow!("no result for {}", target.reference()))
    }

    /// [`Vault::write_many`], then reads every value back (one read).
    pub fn write_many_verified(
        &self,
        writes: &[(Target, Secret)],
        now: &str,
    ) -> Result<Vec<Written>> {
        let written = self.write_many(writes, now)?;
        let keys: Vec<Key> = writes.iter().map(|(t, _)| t.key.clone()).collect();
        let back = self.store().get_many(&keys)?;
        if let Some(((target, _), _)) = writes
            .iter()
            .zip(&back)
            .find(|((_, value), got)| got.as_ref() != Some(value))
        {
            return Err(crate::error::hinted(
                format!("{} did not read back after storing", target.reference()),
                "the plaintext source was left as it is; check the backend with `tokenvault doctor`",
            ));
        }
        Ok(written)
    }

    /// Every stored key of this backend: what the index knows, plus, for the OS keychain, what
    /// the store itself enumerates (entries added with other tools, such as `secret-tool`). The
    /// file vault is written only by tokenvault, which keeps the index in step, so listing it
    /// needs no passphrase and no decryption.
    pub fn keys(&self, index: &Index) -> Result<Vec<Key>> {
        let listed = if self.backend.def().enumerates {
            self.store().list()?
        } else {
            None
        };
        let mut keys: Vec<Key> = match listed {
            Some(k) => k.into_iter().filter(|k| k.slot == Slot::Current).collect(),
            None => Vec::new(),
        };
        for (item, meta) in &index.items {
            if meta.backend != self.kind() {
                continue;
            }
            for field in meta.fields.keys() {
                if let (Ok(i), Ok(f)) =
                    (tokenvault_core::ItemName::new(item), FieldName::new(field))
                {
                    keys.push(Key::new(i, f));
                }
            }
        }
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    /// Makes the index list exactly the fields the store holds (`held`: every key of both slots,
    /// as the store enumerates it): a field the index lacks is added (masked from its value), a
    /// field the store no longer has is dropped, and `has_previous` follows the store. For this
    /// backend's entries only. Used after `backup restore`, and to repair an index that a crash
    /// between the vault write and the index write left behind. Returns (added, dropped).
    pub fn reconcile_index(&self, held: &[Key], now: &str) -> Result<(Vec<Key>, Vec<Key>)> {
        let current: Vec<&Key> = held.iter().filter(|k| k.slot == Slot::Current).collect();
        let values = self
            .store()
            .get_many(&current.iter().map(|k| (*k).clone()).collect::<Vec<_>>())?;
        let index = self.load_index_trusted()?;
        let kind = self.kind();
        let mut added = Vec::new();
        let mut dropped = Vec::new();
        self.update_index(|idx| {
            for (k, v) in current.iter().zip(&values) {
                let (item, field) = (k.item.as_str(), k.field.as_str());
                let has_previous = held.contains(&k.previous());
                let known = idx.items.get(item).and_then(|m| m.fields.get(field));
                match (known, v) {
                    (Some(f), _) if f.has_previous == has_previous => {}
                    (Some(_), _) => {
                        if let Some(f) = idx
                            .items
                            .get_mut(item)
                            .and_then(|m| m.fields.get_mut(field))
                        {
                            f.has_previous = has_previous;
                        }
                    }
                    (None, Some(value)) => {
                        // Named after a provider, or recognised by its value's format.
                        let provider = self
                            .provider_of(&index, item, None)
                            .or_else(|| {
                                self.catalogue
                                    .detect_value(value.expose_secret())
                                    .map(|(p, _)| p)
                            })
                            .map(|p| p.id.clone());
                        let masked = mask_for(
                            self.catalogue,
                            provider.as_deref(),
                            field,
                            value.expose_secret(),
                        );
                        idx.record_set(
                            kind,
                            provider.as_deref(),
                            item,
                            field,
                            masked,
                            has_previous,
                            now,
                        );
                        added.push((*k).clone());
                    }
                    (None, None) => {}
                }
            }
            let stale: Vec<(String, String)> = idx
                .items
                .iter()
                .filter(|(_, m)| m.backend == kind)
                .flat_map(|(item, m)| m.fields.keys().map(move |f| (item.clone(), f.clone())))
                .filter(|(item, field)| {
                    !current
                        .iter()
                        .any(|k| k.item.as_str() == item && k.field.as_str() == field)
                })
                .collect();
            for (item, field) in stale {
                idx.record_delete(&item, Some(&field));
                if let (Ok(i), Ok(f)) = (
                    tokenvault_core::ItemName::new(&item),
                    FieldName::new(&field),
                ) {
                    dropped.push(Key::new(i, f));
                }
            }
        })?;
        Ok((added, dropped))
    }

    /// Deletes a field (both slots) or, for a bare item reference, every field of the item.
    /// Returns the keys that existed.
    pub fn remove(&self, index: &Index, r: &Reference) -> Result<Vec<Key>> {
        // What the store itself holds, not only what the index says: after a crash between a
        // vault write and its index write, the index can miss a field, and `rm ITEM` must not
        // say "Deleted" while `get ITEM/FIELD` still answers. (The file vault enumerates once it
        // is decrypted, which deleting needs anyway.)
        let mut all = self.keys(index)?;
        if !self.backend.def().enumerates {
            if let Some(listed) = self.store().list()? {
                all.extend(listed.into_iter().filter(|k| k.slot == Slot::Current));
                all.sort();
                all.dedup();
            }
        }
        let targets: Vec<Key> = match &r.field {
            Some(f) => vec![Key::new(r.item.clone(), f.clone())],
            None => all.into_iter().filter(|k| k.item == r.item).collect(),
        };
        // Both slots of every target in one write, so that a kill cannot leave a deleted field's
        // previous value behind: `get --previous` and `rotate --rollback` would still find it, and
        // a later `set` of the field would keep it (it replaces nothing).
        let slots: Vec<Key> = targets
            .iter()
            .flat_map(|k| [k.clone(), k.previous()])
            .collect();
        let held = self.store().get_many(&slots)?;
        let changes: Vec<Change> = slots
            .iter()
            .zip(&held)
            .filter(|(_, v)| v.is_some())
            .map(|(k, _)| Change::Delete(k.clone()))
            .collect();
        if !changes.is_empty() {
            self.store().apply(&changes)?;
        }
        let mut removed = Vec::new();
        for (key, current) in targets.iter().zip(held.iter().step_by(2)) {
            let existed = current.is_some();
            let indexed = index
                .items
                .get(key.item.as_str())
                .is_some_and(|m| m.fields.contains_key(key.field.as_str()));
            if existed || indexed {
                removed.push(key.clone());
            }
        }
        self.update_index(|idx| {
            for key in &targets {
                idx.record_delete(key.item.as_str(), Some(key.field.as_str()));
            }
        })?;
        Ok(removed)
    }
}
