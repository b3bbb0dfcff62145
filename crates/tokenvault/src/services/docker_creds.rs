//! Registry logins in the vault, for `docker-credential` (Docker's helper protocol) and
//! `scan --home --fix` (moving `~/.docker/config.json`'s `auth` entries). Each registry is one
//! item `docker-<host>` with the fields `server`, `username` and `secret`; nothing prints here.

use crate::vault::{Target, Vault};
use anyhow::Result;
use tokenvault_core::dockercred::{item_for, Credentials};
use tokenvault_core::{FieldName, ItemName, Reference, Secret};
use tokenvault_store::{Key, Slot};

const FIELDS: [&str; 3] = ["server", "username", "secret"];

fn keys(server: &str) -> Result<Vec<Key>> {
    let item = ItemName::new(&item_for(server))?;
    FIELDS
        .iter()
        .map(|f| Ok(Key::new(item.clone(), FieldName::new(f)?)))
        .collect()
}

/// Stores `c` (read back before this returns); the references it wrote.
pub fn store(vault: &Vault<'_>, c: &Credentials, now: &str) -> Result<Vec<String>> {
    let writes: Vec<(Target, Secret)> = keys(&c.server)?
        .into_iter()
        .zip([
            Secret::from_str_copy(&c.server),
            Secret::from_str_copy(&c.username),
            c.secret.clone(),
        ])
        .map(|(key, value)| {
            (
                Target {
                    key,
                    provider: None,
                },
                value,
            )
        })
        .collect();
    vault.write_many_verified(&writes, now)?;
    Ok(writes.iter().map(|(t, _)| t.reference()).collect())
}

/// The credentials kept for `server`, if any.
pub fn get(vault: &Vault<'_>, server: &str) -> Result<Option<Credentials>> {
    let values = vault.store().get_many(&keys(server)?)?;
    let mut it = values.into_iter();
    let (Some(Some(kept)), Some(username), Some(Some(secret))) = (it.next(), it.next(), it.next())
    else {
        return Ok(None);
    };
    Ok(Some(Credentials {
        server: kept.expose_secret().to_owned(),
        username: username
            .map(|u| u.expose_secret().to_owned())
            .unwrap_or_default(),
        secret,
    }))
}

/// Removes `server`'s credentials; whether there were any.
pub fn erase(vault: &Vault<'_>, server: &str) -> Result<bool> {
    let index = vault.load_index_trusted()?;
    let r = Reference::parse(&item_for(server))?;
    Ok(!vault.remove(&index, &r)?.is_empty())
}

/// Every registry with credentials: (server, username).
pub fn list(vault: &Vault<'_>) -> Result<Vec<(String, String)>> {
    let index = vault.load_index_trusted()?;
    let mut items: Vec<ItemName> = vault
        .keys(&index)?
        .into_iter()
        .filter(|k| k.slot == Slot::Current && k.item.as_str().starts_with("docker-"))
        .map(|k| k.item)
        .collect();
    items.sort();
    items.dedup();
    let mut out = Vec::new();
    for item in items {
        let want: Vec<Key> = ["server", "username"]
            .iter()
            .filter_map(|f| FieldName::new(f).ok())
            .map(|f| Key::new(item.clone(), f))
            .collect();
        let got = vault.store().get_many(&want)?;
        if let [Some(server), username] = got.as_slice() {
            out.push((
                server.expose_secret().to_owned(),
                username
                    .as_ref()
                    .map(|u| u.expose_secret().to_owned())
                    .unwrap_or_default(),
            ));
        }
    }
    Ok(out)
}
