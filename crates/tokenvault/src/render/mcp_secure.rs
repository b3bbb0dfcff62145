//! The report of `mcp secure` and `import mcp`: what moved where, backups, what was left alone.

use crate::context::Outcome;
use crate::error::hinted;
use crate::printer::Printer;
use crate::services::mcp_secure::{Report, EXIT_SKIPPED};
use anyhow::Result;
use serde_json::{json, Value};

const RESTART_HINT: &str = "restart the client (or reload its MCP servers) to launch them through tokenvault; `tokenvault mcp restore` undoes this";

/// Says `report` on the terminal (or as one JSON object with `json`; `quiet` drops the list of
/// what moved) and gives the command's outcome.
pub fn render(printer: &Printer, report: &Report, json_out: bool, quiet: bool) -> Result<Outcome> {
    let dry_run = report.dry_run;
    if report.nothing_found {
        printer.note("No MCP client config found; nothing to secure.");
        if json_out {
            printer.json(&json!({"dry_run": dry_run, "files": []}))?;
        }
        return Ok(Outcome::Success);
    }
    for s in &report.skipped {
        printer.error(&format!("skipped {}: {}", s.label, s.why));
        if let Some(h) = &s.hint {
            printer.hint(h);
        }
    }
    if let Some(name) = &report.no_such_server {
        return Err(hinted(
            format!(
                "no server named '{name}' in the client configs {}",
                if report.skipped.is_empty() {
                    "found"
                } else {
                    "that could be read"
                }
            ),
            "`tokenvault mcp list` shows every server",
        ));
    }
    let mut files_json: Vec<Value> = Vec::new();
    for f in &report.files {
        for w in &f.warnings {
            printer.warning(w);
        }
        if !f.changed {
            continue;
        }
        if json_out {
            files_json.push(json!({
                "client": f.client,
                "path": f.path,
                "backup": f.backup,
                "secrets": f.moved,
            }));
        } else if dry_run {
            printer.note(&format!("would secure {}", f.label));
            for l in &f.lines {
                printer.note(l);
            }
        } else if !quiet {
            printer.line(&format!("secured {}", f.label))?;
            if let Some(target) = &f.edited_through_link {
                printer.line(&format!(
                    "  edited {} (the file the symbolic link points to; the link stays)",
                    target.display()
                ))?;
            }
            for l in &f.lines {
                printer.line(l)?;
            }
        }
        if let (Some(diff), false) = (&f.diff, json_out) {
            printer.data(diff)?;
        }
        if let Some(backup) = &f.backup {
            printer.note(&format!("  backup: {}", backup.display()));
        }
    }
    if json_out {
        printer.json(&json!({"dry_run": dry_run, "files": files_json}))?;
    }
    let changed = report.changed_files();
    if !report.skipped.is_empty() {
        printer.note(&format!(
            "{} skipped (named above); {}. Fix them and run the command again.",
            tokenvault_core::words::count(report.skipped.len(), "client config"),
            if changed > 0 {
                "the others were secured"
            } else {
                "nothing else needed a change"
            }
        ));
        if changed > 0 && !dry_run {
            printer.hint(RESTART_HINT);
        }
        return Ok(Outcome::Code(EXIT_SKIPPED));
    }
    if changed == 0 {
        printer.note(if report.left_any() {
            "Nothing else to change."
        } else {
            "Nothing to change: no plaintext secrets or unresolved tv:// references in the client configs found."
        });
    } else if dry_run {
        printer.note("Dry run: nothing was stored or written, and the vault was not opened.");
    } else {
        printer.hint(RESTART_HINT);
        if report.backend.as_deref() == Some("file") {
            printer.hint("clients start servers without a terminal, so the file vault cannot ask for its passphrase: run `tokenvault unlock --timeout 8h` before starting the client (or use the keychain backend)");
        }
    }
    Ok(Outcome::Success)
}
