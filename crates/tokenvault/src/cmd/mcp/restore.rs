//! `tokenvault mcp restore [--client C] [--with-secrets]`: put back each client config as it was
//! before the latest `mcp secure` or `mcp add`. Backups hold markers instead of secrets: with
//! `--with-secrets` the vault's values go back and the file is byte-for-byte what it was. Without
//! it no secret returns to the file, and the servers that held one keep their secured form: each
//! marker becomes its reference (`tv://ITEM/FIELD`) and its server launches through `tokenvault
//! run` (or `mcp proxy`), since a bare reference in a client's config reaches the server as
//! literal text. The file as it is now is backed up first.

use super::{client_filter, display_path, self_path};
use crate::audit;
use crate::cli::McpRestoreArgs;
use crate::context::{now_rfc3339, Ctx, Outcome};
use crate::error::hinted;
use crate::mcp::files::{self as mcp_files, Found};
use anyhow::{Context, Result};
use tokenvault_core::mcp::{secure, ClientId, Document, Scope};
use tokenvault_core::{Reference, Secret};

pub fn run(ctx: &mut Ctx, args: &McpRestoreArgs) -> Result<Outcome> {
    let only = client_filter(args.client.as_deref())?;
    let home = ctx.settings.paths.home.clone();
    let printer = ctx.printer.clone();
    let (json_out, quiet) = (ctx.settings.global.json, ctx.settings.global.quiet);
    let mut restored_json: Vec<serde_json::Value> = Vec::new();
    // The newest backup of each file, taken before a change of ours.
    let mut latest: Vec<(mcp_files::BackupMeta, std::path::PathBuf)> = Vec::new();
    for (meta, file) in mcp_files::backups(&home)? {
        if meta.before == "restore" {
            continue;
        }
        let Ok(client) = ClientId::parse(&meta.client) else {
            continue;
        };
        if only.is_some_and(|o| o != client) || latest.iter().any(|(m, _)| m.path == meta.path) {
            continue;
        }
        latest.push((meta, file));
    }
    if latest.is_empty() {
        printer.note(&format!(
            "No backup to restore{} (backups are kept in {}).",
            only.map(|c| format!(" for {}", c.name()))
                .unwrap_or_default(),
            mcp_files::backup_dir(&home).display()
        ));
        if json_out {
            printer.json(&serde_json::json!({"restored": restored_json}))?;
        }
        return Ok(Outcome::Success);
    }
    let now = now_rfc3339();
    let mut references: Vec<String> = Vec::new();
    for (meta, file) in latest {
        let client = ClientId::parse(&meta.client)?;
        let backup = std::fs::read_to_string(&file)
            .with_context(|| format!("reading the backup {}", file.display()))?;
        let refs = secure::backup_references(&backup);
        let values: Vec<(Reference, Secret)> = if args.with_secrets && !refs.is_empty() {
            let vault = ctx.open_vault()?;
            let index = vault.load_index()?;
            let mut out = Vec::new();
            for r in &refs {
                let target = vault.target(&index, r, None)?;
                let value = vault.store().get(&target.key)?.ok_or_else(|| {
                    hinted(
                        format!("{r} is no longer in the vault, so the backup of {} cannot be restored with its secrets", meta.path.display()),
                        "restore without --with-secrets (the references stay in the file), or store the value again with `tokenvault set`",
                    )
                })?;
                out.push((r.clone(), value));
            }
            out
        } else {
            Vec::new()
        };
        let lookup = |r: &Reference| values.iter().find(|(x, _)| x == r).map(|(_, v)| v.clone());
        let mut restored = secure::restore_text(&backup, &lookup);
        // Refuse to write what the client could not read.
        let mut doc = Document::parse(client.format(), &restored).map_err(|e| {
            hinted(
                format!("the backup {} does not parse: {e}", file.display()),
                "nothing was changed",
            )
        })?;
        let mut kept = 0;
        if !args.with_secrets && !refs.is_empty() {
            kept =
                crate::services::mcp_restore::keep_secured(&mut doc, client, &refs, &self_path()?)?;
            restored = doc.to_text();
        }
        let found = Found {
            client,
            scope: Scope::User,
            path: meta.path.clone(),
        };
        let current = match std::fs::read_to_string(&meta.path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading {}", meta.path.display())),
        };
        match current {
            Some(text) if text == restored => {
                printer.note(&format!(
                    "{} {} is already as {}",
                    client.id(),
                    display_path(&found),
                    if kept > 0 {
                        "restoring would leave it: its servers get their secrets through tokenvault (add --with-secrets to write the values back into the file)"
                    } else {
                        "the backup has it"
                    }
                ));
                continue;
            }
            Some(text) => {
                let done =
                    mcp_files::rewrite(&home, &found, &text, &restored, &text, "restore", &now)?;
                if let Some(target) = done.through_link(&found) {
                    printer.note(&format!(
                        "  {} is a symbolic link: edited {}, the file it points to",
                        display_path(&found),
                        target.display()
                    ));
                }
            }
            None => {
                tokenvault_store::fsutil::atomic_write(&meta.path, restored.as_bytes())?;
            }
        }
        if json_out {
            restored_json.push(serde_json::json!({
                "client": client.id(),
                "path": meta.path,
                "from": file,
                "with_secrets": args.with_secrets,
                "references": refs.iter().map(ToString::to_string).collect::<Vec<_>>(),
            }));
        } else if !quiet {
            printer.line(&format!(
                "restored {} {} from {}",
                client.id(),
                display_path(&found),
                file.display()
            ))?;
        }
        if !refs.is_empty() && !args.with_secrets {
            printer.note(&format!(
                "  {} {} in the vault ({}); {} keep getting them through tokenvault (add --with-secrets to write the values back into the file)",
                tokenvault_core::words::count(refs.len(), "secret"),
                if refs.len() == 1 { "stays" } else { "stay" },
                refs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                tokenvault_core::words::count(kept, "server"),
            ));
        }
        references.extend(values.iter().map(|(r, _)| r.to_string()));
    }
    if !references.is_empty() {
        audit::record(ctx, "mcp-restore", None, &references, "ok");
    }
    if json_out {
        printer.json(&serde_json::json!({"restored": restored_json}))?;
    }
    Ok(Outcome::Success)
}
