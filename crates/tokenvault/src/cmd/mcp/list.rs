//! `tokenvault mcp list`: every client config found, every server in it, and which servers hold
//! plaintext secrets (masked), hold `tv://` references that nothing resolves (the server gets the
//! literal text), or are already launched through tokenvault.

use super::{client_filter, display_path, inspect, masked, Inspected};
use crate::cli::McpListArgs;
use crate::context::{Ctx, Outcome};
use crate::mcp::files as mcp_files;
use anyhow::Result;
use serde_json::{json, Value};
use tokenvault_core::mcp::{Scope, Secured, Transport};

pub fn run(ctx: &mut Ctx, args: &McpListArgs) -> Result<Outcome> {
    let only = client_filter(args.client.as_deref())?;
    let machine = mcp_files::machine()?;
    let catalogue = &ctx.settings.catalogue;
    let printer = &ctx.printer;
    let found = mcp_files::discover(&machine, only);
    let mut files = Vec::new();
    let mut failed = false;
    for f in &found {
        let mut row = json!({
            "client": f.client.id(),
            "scope": match f.scope { Scope::User => "user", Scope::Project => "project" },
            "path": f.path,
        });
        match mcp_files::load(f).and_then(|l| inspect(&l, catalogue)) {
            Ok(servers) => {
                row["servers"] =
                    Value::Array(servers.iter().map(|s| server_json(s, catalogue)).collect());
            }
            Err(e) => {
                failed = true;
                row["error"] = json!(format!("{e:#}"));
            }
        }
        files.push(row);
    }
    if ctx.settings.global.json {
        printer.json(&json!(files))?;
    } else if files.is_empty() {
        printer.note("No MCP client config found (looked for Claude Desktop, Claude Code, Cursor, VS Code, Windsurf, Gemini CLI, Codex CLI and Zed).");
    } else {
        for (f, row) in found.iter().zip(&files) {
            printer.line(&format!("{}  {}", f.client.id(), display_path(f)))?;
            if let Some(e) = row["error"].as_str() {
                printer.line(&format!("  error: {e}"))?;
                continue;
            }
            let servers = row["servers"].as_array().cloned().unwrap_or_default();
            if servers.is_empty() {
                printer.line("  (no servers)")?;
            }
            let width = servers
                .iter()
                .filter_map(|s| s["name"].as_str())
                .map(str::len)
                .max()
                .unwrap_or(0);
            for s in servers {
                printer.line(&format!(
                    "  {:width$}  {:6}  {}",
                    s["name"].as_str().unwrap_or_default(),
                    s["transport"].as_str().unwrap_or_default(),
                    s["summary"].as_str().unwrap_or_default(),
                ))?;
            }
        }
        let plaintext = files
            .iter()
            .flat_map(|f| f["servers"].as_array().cloned().unwrap_or_default())
            .any(|s| s["secrets"].as_array().is_some_and(|a| !a.is_empty()));
        if plaintext {
            printer.hint("move them into the vault with `tokenvault mcp secure` (`--dry-run` shows the changes first)");
        }
        let unresolved = files
            .iter()
            .flat_map(|f| f["servers"].as_array().cloned().unwrap_or_default())
            .any(|s| s["unresolved"].as_array().is_some_and(|a| !a.is_empty()));
        if unresolved {
            printer.hint("`tokenvault mcp secure` launches those servers through `tokenvault run`, which resolves the references (`--dry-run` shows the changes first)");
        }
    }
    Ok(if failed {
        Outcome::Code(2)
    } else {
        Outcome::Success
    })
}

fn server_json(s: &Inspected, catalogue: &tokenvault_core::Catalogue) -> Value {
    let transport = match &s.transport {
        Transport::Stdio(_) => "stdio",
        Transport::Remote(_) => "remote",
        Transport::Unknown(_) => "?",
    };
    let secrets: Vec<Value> = s
        .findings
        .iter()
        .map(|f| {
            json!({
                "place": f.place.describe(),
                "provider": f.provider.as_ref().map(|p| &p.0),
                "masked": masked(catalogue, f),
                "movable": f.place.movable(),
            })
        })
        .collect();
    let unresolved: Vec<Value> = s
        .unresolved
        .iter()
        .map(|u| {
            json!({
                "place": u.place.describe(),
                "reference": u.text,
                "fixable": u.reference.is_some(),
            })
        })
        .collect();
    let secured = s.secured.map(|k| match k {
        Secured::Run => "tokenvault run",
        Secured::Proxy => "tokenvault mcp proxy",
        Secured::HeadersHelper => "tokenvault mcp headers",
    });
    let unresolved_summary = (!s.unresolved.is_empty()).then(|| {
        let parts: Vec<String> = s
            .unresolved
            .iter()
            .map(|u| format!("{} {}", u.place.describe(), u.text))
            .collect();
        format!(
            "UNRESOLVED tv:// reference: {} (the server gets the literal string)",
            parts.join(", ")
        )
    });
    let summary = if !s.findings.is_empty() {
        let parts: Vec<String> = s
            .findings
            .iter()
            .map(|f| format!("{} {}", f.place.describe(), masked(catalogue, f)))
            .collect();
        let mut line = format!("PLAINTEXT: {}", parts.join(", "));
        if let Some(u) = unresolved_summary {
            line.push_str("; ");
            line.push_str(&u);
        }
        line
    } else if let Some(u) = unresolved_summary {
        u
    } else if let Some(k) = secured {
        format!("secured ({k})")
    } else if let Transport::Unknown(why) = &s.transport {
        format!("not understood: {why}")
    } else {
        "no secrets".to_owned()
    };
    json!({
        "name": s.name,
        "location": s.location.join("."),
        "transport": transport,
        "secured": secured,
        "secrets": secrets,
        "unresolved": unresolved,
        "summary": summary,
    })
}
