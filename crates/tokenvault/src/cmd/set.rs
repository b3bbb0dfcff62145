//! `tokenvault set REF`: store a value read from a hidden prompt or stdin — never from argv.
//! The value's format is checked against the provider's rules first; `--force` stores it anyway.

use crate::cli::SetArgs;
use crate::context::{now_rfc3339, Ctx, Outcome};
use crate::error::hinted;
use crate::printer::Printer;
use crate::prompt;
use crate::services::verify::{check_after_set, AfterSet};
use anyhow::Result;
use serde_json::json;
use tokenvault_core::FormatCheck;

pub fn run(ctx: &mut Ctx, args: &SetArgs) -> Result<Outcome> {
    let mut subject = crate::audit::Subject::default();
    let result = set_value(ctx, args, &mut subject);
    // Audited once the reference parsed: before that nothing was touched, and the text typed
    // where a reference belongs might be the token itself.
    if !subject.references.is_empty() {
        subject.record(ctx, "set", &result);
    }
    result
}

fn set_value(
    ctx: &mut Ctx,
    args: &SetArgs,
    subject: &mut crate::audit::Subject,
) -> Result<Outcome> {
    if !args.stray.is_empty() {
        // Never echo what was typed: it is probably the token.
        return Err(hinted(
            "values are never taken from the command line (set takes only a reference)",
            format!(
                "it is now in your shell history: delete it there and consider rotating the token; then run `tokenvault set {}` and paste it at the hidden prompt, or pipe it with --stdin",
                args.reference
            ),
        ));
    }
    let reference = super::parse_ref(&args.reference)?;
    subject.references = vec![reference.to_string()];
    if let Some(p) = &args.provider {
        if ctx.settings.catalogue.get(p).is_none() {
            let known: Vec<&str> = ctx
                .settings
                .catalogue
                .providers()
                .iter()
                .map(|p| p.id.as_str())
                .collect();
            return Err(hinted(
                format!("unknown provider '{p}'"),
                format!(
                    "known providers: {}; add your own as [[provider]] in the config file",
                    known.join(", ")
                ),
            ));
        }
    }
    let printer = ctx.printer.clone();
    let json_out = ctx.settings.global.json;
    // For the least-privilege warning of the check after storing.
    let profiles = ctx.settings.config.config.profiles.clone();
    let vault = ctx.open_vault()?;
    subject.backend = Some(vault.kind().as_str().to_owned());
    let index = vault.load_index_trusted()?;
    let target = vault.target(&index, &reference, args.provider.as_deref())?;
    let shown = target.reference();
    subject.references = vec![shown.clone()];

    // Reach the backend before asking for the value: a locked vault or a missing keyring should
    // fail before the user pastes a token, not after.
    vault.store().get(&target.key)?;
    // The first `set` creates the file vault: its passphrase is asked before the value.
    if let Some(store) = vault.backend.file_store() {
        store.prepare_new_vault()?;
    }

    let value = prompt::read_value("set", args.stdin, &shown)?;
    if value.is_empty() {
        return Err(hinted(
            format!("no value given for {shown}"),
            "type or pipe the token; nothing was stored",
        ));
    }

    if let Some(provider) = target.provider.as_deref() {
        match vault.catalogue.check_format(
            provider,
            target.key.field.as_str(),
            value.expose_secret(),
        ) {
            FormatCheck::Invalid { expected } if !args.force => {
                return Err(hinted(
                    format!(
                        "the value for {shown} does not look like {} {}: expected {}",
                        tokenvault_core::words::with_article(provider),
                        target.key.field,
                        expected.join(", or ")
                    ),
                    "check you pasted the whole token; pass --force to store it anyway",
                ));
            }
            FormatCheck::Invalid { .. } => printer.warning(&format!(
                "storing a value that does not match the {provider} format (--force)"
            )),
            _ => {}
        }
    } else if let Some((p, f)) = vault.catalogue.detect_value(value.expose_secret()) {
        printer.hint(&format!(
            "this looks like {} {}; next time name the item after the provider (e.g. {}) or pass --provider {}",
            tokenvault_core::words::with_article(&p.name), f.name, p.id, p.id
        ));
    }

    let written = vault.write(&target, &value, &now_rfc3339())?;
    let verb = if written.replaced {
        "Replaced"
    } else {
        "Stored"
    };
    printer.note(&format!(
        "{verb} {shown} ({}) in the {} backend.{}",
        written.masked,
        vault.kind(),
        if written.replaced {
            " The previous value is kept for `rotate --rollback`."
        } else {
            ""
        }
    ));
    if json_out {
        printer.json(&json!({
            "reference": shown,
            "action": if written.replaced { "replaced" } else { "stored" },
            "masked": written.masked,
            "backend": vault.kind().as_str(),
            "previous_kept": written.replaced,
        }))?;
    }
    if args.no_verify {
        return Ok(Outcome::Success);
    }
    let (found, unrecorded) = check_after_set(&profiles, &vault, &target, &value)?;
    if let Some(w) = unrecorded {
        printer.warning(&w);
    }
    Ok(render_check(&printer, found))
}

/// What the check after storing found, said on stderr; `Negative` only for a rejected value.
fn render_check(printer: &Printer, found: AfterSet) -> Outcome {
    match found {
        AfterSet::NotChecked => {}
        AfterSet::Verified {
            checked,
            summary,
            privilege,
        } => {
            printer.note(&format!("Verified {checked}: {summary}."));
            if let Some(w) = privilege {
                printer.warning(&w);
            }
        }
        AfterSet::Rejected { stored, why } => {
            printer.error(&format!("{stored} was stored, but {}", why.message));
            printer.hint(&why.hint);
            return Outcome::Negative;
        }
        AfterSet::Unverified {
            stored,
            checked,
            why,
        } => {
            printer.warning(&format!(
                "{stored} was stored but not verified: {}",
                why.message
            ));
            printer.hint(&format!(
                "{}; then run `tokenvault verify {}`",
                why.hint,
                checked.trim_start_matches("tv://")
            ));
        }
        AfterSet::Incomplete { stored, why } => {
            printer.note(&format!("{stored} was stored; {}.", why.message));
            printer.hint(&why.hint);
        }
    }
    Outcome::Success
}
