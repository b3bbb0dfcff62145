//! Which vault reference answers a `keyring get SERVICE USERNAME` (pip's keyring route, and the
//! `.pypirc` passwords `scan --home --fix` moves): a small map in the tokenvault home,
//! `keyring.json` (0600, references only, never a value), from a service (an index or upload URL)
//! and a user name to a `tv://` reference. A service that is not in the map is matched by its
//! host, as pip asks with the index URL first and then with the bare host. Data only.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tokenvault_core::credfiles::url_host;

/// The map file, in the tokenvault home.
pub const FILE: &str = "keyring.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub service: String,
    pub username: String,
    pub reference: String,
}

pub fn path(home: &Path) -> PathBuf {
    home.join(FILE)
}

/// The map (empty when there is none yet).
pub fn load(home: &Path) -> Result<Vec<Entry>> {
    let p = path(home);
    match tokenvault_store::fsutil::read_private(&p)? {
        None => Ok(Vec::new()),
        Some(bytes) => serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is not a keyring map (edited?); fix or delete it",
                p.display()
            )
        }),
    }
}

fn save(home: &Path, entries: &[Entry]) -> Result<()> {
    tokenvault_store::fsutil::ensure_private_dir(home)?;
    let text = format!("{}\n", serde_json::to_string_pretty(entries)?);
    tokenvault_store::fsutil::atomic_write(&path(home), text.as_bytes())?;
    Ok(())
}

fn same_service(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// The reference for `service` and `username`: the entry for that very service, else one for a
/// service on the same host.
pub fn lookup<'e>(entries: &'e [Entry], service: &str, username: &str) -> Option<&'e Entry> {
    let users = || entries.iter().filter(|e| e.username == username);
    users()
        .find(|e| same_service(&e.service, service))
        .or_else(|| {
            let host = url_host(service).to_ascii_lowercase();
            users().find(|e| url_host(&e.service).to_ascii_lowercase() == host)
        })
}

/// Adds (or replaces) the entry for `service` and `username`.
pub fn add(home: &Path, entry: Entry) -> Result<()> {
    let mut entries = load(home)?;
    entries.retain(|e| !(same_service(&e.service, &entry.service) && e.username == entry.username));
    entries.push(entry);
    save(home, &entries)
}

/// Removes the entry for `service` and `username`; returns it.
pub fn remove(home: &Path, service: &str, username: &str) -> Result<Option<Entry>> {
    let mut entries = load(home)?;
    let Some(i) = entries
        .iter()
        .position(|e| same_service(&e.service, service) && e.username == username)
    else {
        return Ok(None);
    };
    let gone = entries.remove(i);
    save(home, &entries)?;
    Ok(Some(gone))
}

/// The item a password given to `keyring set` goes to: `keyring-HOST`.
pub fn item_for(service: &str) -> String {
    tokenvault_core::credfiles::item_name("keyring", url_host(service))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_service_first_then_host() {
        let e = |s: &str, u: &str, r: &str| Entry {
            service: s.into(),
            username: u.into(),
            reference: r.into(),
        };
        let map = vec![
            e("https://upload.pypi.org/legacy/", "__token__", "tv://pypi"),
            e("https://pkgs.example.com/simple", "__token__", "tv://a"),
            e("https://pkgs.example.com/other/", "bob", "tv://b"),
        ];
        let r = |s, u| lookup(&map, s, u).map(|e| e.reference.as_str());
        assert_eq!(
            r("https://upload.pypi.org/legacy", "__token__"),
            Some("tv://pypi")
        );
        assert_eq!(
            r("https://pkgs.example.com/simple/", "__token__"),
            Some("tv://a")
        );
        assert_eq!(r("pkgs.example.com", "bob"), Some("tv://b"));
        assert_eq!(r("https://pkgs.example.com/simple/", "eve"), None);
        assert_eq!(
            item_for("https://__token__@127.0.0.1:8080/simple/"),
            "keyring-127.0.0.1-8080"
        );
    }
}
