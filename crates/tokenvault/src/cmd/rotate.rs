//! `tokenvault rotate REF [--rollback]`: replace a token with a new one, guided.
//!
//! Rotation says where to create the new token (the provider's `create_url`), reads it from a
//! hidden prompt or `--stdin`, checks its format, checks it live with the provider *before* storing
//! it — a rejected or unverifiable new token is not stored, the current one stays — then stores it,
//! keeping the current value as the previous one, records when it rotated, and says what is left to
//! do: revoke the old token at the provider (`revoke_url`). `--rollback` swaps the previous value
//! back (and the rolled-back one becomes the previous, so a second rollback undoes the first).
//! Both are audited (`rotate`, `rollback`), with references only.

use crate::cli::RotateArgs;
use crate::context::{now_rfc3339, Ctx, Outcome};
use crate::error::hinted;
use crate::services::livecheck::{self, Checked};
use crate::vault::{mask_for, Target, Vault};
use anyhow::{Context, Result};
use serde_json::{json, Value};
use tokenvault_core::{FormatCheck, Provider};
use tokenvault_store::{Change, Slot};

pub fn run(ctx: &mut Ctx, args: &RotateArgs) -> Result<Outcome> {
    let mut subject = crate::audit::Subject::default();
    let result = if args.rollback {
        rollback(ctx, args, &mut subject)
    } else {
        rotate(ctx, args, &mut subject)
    };
    // Audited once the reference parsed: before that nothing was touched.
    if !subject.references.is_empty() {
        let action = if args.rollback { "rollback" } else { "rotate" };
        subject.record(ctx, action, &result);
    }
    result
}

/// The reference as typed on the command line (`ITEM/FIELD`).
fn short(target: &Target) -> String {
    target.reference().trim_start_matches("tv://").to_owned()
}

fn provider_of<'a>(vault: &Vault<'a>, target: &Target) -> Option<&'a Provider> {
    target
        .provider
        .as_deref()
        .and_then(|p| vault.catalogue.get(p))
}

fn mask(vault: &Vault<'_>, target: &Target, value: &str) -> String {
    mask_for(
        vault.catalogue,
        target.provider.as_deref(),
        target.key.field.as_str(),
        value,
    )
}

/// The vault and the field `args` names, recorded in `subject` for the audit line.
fn open_target<'c>(
    ctx: &'c mut Ctx,
    args: &RotateArgs,
    subject: &mut crate::audit::Subject,
) -> Result<(Vault<'c>, Target, String)> {
    let reference = super::parse_ref(&args.reference)?;
    subject.references = vec![reference.to_string()];
    let vault = ctx.open_vault()?;
    subject.backend = Some(vault.kind().as_str().to_owned());
    let index = vault.load_index_trusted()?;
    let target = vault.target(&index, &reference, None)?;
    let shown = target.reference();
    subject.references = vec![shown.clone()];
    Ok((vault, target, shown))
}

fn rotate(
    ctx: &mut Ctx,
    args: &RotateArgs,
    subject: &mut crate::audit::Subject,
) -> Result<Outcome> {
    let printer = ctx.printer.clone();
    let json_out = ctx.settings.global.json;
    let (vault, target, shown) = open_target(ctx, args, subject)?;
    let provider = provider_of(&vault, &target);

    // The current value must exist: rotation replaces something. Reading it first also reaches a
    // locked vault before the user pastes a token.
    let Some(current) = vault.store().get(&target.key)? else {
        return Err(hinted(
            format!(
                "{shown} is not stored in the {} backend, so there is nothing to rotate",
                vault.kind()
            ),
            format!("store it with `tokenvault set {}`", short(&target)),
        ));
    };
    let current_masked = mask(&vault, &target, current.expose_secret());
    // The guide is for a person at the prompt; with --stdin the new token is already in hand.
    if !args.stdin {
        printer.note(&format!("Rotating {shown} (now {current_masked})."));
        match provider.and_then(|p| p.create_url.as_deref()) {
            Some(url) => printer.note(&format!(
                "1. Create a new token at {url}\n2. Paste it at the prompt (or pipe it with --stdin). The current one stays until the new one is stored."
            )),
            None => printer.note(
                "Create a new token with the service, then paste it at the prompt (or pipe it with --stdin).",
            ),
        }
    }

    let value = crate::prompt::read_value("rotate", args.stdin, &shown)?;
    if value.is_empty() {
        return Err(hinted(
            format!("no new value given for {shown}"),
            "type or pipe the new token; nothing was changed",
        ));
    }
    if value == current {
        return Err(hinted(
            format!("the new value for {shown} is the one already stored"),
            "create a new token first, then paste that one; nothing was changed",
        ));
    }
    if let Some(p) = provider {
        if let FormatCheck::Invalid { expected } =
            vault
                .catalogue
                .check_format(&p.id, target.key.field.as_str(), value.expose_secret())
        {
            return Err(hinted(
                format!(
                    "the new value for {shown} does not look like {} {}: expected {}",
                    tokenvault_core::words::with_article(&p.id),
                    target.key.field,
                    expected.join(", or ")
                ),
                "check you pasted the whole token; nothing was changed",
            ));
        }
    }

    let now = now_rfc3339();
    let checked = if args.no_verify {
        None
    } else {
        let c = livecheck::check(
            vault.catalogue,
            target.provider.as_deref(),
            target.key.field.as_str(),
            &value,
            &now,
        );
        match &c {
            Checked::Valid { summary, .. } => {
                printer.note(&format!("The new token works: {summary}."));
            }
            Checked::Rejected { explanation, .. } => {
                printer.error(&format!(
                    "the new token was not stored: {}",
                    explanation.message
                ));
                printer.hint(&format!(
                    "{}; {shown} still holds the current token ({current_masked})",
                    explanation.hint
                ));
                return Ok(Outcome::Negative);
            }
            Checked::Unknown(e) => {
                return Err(hinted(
                    format!(
                        "could not check the new token, so it was not stored: {}",
                        e.message
                    ),
                    format!(
                        "{}; {shown} still holds the current token. Try again, or pass --no-verify to rotate without the check",
                        e.hint
                    ),
                ));
            }
            Checked::NotAvailable(why) => {
                printer.note(&format!("Not checked online: {why}."));
            }
        }
        Some(c)
    };

    let written = vault.write(&target, &value, &now)?;
    if let Some(c) = &checked {
        if let Some(w) = c.record(&vault, &target) {
            printer.warning(&w);
        }
    }
    let (item, field) = (target.key.item.as_str(), target.key.field.as_str());
    vault
        .update_index(|idx| {
            if let Some(f) = idx
                .items
                .get_mut(item)
                .and_then(|m| m.fields.get_mut(field))
            {
                f.rotated = Some(now.clone());
            }
        })
        .context("the new token was stored, but recording the rotation in the index failed")?;

    printer.note(&format!(
        "Rotated {shown}: now {}; the previous token ({current_masked}) is kept for `tokenvault rotate {} --rollback`.",
        written.masked,
        short(&target)
    ));
    let revoke = provider
        .and_then(|p| p.revoke_url.as_deref())
        .map(|u| format!(" at {u}"))
        .unwrap_or_else(|| " with the service".to_owned());
    printer.note(&format!(
        "Next: programs started through tokenvault get the new token from their next launch; restart running ones, then revoke the old token ({current_masked}){revoke}."
    ));
    if json_out {
        printer.json(&json!({
            "reference": shown,
            "action": "rotated",
            "masked": written.masked,
            "previous_masked": current_masked,
            "checked": match &checked {
                Some(Checked::Valid { summary, .. }) => json!(summary),
                _ => Value::Null,
            },
            "revoke_url": provider.and_then(|p| p.revoke_url.as_deref()),
        }))?;
    }
    Ok(Outcome::Success)
}

fn rollback(
    ctx: &mut Ctx,
    args: &RotateArgs,
    subject: &mut crate::audit::Subject,
) -> Result<Outcome> {
    let printer = ctx.printer.clone();
    let json_out = ctx.settings.global.json;
    let (vault, target, shown) = open_target(ctx, args, subject)?;
    let previous_key = target.key.previous();
    let mut values = vault
        .store()
        .get_many(&[target.key.clone(), previous_key.clone()])?
        .into_iter();
    let (current, previous) = (values.next().flatten(), values.next().flatten());
    let Some(previous) = previous else {
        return Err(hinted(
            format!("{shown} has no previous value to roll back to"),
            "a previous value is kept when `rotate` or `set` replaces a value",
        ));
    };
    debug_assert_eq!(previous_key.slot, Slot::Previous);
    let mut changes = vec![Change::Set(target.key.clone(), previous.clone())];
    // Swap, so that a second rollback undoes the first.
    if let Some(c) = &current {
        changes.push(Change::Set(previous_key, c.clone()));
    }
    vault.store().apply(&changes)?;
    let restored = mask(&vault, &target, previous.expose_secret());
    let now = now_rfc3339();
    let kind = vault.kind();
    let (item, field) = (target.key.item.as_str(), target.key.field.as_str());
    vault
        .update_index(|idx| {
            idx.record_set(
                kind,
                target.provider.as_deref(),
                item,
                field,
                restored.clone(),
                current.is_some(),
                &now,
            );
        })
        .context("the previous value was put back, but updating the index failed")?;
    let replaced = current
        .as_ref()
        .map(|c| mask(&vault, &target, c.expose_secret()));
    match &replaced {
        Some(c) => printer.note(&format!(
            "Rolled back {shown} to its previous value ({restored}); the value it replaced ({c}) is now the previous one, so `tokenvault rotate {} --rollback` again undoes this.",
            short(&target)
        )),
        None => printer.note(&format!("Rolled back {shown} to its previous value ({restored}).")),
    }
    if json_out {
        printer.json(&json!({
            "reference": shown,
            "action": "rolled_back",
            "masked": restored,
            "previous_masked": replaced,
        }))?;
    }
    printer.hint(&format!(
        "check it still works: `tokenvault verify {}`",
        short(&target)
    ));
    Ok(Outcome::Success)
}
