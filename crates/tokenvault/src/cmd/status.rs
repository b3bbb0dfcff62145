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
use serde_json::{json, Value};
use tokenvault_core::status::{classify, FieldFacts, LastCheck, Policy, Use};

pub fn run(ctx: &mut Ctx, args: &StatusArgs) -> Result<Outcome> {
    let json_out = ctx.settings.global.json;
    let printer = ctx.printer.clone();
    let gathered = crate::services::usage::gather(&ctx.settings);
    let vault = ctx.open_vault()?;
    let index = vault.load_index_checked()?;

    let mut fields = Vec::new();
    for key in vault.keys(&index)? {
        let meta = index.items.get(key.item.as_str());
        let fmeta = meta.and_then(|m| m.fields.get(key.field.as_str()));
        let provider = meta
            .and_then(|m| m.provider.as_deref())
            .and_then(|p| vault.catalogue.get(p))
            .or_else(|| vault.catalogue.for_item(&key.item));
        let field = provider.and_then(|p| p.field(key.field.as_str()));
        // Unknown fields are treated as secrets: better a false "stale" than a missed one.
        let secret = field.is_none_or(|f| f.secret);
        let checkable = provider.is_some_and(|p| {
            p.verify != "none" && !p.verify.is_empty() && p.default_field == key.field.as_str()
        });
        fields.push(FieldFacts {
            reference: format!("tv://{}/{}", key.item, key.field),
            updated: fmeta.map(|f| f.updated.clone()),
            secret,
            checkable,
            last_check: fmeta.and_then(|f| f.verified.as_ref()).map(|v| LastCheck {
                at: v.at.clone(),
                ok: v.ok,
                summary: v.summary.clone(),
                expires: v
                    .extra
                    .get("expires")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            }),
        });
    }

    let mut uses = Vec::new();
    let mut unreadable = gathered.bad_profiles;
    for u in &gathered.uses {
        match vault.target(&index, &u.reference, None) {
            Ok(t) => uses.push(Use {
                user: u.user.label(),
                reference: t.reference(),
            }),
            Err(e) => unreadable.push(format!("{}: {e}", u.user.label())),
        }
    }
    for u in &unreadable {
        printer.warning(u);
    }

    let policy = Policy {
        stale_days: args.stale_days,
        ..Policy::default()
    };
    let findings = classify(&fields, &uses, time::OffsetDateTime::now_utc(), policy);

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
                tokenvault_core::words::count(fields.len(), "stored value"),
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
