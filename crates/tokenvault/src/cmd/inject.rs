//! `tokenvault inject -i TEMPLATE`: replaces `{{ tv://ITEM/FIELD }}` in any text — a Hugging Face
//! Jobs spec, a `secrets:` block, a config — and writes the result to stdout or a 0600 file. Every
//! malformed or unknown reference is listed in one error, before anything is written.

use crate::cli::InjectArgs;
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use crate::services::resolve::open_and_resolve;
use anyhow::{Context, Result};
use std::io::Read;
use tokenvault_core::template;
use zeroize::Zeroizing;

pub fn run(ctx: &mut Ctx, args: &InjectArgs) -> Result<Outcome> {
    crate::secretfile::refuse_terminal(
        &ctx.printer,
        args.output.as_deref(),
        args.reveal,
        "write a file with -o FILE (created 0600) or pipe the result into the program that reads it",
    )?;
    crate::prompt::confirm_agent_caller("inject", "the references in its template")?;
    let name = args.input.display().to_string();
    let text = if name == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the template from stdin")?;
        s
    } else {
        std::fs::read_to_string(&args.input).with_context(|| format!("reading template {name}"))?
    };
    let segments = template::parse(&text).map_err(|errs| {
        let list: Vec<String> = errs.iter().map(|e| format!("{name}:{e}")).collect();
        hinted(
            format!("malformed placeholders:\n  {}", list.join("\n  ")),
            "placeholders look like {{ tv://ITEM/FIELD }}",
        )
    })?;
    let refs = template::references(&segments);
    let resolved = open_and_resolve(ctx, "inject", None, &refs)?;
    let rendered = Zeroizing::new(
        template::render(&segments, |r| {
            resolved.values.get(r).map(|s| s.expose_secret().to_owned())
        })
        .ok_or_else(|| {
            hinted(
                "a placeholder was not resolved",
                "this is a bug; please report it",
            )
        })?,
    );
    crate::secretfile::deliver(
        ctx,
        "inject",
        &resolved.subject,
        args.output.as_deref(),
        &rendered,
    )?;
    Ok(Outcome::Success)
}
