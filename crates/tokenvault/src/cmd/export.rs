//! `tokenvault export`: the resolved variables as dotenv, sh or JSON, for tools that only read
//! files. On stdout by default; with `-o` the file is created 0600, never through a symlink, never
//! over a git-tracked file, and git-ignored. Prefer `run`: an exported file is a plaintext copy.

use crate::cli::{ExportArgs, ExportFormat};
use crate::context::{Ctx, Outcome};
use crate::services::resolve::{build_plan, open_and_resolve};
use anyhow::Result;
use tokenvault_core::dotenv::{format_dotenv, format_sh};
use tokenvault_core::envplan::EnvValue;
use zeroize::Zeroizing;

pub fn run(ctx: &mut Ctx, args: &ExportArgs) -> Result<Outcome> {
    crate::secretfile::refuse_terminal(
        &ctx.printer,
        args.output.as_deref(),
        args.reveal,
        "write a file with -o FILE (0600, git-ignored), pipe it (`eval \"$(tokenvault export --format sh …)\"`), or use `tokenvault run`",
    )?;
    crate::prompt::confirm_agent_caller("export", "the references it exports")?;
    let plan = build_plan(ctx, &args.sources)?;
    if plan.is_empty() {
        return Err(crate::error::hinted(
            "nothing to export",
            "name variables with -e VAR=REF, -p PROFILE or --env-file FILE",
        ));
    }
    let refs = plan.references();
    let resolved = open_and_resolve(ctx, "export", Some(&plan), &refs)?;
    let mut out = Zeroizing::new(String::new());
    let mut json = serde_json::Map::new();
    for e in plan.entries() {
        let value: &str = match &e.value {
            EnvValue::Ref(r) => resolved
                .values
                .get(r)
                .map(|s| s.expose_secret())
                .unwrap_or_default(),
            EnvValue::Plain(p) => p,
        };
        match args.format {
            ExportFormat::Dotenv => out.push_str(&format_dotenv(&e.var, value)),
            ExportFormat::Sh => out.push_str(&format_sh(&e.var, value)),
            ExportFormat::Json => {
                json.insert(e.var.clone(), serde_json::Value::String(value.to_owned()));
            }
        }
    }
    if args.format == ExportFormat::Json {
        out.push_str(&serde_json::to_string_pretty(&json)?);
        out.push('\n');
        // The map's strings are plain Strings: overwrite them before they are dropped.
        for (_, v) in json.iter_mut() {
            if let serde_json::Value::String(s) = v {
                zeroize::Zeroize::zeroize(s);
            }
        }
    }
    if let Some(path) = crate::secretfile::deliver(
        ctx,
        "export",
        &resolved.subject,
        args.output.as_deref(),
        &out,
    )? {
        ctx.printer.note(&format!(
            "Wrote {} to {} (mode 0600). It is a plaintext copy: delete it when done.",
            tokenvault_core::words::count(plan.entries().len(), "variable"),
            path.display()
        ));
    }
    Ok(Outcome::Success)
}
