//! `tokenvault agent-setup [--file AGENTS.md|CLAUDE.md]`: writes a short section into the project's
//! agent instructions telling the agent to use tokenvault's MCP tools instead of asking for tokens.
//! The section sits between markers and is replaced in place, so running it again changes nothing.

use crate::cli::AgentSetupArgs;
use crate::context::{Ctx, Outcome};
use anyhow::{Context as _, Result};
use std::path::PathBuf;
use tokenvault_core::agent::upsert_section;

pub fn run(ctx: &mut Ctx, args: &AgentSetupArgs) -> Result<Outcome> {
    let path = match &args.file {
        Some(f) => f.clone(),
        // CLAUDE.md when the project has only that one; AGENTS.md (read by Codex, Cursor and
        // others) otherwise.
        None if !PathBuf::from("AGENTS.md").exists() && PathBuf::from("CLAUDE.md").exists() => {
            PathBuf::from("CLAUDE.md")
        }
        None => PathBuf::from("AGENTS.md"),
    };
    let old = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let new = upsert_section(&old);
    let shown = path.display().to_string();
    if new == old {
        ctx.printer.note(&format!(
            "{shown} already has the tokenvault section; nothing to change."
        ));
        return Ok(Outcome::Success);
    }
    if args.dry_run {
        ctx.printer.data(&new)?;
        return Ok(Outcome::Success);
    }
    // Written beside the file and renamed over it: a crash leaves the old file or the new one.
    let tmp = path.with_extension("md.tokenvault-tmp");
    std::fs::write(&tmp, new.as_bytes()).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("replacing {shown}"))?;
    ctx.printer.note(&format!(
        "{} the tokenvault section in {shown}; add the server to your client with `tokenvault mcp add tokenvault --client claude-code --serve` (or cursor, codex, …).",
        if old.contains(tokenvault_core::agent::SECTION_BEGIN) { "Updated" } else { "Wrote" }
    ));
    Ok(Outcome::Success)
}
