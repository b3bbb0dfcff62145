//! `tokenvault inject -i TEMPLATE`: replaces `{{ tv://ITEM/FIELD }}` in any text — a Hugging Face
//! Jobs spec, a `secrets:` block, a config — and writes the result to stdout or a 0600 file. Every
//! malformed or unknown reference is listed in one error, before anything is written.

use crate::cli::InjectArgs;
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use crate::resolve::resolve_all;
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
    let ref_names: Vec<String> = refs.iter().map(|r| r.to_string()).collect();
    let (resolved, backend) = if refs.is_empty() {
        (Ok(Default::default()), None)
    } else {
        let vault = ctx.open_vault()?;
        let backend = vault.kind().as_str();
        (resolve_all(&vault, &refs), Some(backend))
    };
    let resolved = match resolved {
        Ok(r) => r,
        Err(e) => {
            crate::audit::record(ctx, "inject", backend, &ref_names, "error: unresolved");
            return Err(e);
        }
    };
    let rendered = Zeroizing::new(
        template::render(&segments, |r| {
            resolved.get(r).map(|s| s.expose_secret().to_owned())
        })
        .ok_or_else(|| {
            hinted(
                "a placeholder was not resolved",
                "this is a bug; please report it",
            )
        })?,
    );
    let refs = crate::audit::Subject {
        references: ref_names,
        backend: backend.map(str::to_owned),
        ..Default::default()
    };
    crate::secretfile::deliver(ctx, "inject", &refs, args.output.as_deref(), &rendered)?;
    Ok(Outcome::Success)
}
