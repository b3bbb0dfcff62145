//! `tokenvault backup list` / `backup restore N`: the file vault keeps its last generations (every
//! write replaces `vault.age`; the replaced file stays in `backups/` as `vault.GENERATION.age`,
//! still encrypted). Restoring writes the chosen generation's contents as a new generation, so the
//! rollback check never has to be turned off for it, and brings the index in line.

use crate::cli::BackupCommand;
use crate::context::{now_rfc3339, Ctx, Outcome};
use crate::error::hinted;
use anyhow::Result;
use serde_json::json;

pub fn run(ctx: &mut Ctx, args: &BackupCommand) -> Result<Outcome> {
    ctx.require_file_backend(
        "backup",
        "the OS keychain has its own backup (your login keyring is part of your system backup)",
    )?;
    match args {
        BackupCommand::List => list(ctx),
        BackupCommand::Restore(a) => restore(ctx, a.generation),
    }
}

fn list(ctx: &mut Ctx) -> Result<Outcome> {
    let store = ctx.file_store();
    let backups = store.backups()?;
    let seen = store.seen_generation();
    if ctx.settings.global.json {
        let rows: Vec<_> = backups
            .iter()
            .map(|b| {
                json!({
                    "generation": b.generation,
                    "path": b.path.display().to_string(),
                    "bytes": b.len,
                    "modified": b.modified.map(rfc3339),
                })
            })
            .collect();
        ctx.printer
            .json(&json!({"current_generation": seen, "backups": rows}))?;
        return Ok(Outcome::Success);
    }
    if backups.is_empty() {
        ctx.printer.note(&format!(
            "No backups yet in {} (one is kept each time the vault is written).",
            store.vault_path().with_file_name("backups").display()
        ));
        return Ok(Outcome::Success);
    }
    ctx.printer.line(&format!(
        "{:<11} {:<21} {:>8}",
        "GENERATION", "REPLACED", "BYTES"
    ))?;
    for b in &backups {
        ctx.printer.line(&format!(
            "{:<11} {:<21} {:>8}",
            b.generation,
            b.modified.map(rfc3339).unwrap_or_default(),
            b.len
        ))?;
    }
    ctx.printer.note(&format!(
        "The current vault is generation {seen}. Restore one with `tokenvault backup restore GENERATION`."
    ));
    Ok(Outcome::Success)
}

fn restore(ctx: &mut Ctx, generation: u64) -> Result<Outcome> {
    let vault = ctx.open_vault()?;
    let Some(store) = vault.backend.file_store() else {
        return Err(hinted(
            "backups are kept by the file backend",
            "use --backend file",
        ));
    };
    let keys = store.restore_backup(generation)?;
    let (added, dropped) = vault.reconcile_index(&keys, &now_rfc3339())?;
    let now = store.seen_generation();
    crate::audit::record(
        ctx,
        "backup-restore",
        Some("file"),
        &[format!("generation {generation}")],
        "ok",
    );
    let printer = &ctx.printer;
    printer.note(&format!(
        "Restored generation {generation} as generation {now}; the file it replaced is kept as a backup."
    ));
    for k in &added {
        printer.note(&format!("  back: tv://{}/{}", k.item, k.field));
    }
    for k in &dropped {
        printer.note(&format!("  gone: tv://{}/{}", k.item, k.field));
    }
    if ctx.settings.global.json {
        let refs = |keys: &[tokenvault_store::Key]| {
            keys.iter()
                .map(|k| format!("tv://{}/{}", k.item, k.field))
                .collect::<Vec<_>>()
        };
        printer.json(&json!({
            "restored_generation": generation,
            "current_generation": now,
            "back": refs(&added),
            "gone": refs(&dropped),
        }))?;
    }
    Ok(Outcome::Success)
}

fn rfc3339(t: std::time::SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .map(|s| s.chars().take(19).collect::<String>() + "Z")
        .unwrap_or_default()
}
