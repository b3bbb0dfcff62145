//! `tokenvault get REF`: the raw value on stdout, for scripts. A terminal stdout is refused
//! without `--reveal` (the value would stay in the scrollback).

use crate::cli::GetArgs;
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use anyhow::Result;

pub fn run(ctx: &mut Ctx, args: &GetArgs) -> Result<Outcome> {
    let mut subject = crate::audit::Subject::new(super::parse_ref(&args.reference)?);
    let result = get_value(ctx, args, &mut subject);
    let action = if args.previous { "get-previous" } else { "get" };
    subject.record(ctx, action, &result);
    result
}

fn get_value(
    ctx: &mut Ctx,
    args: &GetArgs,
    subject: &mut crate::audit::Subject,
) -> Result<Outcome> {
    let reference = super::parse_ref(&args.reference)?;
    let to_terminal = ctx.printer.stdout_is_terminal();
    let vault = ctx.open_vault()?;
    subject.backend = Some(vault.kind().as_str().to_owned());
    let target = vault.target_for_read(&reference)?;
    subject.references = vec![target.reference()];
    if to_terminal && !args.reveal {
        // "Not stored" first: there is nothing to reveal. Told from the index (and what the
        // store lists), so a locked vault asks for no passphrase just to refuse.
        let index = vault.load_index()?;
        let stored = vault.keys(&index)?.contains(&target.key)
            && (!args.previous
                || index
                    .items
                    .get(target.key.item.as_str())
                    .and_then(|m| m.fields.get(target.key.field.as_str()))
                    .is_some_and(|f| f.has_previous));
        if !stored {
            return Err(not_found(
                &target.reference(),
                args.previous,
                vault.kind().as_str(),
            ));
        }
        return Err(hinted(
            "refusing to print a secret to the terminal",
            format!(
                "pipe it into the program that needs it, use `tokenvault run`, or pass --reveal (`tokenvault show {}` prints it masked)",
                args.reference
            ),
        ));
    }
    crate::prompt::confirm_agent_caller("get", &target.reference())?;
    let key = if args.previous {
        target.key.previous()
    } else {
        target.key.clone()
    };
    match vault.store().get(&key)? {
        Some(value) => {
            let mut out = String::with_capacity(value.len() + 1);
            out.push_str(value.expose_secret());
            if !args.no_newline {
                out.push('\n');
            }
            let out = zeroize::Zeroizing::new(out);
            let action = if args.previous { "get-previous" } else { "get" };
            subject.record_before_release(ctx, action)?;
            ctx.printer.data(&out)?;
            Ok(Outcome::Success)
        }
        None => Err(not_found(
            &target.reference(),
            args.previous,
            vault.kind().as_str(),
        )),
    }
}

pub fn not_found(reference: &str, previous: bool, backend: &str) -> anyhow::Error {
    if previous {
        hinted(
            format!("{reference} has no previous value"),
            "a previous value is kept when `set` replaces a value",
        )
    } else {
        hinted(
            format!("{reference} is not stored in the {backend} backend"),
            format!(
                "store it with `tokenvault set {}`; see what is stored with `tokenvault list`",
                reference.trim_start_matches("tv://")
            ),
        )
    }
}
