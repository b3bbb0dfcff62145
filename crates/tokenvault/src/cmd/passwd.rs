//! `tokenvault passwd` / `tokenvault rekey`: the file vault's key lifecycle. Both write the vault
//! as a new generation under a new file key (fresh scrypt salt), so a key cached or copied before
//! opens no later version; `passwd` also changes the passphrase. The key cached by `unlock` is
//! forgotten. Backups written before keep the key (and passphrase) they were written with.

use crate::cli::PasswdArgs;
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use anyhow::Result;
use tokenvault_store::file::FileStore;
use tokenvault_store::index::IndexFile;
use tokenvault_store::{BackendKind, StateKey, Store};

fn require_file(ctx: &mut Ctx, what: &str) -> Result<()> {
    ctx.require_file_backend(what, "the OS keychain is protected by your login password")?;
    if !ctx.file_store().exists() {
        return Err(hinted(
            "there is no file vault yet",
            "store something first: `tokenvault set ITEM`",
        ));
    }
    Ok(())
}

/// Writes the vault under a new file key (and `new` passphrase, if given), re-tags the index
/// with the new state key and audits it as `command`. Returns the store and whether the key
/// cached by `unlock` was forgotten.
fn change_key(
    ctx: &mut Ctx,
    command: &str,
    new: Option<&tokenvault_core::Secret>,
) -> Result<(FileStore, bool)> {
    let store = ctx.file_store();
    let old = store.state_key(false);
    let result = store.change_key(new);
    let retagged = result.is_ok().then(|| retag_index(ctx, &store, old));
    crate::audit::record(ctx, command, Some("file"), &[], outcome(&result));
    let forgot = result?;
    // Sessions sealed the old key: it opens no later version, so they end too.
    let sessions = tokenvault_store::keycache::SessionCache::forget_all(
        &crate::backends::sessions_dir(&ctx.settings),
    )?;
    retagged.transpose()?;
    Ok((store, forgot || sessions > 0))
}

pub fn passwd(ctx: &mut Ctx, args: &PasswdArgs) -> Result<Outcome> {
    require_file(ctx, "passwd")?;
    let new = crate::prompt::read_new_passphrase(args.stdin, args.allow_weak)?;
    let (store, forgot) = change_key(ctx, "passwd", Some(&new))?;
    let mut note = format!(
        "Changed the passphrase of {}; the vault has a new file key (generation {}).",
        store.vault_path().display(),
        store.seen_generation()
    );
    if forgot {
        note.push_str(" The unlocked key was forgotten: run `tokenvault unlock` again.");
    }
    if crate::prompt::passphrase_configured() {
        note.push_str(" Update TOKENVAULT_PASSPHRASE(_FILE) to the new passphrase.");
    }
    note.push_str(" Backups kept before this still open with the old passphrase.");
    ctx.printer.note(&note);
    result_json(ctx, "passwd", store.seen_generation(), forgot)?;
    Ok(Outcome::Success)
}

pub fn rekey(ctx: &mut Ctx) -> Result<Outcome> {
    require_file(ctx, "rekey")?;
    let (store, forgot) = change_key(ctx, "rekey", None)?;
    let mut note = format!(
        "The vault {} has a new file key (generation {}); keys cached or copied before open no later version.",
        store.vault_path().display(),
        store.seen_generation()
    );
    if forgot {
        note.push_str(" The unlocked key was forgotten: run `tokenvault unlock` again.");
    }
    ctx.printer.note(&note);
    result_json(ctx, "rekey", store.seen_generation(), forgot)?;
    Ok(Outcome::Success)
}

/// Tags the file vault's index entries with the vault's new state key: those that verified under
/// the old one (all of them when there was none: an index from before tags); the others are not
/// believed and are left out, for `unlock` to rebuild from the vault. The audit head is anchored
/// with the new key from now on.
fn retag_index(
    ctx: &Ctx,
    store: &FileStore,
    old: Result<Option<StateKey>, tokenvault_store::StoreError>,
) -> Result<()> {
    let Some(new) = store.state_key(false)? else {
        return Ok(());
    };
    crate::audit::anchor_with(&new);
    let old = old?;
    let dropped = IndexFile::new(&ctx.settings.paths.home).update(|idx| {
        let mut dropped = Vec::new();
        for (name, meta) in idx.items.iter_mut() {
            if meta.backend != BackendKind::File {
                continue;
            }
            if old.as_ref().is_none_or(|o| meta.authentic(name, o)) {
                meta.seal(name, &new);
            } else {
                dropped.push(name.clone());
            }
        }
        for name in &dropped {
            idx.items.remove(name);
        }
        dropped
    })?;
    for name in dropped {
        ctx.printer.warning(&format!(
            "the index entry of '{name}' was changed outside tokenvault: it was left out; run `tokenvault unlock` to rebuild it from the vault"
        ));
    }
    Ok(())
}

/// `--json`: what changed (never a key or passphrase).
fn result_json(ctx: &Ctx, action: &str, generation: u64, forgot: bool) -> Result<()> {
    if ctx.settings.global.json {
        ctx.printer.json(&serde_json::json!({
            "action": action,
            "generation": generation,
            "unlocked_key_forgotten": forgot,
        }))?;
    }
    Ok(())
}

fn outcome<T, E>(r: &std::result::Result<T, E>) -> &'static str {
    if r.is_ok() {
        "ok"
    } else {
        "error"
    }
}
