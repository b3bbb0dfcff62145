//! `tokenvault passwd` / `tokenvault rekey`: the file vault's key lifecycle. Both write the vault
//! as a new generation under a new file key (fresh scrypt salt), so a key cached or copied before
//! opens no later version; `passwd` also changes the passphrase. The key cached by `unlock` is
//! forgotten. Backups written before keep the key (and passphrase) they were written with.

use crate::cli::PasswdArgs;
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use anyhow::Result;

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

pub fn passwd(ctx: &mut Ctx, args: &PasswdArgs) -> Result<Outcome> {
    require_file(ctx, "passwd")?;
    let new = crate::prompt::read_new_passphrase(args.stdin, args.allow_weak)?;
    let store = ctx.file_store();
    let result = store.change_key(Some(&new));
    crate::audit::record(ctx, "passwd", Some("file"), &[], outcome(&result));
    let forgot = result?;
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
    let store = ctx.file_store();
    let result = store.change_key(None);
    crate::audit::record(ctx, "rekey", Some("file"), &[], outcome(&result));
    let forgot = result?;
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
