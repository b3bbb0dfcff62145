//! Adding an MCP server that gets its secrets from the vault to a client's config: shared by
//! `tokenvault mcp add` and the web app. The entry holds references only; a literal token in a
//! header, the URL or an argument is refused. Nothing is printed: the front doors report
//! [`Added`].

use crate::cli::McpAddArgs;
use crate::context::{now_rfc3339, Ctx};
use crate::error::hinted;
use crate::mcp::files::{self as mcp_files, self_path, Found, Loaded};
use anyhow::{bail, Result};
use std::path::PathBuf;
use tokenvault_core::audit::contains_known_secret;
use tokenvault_core::mcp::{secure, ClientId, Document, Probe, Scope};
use tokenvault_core::{envplan, template, Reference};

/// What [`add_server`] did.
pub struct Added {
    pub client: ClientId,
    pub path: PathBuf,
    /// When the config is a symbolic link: the file that was edited.
    pub through_link: Option<PathBuf>,
    /// The references the entry names.
    pub references: Vec<String>,
    /// Those the vault does not hold yet.
    pub missing: Vec<String>,
}

pub fn add_server(ctx: &mut Ctx, args: &McpAddArgs) -> Result<Added> {
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
    let mut through_link = None;
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
        through_link = done.through_link(&found).map(|p| p.to_path_buf());
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
    // Tell about references the vault cannot answer yet.
    let mut missing = Vec::new();
    if !references.is_empty() {
        if let Ok(vault) = ctx.open_vault() {
            if let Ok(index) = vault.load_index() {
                for r in &references {
                    let is_missing = Reference::parse(r)
                        .ok()
                        .and_then(|r| vault.target(&index, &r, None).ok())
                        .is_some_and(|t| {
                            !index
                                .items
                                .get(t.key.item.as_str())
                                .is_some_and(|m| m.fields.contains_key(t.key.field.as_str()))
                        });
                    if is_missing {
                        missing.push(r.clone());
                    }
                }
            }
        }
    }
    Ok(Added {
        client,
        path,
        through_link,
        references,
        missing,
    })
}

pub fn literal_secret(place: &str) -> anyhow::Error {
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
