//! `tokenvault profile set|list|rm`: named sets of `VAR = reference`, kept in the config file
//! (`[profiles.NAME]`), so `run -p hf-mcp` and wrapper scripts stay short. Profiles hold references
//! only, never values.

use crate::cli::ProfileCommand;
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use anyhow::Result;
use serde_json::json;
use tokenvault_core::envplan::parse_assignment;
use tokenvault_core::ItemName;

pub fn run(ctx: &mut Ctx, cmd: &ProfileCommand) -> Result<Outcome> {
    match cmd {
        ProfileCommand::Set { name, pairs } => {
            ItemName::new(name).map_err(|e| {
                hinted(
                    format!("profile {e}"),
                    "profile names follow item name rules, e.g. hf-mcp",
                )
            })?;
            let mut table = toml_edit::InlineTable::new();
            let mut parsed = Vec::new();
            for p in pairs {
                let (var, r) = parse_assignment(p)?;
                parsed.push((var, r));
            }
            for (var, r) in &parsed {
                table.insert(var, r.to_string().into());
            }
            let name = name.clone();
            ctx.settings.config.edit(|doc| {
                if doc.get("profiles").is_none() {
                    let mut t = toml_edit::Table::new();
                    t.set_implicit(true);
                    doc["profiles"] = toml_edit::Item::Table(t);
                }
                let mut t = toml_edit::Table::new();
                for (k, v) in table.iter() {
                    t.insert(k, toml_edit::Item::Value(v.clone()));
                }
                doc["profiles"][name.as_str()] = toml_edit::Item::Table(t);
            })?;
            ctx.printer.note(&format!(
                "Saved profile {name} ({}) in {}.",
                tokenvault_core::words::count(parsed.len(), "variable"),
                ctx.settings.config.path.display()
            ));
            if ctx.settings.global.json {
                let vars: serde_json::Map<String, serde_json::Value> = parsed
                    .iter()
                    .map(|(var, r)| (var.clone(), json!(r.to_string())))
                    .collect();
                ctx.printer
                    .json(&json!({"profile": name, "saved": true, "variables": vars}))?;
            }
            Ok(Outcome::Success)
        }
        ProfileCommand::List => {
            let profiles = &ctx.settings.config.config.profiles;
            if ctx.settings.global.json {
                ctx.printer.json(&json!(profiles))?;
            } else if profiles.is_empty() {
                ctx.printer
                    .note("No profiles yet. Create one: tokenvault profile set hf-mcp HF_TOKEN=tv://huggingface/token");
            } else {
                let mut out = String::new();
                for (name, vars) in profiles {
                    out.push_str(&format!("{name}\n"));
                    for (var, r) in vars {
                        out.push_str(&format!("  {var}={r}\n"));
                    }
                }
                ctx.printer.data(&out)?;
            }
            Ok(Outcome::Success)
        }
        ProfileCommand::Rm { name } => {
            if !ctx.settings.config.config.profiles.contains_key(name) {
                return Err(hinted(
                    format!("no profile named '{name}'"),
                    "see `tokenvault profile list`",
                ));
            }
            let name = name.clone();
            ctx.settings.config.edit(|doc| {
                if let Some(t) = doc.get_mut("profiles").and_then(|p| p.as_table_like_mut()) {
                    t.remove(&name);
                }
            })?;
            ctx.printer.note(&format!("Deleted profile {name}."));
            if ctx.settings.global.json {
                ctx.printer
                    .json(&json!({"profile": name, "deleted": true}))?;
            }
            Ok(Outcome::Success)
        }
    }
}
