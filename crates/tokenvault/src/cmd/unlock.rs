//! `tokenvault unlock` / `lock`: the file vault's key cached in the kernel keyring for a while, so
//! processes started without a terminal (an MCP server launched by a desktop client) can read the
//! vault; and forgetting it.

use crate::cli::UnlockArgs;
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use crate::prompt;
use anyhow::Result;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokenvault_store::{keycache, FixedPassphrase};

/// Parses `90s`, `30m`, `8h`, `2d` (a bare number is seconds) for `unlock --timeout`: more than
/// zero and at most seven days ([`keycache::MAX_CACHE_TIME`]); an unlocked vault is readable by
/// every process of the user, so "forever" is not on offer.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = match num.parse() {
        Ok(n) => n,
        // All digits, but more than a u64 holds: far longer than any allowed timeout.
        Err(_) if !num.is_empty() => u64::MAX,
        Err(_) => {
            return Err(hinted(
                format!("'{text}' is not a duration"),
                "use e.g. 90s, 30m, 8h or 2d",
            ))
        }
    };
    let unit_secs: u64 = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(hinted(
                format!("'{text}' has an unknown unit"),
                "use s, m, h or d",
            ))
        }
    };
    let max = keycache::MAX_CACHE_TIME.as_secs();
    let secs = n.saturating_mul(unit_secs);
    if secs == 0 {
        return Err(hinted(
            "the timeout must be longer than zero",
            "use e.g. 8h",
        ));
    }
    if secs > max {
        return Err(hinted(
            format!("'{text}' is longer than the longest unlock, 7 days"),
            "use at most 7d; every process of your user can read an unlocked vault, so keep the window short (e.g. 8h) and `tokenvault lock` when done",
        ));
    }
    Ok(Duration::from_secs(secs))
}

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
    store.unlock(Some(timeout))?;
    let expires = time::OffsetDateTime::now_utc() + timeout;
    ctx.printer.note(&format!(
        "Unlocked {} for {}. Processes of your user can read it without a passphrase until then, or until `tokenvault lock`.",
        store.vault_path().display(),
        args.timeout
    ));
    reconcile(ctx)?;
    if ctx.settings.global.json {
        ctx.printer.json(&json!({
            "unlocked": true,
            "vault": store.vault_path(),
            "timeout_seconds": timeout.as_secs(),
            "until": expires
                .format(&time::format_description::well_known::Rfc3339)
                .ok(),
        }))?;
    }
    Ok(Outcome::Success)
}

/// After unlocking, the plaintext index is checked against the vault (the authority): a field a
/// crash left out of the index is added back, one the vault no longer holds is dropped, and each
/// mismatch is reported, never believed.
fn reconcile(ctx: &mut Ctx) -> Result<()> {
    let vault = ctx.open_vault()?;
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
    let was_unlocked = store.lock()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("8h").unwrap(), Duration::from_secs(28_800));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("8y").is_err());
        assert!(parse_duration("h").is_err());
    }
}
