//! `tokenvault status [--stale-days N] [--json]`: what needs attention — stale, expiring, expired,
//! failed or never-checked tokens, and dangling references: ones that a profile, an MCP server
//! launched through tokenvault or a wrapper script names but the vault lacks.
//!
//! This command only gathers facts: keys of the current backend and their index metadata (no
//! value is read, so a file vault needs no passphrase), who uses which reference (profiles, client
//! configs, recorded wrappers), and the clock.
//! The rules live in `tokenvault_core::status`. Exit 1 when anything needs attention, 0 when all is
//! well (a negative answer, as for `scan`).

use crate::cli::StatusArgs;
use crate::context::{Ctx, Outcome};
use crate::printer::Tone;
use anyhow::Result;
use serde_json::json;

pub fn run(ctx: &mut Ctx, args: &StatusArgs) -> Result<Outcome> {
    let json_out = ctx.settings.global.json;
    let printer = ctx.printer.clone();
    let gathered = crate::services::usage::gather(&ctx.settings);
    let vault = ctx.open_vault()?;
    let crate::services::attention::Report {
        findings,
        unreadable,
        fields,
    } = crate::services::attention::report(&vault, gathered, args.stale_days)?;
    for u in &unreadable {
        printer.warning(u);
    }

    if json_out {
        printer.json(&json!(findings
            .iter()
            .map(|f| {
                let short = f.reference.trim_start_matches("tv://");
                json!({
                    "reference": f.reference,
                    "status": f.attention.code(),
                    "detail": f.attention.detail(),
                    "next": f.attention.next_step(short),
                })
            })
            .collect::<Vec<_>>()))?;
    } else {
        let mut out = String::new();
        for f in &findings {
            let short = f.reference.trim_start_matches("tv://");
            let code = f.attention.code();
            let tone = match code {
                "expired" | "failed" | "missing" => Tone::Bad,
                _ => Tone::Warn,
            };
            out.push_str(&format!(
                "{}  {}  {}; next: {}\n",
                f.reference,
                printer.paint(code, tone),
                f.attention.detail(),
                f.attention.next_step(short)
            ));
        }
        printer.data(&out)?;
        if findings.is_empty() {
            printer.note(&format!(
                "All is well: {}, none older than {} days, expiring, failing or unchecked; every reference a profile, MCP server or wrapper names is stored.",
                tokenvault_core::words::count(fields, "stored value"),
                args.stale_days
            ));
        } else {
            printer.note(&format!(
                "{} {} attention.",
                tokenvault_core::words::count(findings.len(), "thing"),
                if findings.len() == 1 { "needs" } else { "need" }
            ));
        }
    }
    Ok(if findings.is_empty() && unreadable.is_empty() {
        Outcome::Success
    } else {
        Outcome::Negative
    })
}
