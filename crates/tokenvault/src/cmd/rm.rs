//! `tokenvault rm REF`: delete a field (and its previous value), or a whole item. Deleting a whole
//! item asks first on a terminal; elsewhere it needs `--yes`.

use crate::cli::RmArgs;
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use anyhow::Result;
use serde_json::json;
use std::io::{BufRead, IsTerminal, Write};
use tokenvault_core::words::count;

pub fn run(ctx: &mut Ctx, args: &RmArgs) -> Result<Outcome> {
    let mut subject = crate::audit::Subject::new(super::parse_ref(&args.reference)?);
    let result = remove(ctx, args, &mut subject);
    subject.record(ctx, "rm", &result);
    result
}

fn remove(ctx: &mut Ctx, args: &RmArgs, subject: &mut crate::audit::Subject) -> Result<Outcome> {
    let reference = super::parse_ref(&args.reference)?;
    let printer = ctx.printer.clone();
    let json_out = ctx.settings.global.json;
    let vault = ctx.open_vault()?;
    subject.backend = Some(vault.kind().as_str().to_owned());
    let index = vault.load_index_trusted()?;
    if reference.field.is_none() && !args.yes {
        let n = vault
            .keys(&index)?
            .iter()
            .filter(|k| k.item == reference.item)
            .count();
        if n > 0 {
            if !std::io::stdin().is_terminal() {
                return Err(hinted(
                    format!(
                        "deleting the whole item {reference} ({}) needs confirmation",
                        count(n, "field")
                    ),
                    "pass --yes, or name one field: ITEM/FIELD",
                ));
            }
            eprint!("Delete {reference} and its {}? [y/N] ", count(n, "field"));
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                printer.note("Nothing deleted.");
                if json_out {
                    printer.json(&json!({"deleted": [], "backend": vault.kind().as_str()}))?;
                }
                return Ok(Outcome::Success);
            }
        }
    }
    let removed = vault.remove(&index, &reference)?;
    if removed.is_empty() {
        return Err(hinted(
            format!("{reference} is not stored in the {} backend", vault.kind()),
            "see what is stored with `tokenvault list`",
        ));
    }
    subject.references = removed
        .iter()
        .map(|k| format!("tv://{}/{}", k.item, k.field))
        .collect();
    for k in &removed {
        printer.note(&format!("Deleted {k}."));
    }
    if json_out {
        printer.json(&json!({
            "deleted": subject.references,
            "backend": vault.kind().as_str(),
        }))?;
    }
    Ok(Outcome::Success)
}
