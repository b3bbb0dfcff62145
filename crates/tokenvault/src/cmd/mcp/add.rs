//! `tokenvault mcp add NAME --client C [-e VAR=REF]… -- CMD [ARGS…]` and
//! `tokenvault mcp add NAME --client C --url URL [--header 'K: V {{ tv://… }}']…`: add a server
//! that gets its secrets from the vault. The entry holds references only; a literal token in a
//! header or an argument is refused.

use super::self_path;
use crate::cli::McpAddArgs;
use crate::context::{now_rfc3339, Ctx, Outcome};
use crate::error::hinted;
use crate::mcp_files::{self, Found, Loaded};
use anyhow::{bail, Result};
use tokenvault_core::audit::contains_known_secret;
use tokenvault_core::mcp::{secure, ClientId, Document, Probe, Scope};
use tokenvault_core::{envplan, template, Reference};

pub fn run(ctx: &mut Ctx, args: &McpAddArgs) -> Result<Outcome> {
    let client = ClientId::parse(&args.client)?;
    let catalogue = ctx.settings.catalogue.clone();
    let tokenvault = self_path()?;
    let mut references: Vec<String> = Vec::new();
    let entry = if args.serve {
        secure::serve_entry(client, &tokenvault)
    } else if let Some(url) = &args.url {
        if !args.env.is_empty() {
            bail!("-e VAR=REF is for servers started as a command; a remote server takes --header 'Name: value {{{{ tv://ITEM/FIELD }}}}'");
        }
        if contains_known_secret(url, &catalogue) {
            return Err(literal_secret("the URL"));
        }
        for h in &args.headers {
            let Some((name, _)) = h.split_once(':') else {
                bail!("--header wants 'Name: value', e.g. --header 'Authorization: Bearer {{{{ tv://huggingface/token }}}}'");
            };
            if name.trim().is_empty() {
                bail!("--header wants 'Name: value' with a name before the colon");
            }
            let segments = template::parse(h).map_err(|errs| {
                let lines: Vec<String> = errs.iter().map(|e| e.source.to_string()).collect();
                anyhow::anyhow!("--header has a malformed reference: {}", lines.join("; "))
            })?;
            let literal: String = segments
                .iter()
                .filter_map(|s| match s {
                    template::Segment::Text(t) => Some(*t),
                    template::Segment::Placeholder { reference, .. } => {
                        references.push(reference.to_string());
                        None
                    }
                })
                .collect();
            if contains_known_secret(&literal, &catalogue) {
                return Err(literal_secret(&format!("the header '{}'", name.trim())));
            }
        }
        secure::remote_entry(client, &tokenvault, url, &args.headers)
    } else {
        if args.command.is_empty() {
            bail!("give the server's command after `--` (e.g. `-- npx -y @llmindset/hf-mcp-server`), or --url for a remote server");
        }
        if args
            .command
            .iter()
            .any(|a| contains_known_secret(a, &catalogue))
        {
            return Err(literal_secret("the command line"));
        }
        let mut pairs = Vec::new();
        for e in &args.env {
            let (var, reference) = envplan::parse_assignment(e)?;
            references.push(reference.to_string());
            pairs.push(format!("{var}={reference}"));
        }
        secure::stdio_entry(client, &tokenvault, &pairs, &args.command)
    };

    let machine = mcp_files::machine()?;
    let path = user_file(&machine, client)?;
    let found = Found {
        client,
        scope: Scope::User,
        path: path.clone(),
    };
    let exists = std::fs::symlink_metadata(&path).is_ok();
    let mut loaded = if exists {
        mcp_files::load(&found)?
    } else {
        Loaded {
            doc: Document::parse(client.format(), "")?,
            text: String::new(),
            found: found.clone(),
        }
    };
    loaded
        .doc
        .add_server(
            &[client.servers_key().to_owned()],
            &args.name,
            &entry,
            args.force,
        )
        .map_err(|e| hinted(format!("{}: {e}", path.display()), "nothing was changed"))?;
    let mut new_text = loaded.doc.to_text();
    if !new_text.ends_with('\n') {
        new_text.push('\n');
    }
    let now = now_rfc3339();
    let home = ctx.settings.paths.home.clone();
    if exists {
        // The file may hold plaintext secrets of other servers: the backup keeps them (0600, in
        // tokenvault's private directory) exactly as the file does.
        let done = mcp_files::rewrite(
            &home,
            &found,
            &loaded.text,
            &new_text,
            &loaded.text,
            "add",
            &now,
        )?;
        if let Some(target) = done.through_link(&found) {
            ctx.printer.note(&format!(
                "{} is a symbolic link: edited {}, the file it points to",
                path.display(),
                target.display()
            ));
        }
    } else {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                hinted(
                    format!("cannot create {}: {e}", dir.display()),
                    "check the permissions of its parent directory",
                )
            })?;
        }
        tokenvault_store::fsutil::atomic_write(&path, new_text.as_bytes())?;
    }
    if ctx.settings.global.json {
        ctx.printer.json(&serde_json::json!({
            "added": args.name,
            "client": client.id(),
            "path": path,
            "references": references,
        }))?;
    } else if !ctx.settings.global.quiet {
        ctx.printer.line(&format!(
            "added '{}' to {} ({})",
            args.name,
            client.name(),
            path.display()
        ))?;
    }
    // Tell about references the vault cannot answer yet.
    let printer = ctx.printer.clone();
    if !references.is_empty() {
        if let Ok(vault) = ctx.open_vault() {
            if let Ok(index) = vault.load_index() {
                for r in &references {
                    let missing = Reference::parse(r)
                        .ok()
                        .and_then(|r| vault.target(&index, &r, None).ok())
                        .is_some_and(|t| {
                            !index
                                .items
                                .get(t.key.item.as_str())
                                .is_some_and(|m| m.fields.contains_key(t.key.field.as_str()))
                        });
                    if missing {
                        printer.warning(&format!(
                            "{r} is not in the vault yet: store it with `tokenvault set {r}` before the client starts the server"
                        ));
                    }
                }
            }
        }
    }
    printer.hint("restart the client (or reload its MCP servers) to start the new server");
    Ok(Outcome::Success)
}

fn literal_secret(place: &str) -> anyhow::Error {
    hinted(
        format!("{place} holds a token in plain text"),
        "store it with `tokenvault set ITEM` and refer to it: -e VAR=tv://ITEM/FIELD, or --header 'Authorization: Bearer {{ tv://ITEM/FIELD }}'",
    )
}

/// The client's user-wide config file (the first candidate; created if missing).
fn user_file(
    machine: &tokenvault_core::mcp::Machine,
    client: ClientId,
) -> Result<std::path::PathBuf> {
    // An existing file wins (Claude Desktop's Store build on Windows has its own path).
    let found = mcp_files::discover(machine, Some(client));
    if let Some(f) = found.iter().find(|f| f.scope == Scope::User) {
        return Ok(f.path.clone());
    }
    tokenvault_core::mcp::candidates(machine)
        .into_iter()
        .filter(|c| c.client == client && c.scope == Scope::User)
        .find_map(|c| match c.probe {
            Probe::File(p) => Some(p),
            Probe::Prefixed { .. } => None,
        })
        .ok_or_else(|| anyhow::anyhow!("no config location known for {}", client.name()))
}
