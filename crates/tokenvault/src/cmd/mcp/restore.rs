//! `tokenvault mcp restore [--client C] [--with-secrets]`: put back each client config as it was
//! before the latest `mcp secure` or `mcp add`. Backups hold markers instead of secrets: with
//! `--with-secrets` the vault's values go back and the file is byte-for-byte what it was. Without
//! it no secret returns to the file, and the servers that held one keep their secured form: each
//! marker becomes its reference (`tv://ITEM/FIELD`) and its server launches through `tokenvault
//! run` (or `mcp proxy`), since a bare reference in a client's config reaches the server as
//! literal text. The file as it is now is backed up first.

use super::client_filter;
use crate::cli::McpRestoreArgs;
use crate::context::{Ctx, Outcome};
use crate::mcp::files as mcp_files;
use crate::services::mcp_restore;
use anyhow::Result;

pub fn run(ctx: &mut Ctx, args: &McpRestoreArgs) -> Result<Outcome> {
    let only = client_filter(args.client.as_deref())?;
    let printer = ctx.printer.clone();
    let (json_out, quiet) = (ctx.settings.global.json, ctx.settings.global.quiet);
    let done = mcp_restore::restore(ctx, only, args.with_secrets)?;
    if done.is_empty() {
        printer.note(&format!(
            "No backup to restore{} (backups are kept in {}).",
            only.map(|c| format!(" for {}", c.name()))
                .unwrap_or_default(),
            mcp_files::backup_dir(&ctx.settings.paths.home).display()
        ));
    }
    let mut restored_json: Vec<serde_json::Value> = Vec::new();
    for r in &done {
        if !r.changed {
            printer.note(&format!(
                "{} {} is already as {}",
                r.client.id(),
                r.path,
                if r.kept_servers > 0 {
                    "restoring would leave it: its servers get their secrets through tokenvault (add --with-secrets to write the values back into the file)"
                } else {
                    "the backup has it"
                }
            ));
            continue;
        }
        if let Some(target) = &r.through_link {
            printer.note(&format!(
                "  {} is a symbolic link: edited {}, the file it points to",
                r.path,
                target.display()
            ));
        }
        if json_out {
            restored_json.push(serde_json::json!({
                "client": r.client.id(),
                "path": r.full_path,
                "from": r.from,
                "with_secrets": args.with_secrets,
                "references": r.references,
            }));
        } else if !quiet {
            printer.line(&format!(
                "restored {} {} from {}",
                r.client.id(),
                r.path,
                r.from.display()
            ))?;
        }
        if !r.references.is_empty() && !args.with_secrets {
            printer.note(&format!(
                "  {} {} in the vault ({}); {} keep getting them through tokenvault (add --with-secrets to write the values back into the file)",
                tokenvault_core::words::count(r.references.len(), "secret"),
                if r.references.len() == 1 { "stays" } else { "stay" },
                r.references.join(", "),
                tokenvault_core::words::count(r.kept_servers, "server"),
            ));
        }
    }
    if json_out {
        printer.json(&serde_json::json!({"restored": restored_json}))?;
    }
    Ok(Outcome::Success)
}
