//! `tokenvault verify [REF…]`: check stored values. The offline part — does each value match its
//! provider's format — runs here; exit 1 when any value fails.

use crate::cli::VerifyArgs;
use crate::context::{Ctx, Outcome};
use anyhow::Result;
use serde_json::json;
use tokenvault_core::FormatCheck;

pub fn run(ctx: &mut Ctx, args: &VerifyArgs) -> Result<Outcome> {
    let json_out = ctx.settings.global.json;
    let printer = ctx.printer.clone();
    let vault = ctx.open_vault()?;
    let index = vault.load_index()?;
    let targets = if args.references.is_empty() {
        vault
            .keys(&index)?
            .into_iter()
            .map(|k| {
                let provider = index.items.get(k.item.as_str()).and_then(|m| m.provider.clone());
                crate::vault::Target { key: k, provider }
            })
            .collect::<Vec<_>>()
    } else {
        let mut t = Vec::new();
        for r in &args.references {
            t.push(vault.target(&index, &super::parse_ref(r)?, None)?);
        }
        t
    };
    if !args.offline {
        printer.warning("live checks against provider APIs are not in this build yet; checking formats offline");
    }
    let keys: Vec<_> = targets.iter().map(|t| t.key.clone()).collect();
    let values = vault.store().get_many(&keys)?;
    let mut failed = 0;
    let mut results = Vec::new();
    for (t, v) in targets.iter().zip(values) {
        let reference = t.reference();
        let (status, detail) = match v {
            None => ("missing", "not stored".to_owned()),
            Some(v) => match t.provider.as_deref().map(|p| vault.catalogue.check_format(p, t.key.field.as_str(), v.expose_secret())) {
                Some(FormatCheck::Valid { format }) => ("ok", format),
                Some(FormatCheck::Invalid { expected }) => ("invalid", format!("expected {}", expected.join(", or "))),
                Some(FormatCheck::NoRule) | None => ("unchecked", "no format rule for this field".to_owned()),
            },
        };
        if matches!(status, "missing" | "invalid") {
            failed += 1;
        }
        results.push((reference, status, detail));
    }
    if json_out {
        printer.json(&json!(results
            .iter()
            .map(|(r, s, d)| json!({"reference": r, "status": s, "detail": d}))
            .collect::<Vec<_>>()))?;
    } else {
        for (r, s, d) in &results {
            printer.line(&format!("{r}  {s}  {d}"))?;
        }
        if results.is_empty() {
            printer.note("Nothing to verify.");
        }
    }
    Ok(if failed > 0 { Outcome::Negative } else { Outcome::Success })
}
