//! `tokenvault unlock` / `lock`: the file vault's key cached in the kernel keyring for a while, so
//! processes started without a terminal (an MCP server launched by a desktop client) can read the
//! vault; and forgetting it.

use crate::cli::UnlockArgs;
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use crate::prompt;
use crate::services::duration::parse_duration;
use anyhow::Result;
use serde_json::json;
use std::sync::Arc;
use tokenvault_store::file::FileStore;
use tokenvault_store::keycache::SessionCache;
use tokenvault_store::FixedPassphrase;

fn require_file(ctx: &mut Ctx, what: &str) -> Result<()> {
    ctx.require_file_backend(
        what,
        "the OS keychain locks and unlocks with your login session",
    )
}

pub fn unlock(ctx: &mut Ctx, args: &UnlockArgs) -> Result<Outcome> {
    let timeout = parse_duration(&args.timeout)?;
    require_file(ctx, "unlock")?;
    tokenvault_store::fsutil::ensure_private_dir(&ctx.settings.paths.home)?;
    let store = if args.stdin {
        let passphrase = prompt::read_passphrase_line()?;
        let store = ctx.file_store_with(Arc::new(FixedPassphrase(Some(passphrase.clone()))));
        if !store.vault_path().exists() {
            // This passphrase creates the vault: the same rule as a typed one.
            prompt::check_strength(&passphrase, false)?;
        }
        store
    } else {
        if !prompt::has_terminal() && !prompt::passphrase_configured() {
            // The store's own "locked" hint says to run `unlock`: circular here.
            return Err(hinted(
                "no passphrase to unlock the vault with: there is no terminal to type it on",
                format!(
                    "pipe it in: `pass show tokenvault | tokenvault unlock --stdin` (one line), or set {} to a file (mode 0600) that holds it, or run `tokenvault unlock` in a terminal",
                    crate::envvars::TOKENVAULT_PASSPHRASE_FILE
                ),
            ));
        }
        ctx.file_store()
    };
    let (store, session) = if args.session {
        let (value, cache) = SessionCache::create(&crate::backends::sessions_dir(&ctx.settings))?;
        (store.with_cache(Arc::new(cache)), Some(value))
    } else {
        (store, None)
    };
    store.unlock(Some(timeout))?;
    let expires = time::OffsetDateTime::now_utc() + timeout;
    let vault_path = store.vault_path().to_owned();
    if session.is_some() {
        ctx.printer.note(&format!(
            "Unlocked {} for {} for the commands given the TOKENVAULT_SESSION printed on stdout (it is never passed on to a child); `tokenvault lock` ends every session.",
            vault_path.display(),
            args.timeout
        ));
    } else {
        ctx.printer.note(&format!(
            "Unlocked {} for {}. Processes of your user can read it without a passphrase until then, or until `tokenvault lock`.",
            vault_path.display(),
            args.timeout
        ));
    }
    reconcile(ctx, store)?;
    let until = expires
        .format(&time::format_description::well_known::Rfc3339)
        .ok();
    if ctx.settings.global.json {
        let mut out = json!({
            "unlocked": true,
            "vault": vault_path,
            "timeout_seconds": timeout.as_secs(),
            "until": until,
        });
        if let Some(value) = &session {
            out["session"] = json!(value.expose_secret());
        }
        ctx.printer.json(&out)?;
    } else if let Some(value) = &session {
        ctx.printer.line(&format!(
            "{}={}",
            crate::envvars::TOKENVAULT_SESSION,
            value.expose_secret()
        ))?;
    }
    Ok(Outcome::Success)
}

/// After unlocking, the plaintext index is checked against the vault (the authority): a field a
/// crash left out of the index is added back, one the vault no longer holds is dropped, and each
/// mismatch is reported, never believed.
fn reconcile(ctx: &mut Ctx, store: FileStore) -> Result<()> {
    let vault = ctx.vault_of_file_store(store)?;
    let held = vault.store().list()?.unwrap_or_default();
    let (added, dropped) = vault.reconcile_index(&held, &crate::context::now_rfc3339())?;
    for k in &added {
        ctx.printer.warning(&format!(
            "the index did not list tv://{}/{}, which the vault holds; added it",
            k.item, k.field
        ));
    }
    for k in &dropped {
        ctx.printer.warning(&format!(
            "the index listed tv://{}/{}, which the vault does not hold; dropped it",
            k.item, k.field
        ));
    }
    Ok(())
}

pub fn lock(ctx: &mut Ctx) -> Result<Outcome> {
    require_file(ctx, "lock")?;
    let store = ctx.file_store();
    let sessions = SessionCache::forget_all(&crate::backends::sessions_dir(&ctx.settings))?;
    let was_unlocked = store.lock()? || sessions > 0;
    if was_unlocked {
        ctx.printer
            .note("Locked: the cached vault key is forgotten.");
    } else {
        ctx.printer
            .note("The vault was not unlocked; nothing to forget.");
    }
    if ctx.settings.global.json {
        ctx.printer
            .json(&json!({"locked": true, "was_unlocked": was_unlocked}))?;
    }
    Ok(Outcome::Success)
}
