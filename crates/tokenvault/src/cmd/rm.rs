//! `tokenvault rm REF`: delete a field (and its previous value), or a whole item. Deleting a whole
//! item asks first on a terminal; elsewhere it needs `--yes`. A value that a profile, an MCP
//! server launched through tokenvault or a wrapper script still uses is not deleted without
//! `--force`: each user is named, since each would fail at its next launch.

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
    let uses = crate::services::usage::gather(&ctx.settings);
    let vault = ctx.open_vault()?;
    subject.backend = Some(vault.kind().as_str().to_owned());
    let index = vault.load_index_trusted()?;
    // What would go, by name (no value is read): a whole item, or one field of it.
    let going: Vec<(String, String)> = match &reference.field {
        None => vault
            .keys(&index)?
            .iter()
            .filter(|k| k.item == reference.item)
            .map(|k| (k.item.as_str().to_owned(), k.field.as_str().to_owned()))
            .collect(),
        Some(_) => {
            let t = vault.target(&index, &reference, None)?;
            vec![(
                t.key.item.as_str().to_owned(),
                t.key.field.as_str().to_owned(),
            )]
        }
    };
    let users: Vec<&crate::services::usage::Use> = uses
        .uses
        .iter()
        .filter(|u| {
            vault.target(&index, &u.reference, None).is_ok_and(|t| {
                going.contains(&(
                    t.key.item.as_str().to_owned(),
                    t.key.field.as_str().to_owned(),
                ))
            })
        })
        .collect();
    if !users.is_empty() {
        for u in &users {
            printer.warning(&format!("{} uses {}", u.user.label(), u.reference));
        }
        if !args.force {
            return Err(hinted(
                format!(
                    "not deleting {reference}: {} user(s) named above still use it and would fail at their next launch",
                    users.len()
                ),
                "change them first (or store a new value with `tokenvault set`), or pass --force to delete it anyway",
            ));
        }
    }
    for u in &uses.unreadable {
        printer.warning(&format!("could not check whether it is used in {u}"));
    }
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
    // A backend that keeps versions still has the deleted values in its history.
    let destroyed = if args.destroy {
        let whole = reference.field.is_none();
        let n = vault.store().destroy_history(&reference.item, whole)?;
        match n {
            Some(_) if whole => printer.note(&format!(
                "Destroyed every kept version of {} (it cannot be recovered).",
                reference.item
            )),
            Some(n) => printer.note(&format!(
                "Destroyed {} of {} (the current one no longer holds the field).",
                count(n, "earlier version"),
                reference.item
            )),
            None => printer.note(&format!(
                "The {} backend keeps no earlier versions: nothing more to destroy.",
                vault.kind()
            )),
        }
        n
    } else {
        if vault.backend.def().remote.is_some() {
            printer.note(&format!(
                "The {} backend keeps earlier versions: `rm --destroy` destroys them.",
                vault.kind()
            ));
        }
        None
    };
    if json_out {
        printer.json(&json!({
            "deleted": subject.references,
            "backend": vault.kind().as_str(),
            "destroyed_versions": destroyed,
        }))?;
    }
    Ok(Outcome::Success)
}
