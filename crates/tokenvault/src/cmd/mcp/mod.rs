//! `tokenvault mcp …`: MCP client configs (list, secure, add, restore) and remote servers
//! (proxy, headers). One file per subcommand.

mod add;
mod headers;
mod list;
mod proxy;
mod restore;
pub mod secure;

use crate::cli::McpCommand;
use crate::context::{Ctx, Outcome};
use anyhow::Result;

pub fn run(ctx: &mut Ctx, cmd: &McpCommand) -> Result<Outcome> {
    match cmd {
        McpCommand::List(a) => list::run(ctx, a),
        McpCommand::Secure(a) => secure::run(ctx, a),
        McpCommand::Add(a) => add::run(ctx, a),
        McpCommand::Restore(a) => restore::run(ctx, a),
        McpCommand::Proxy(a) => proxy::run(ctx, a),
        McpCommand::Headers(a) => headers::run(ctx, a),
    }
}

use crate::mcp_files::{self, Found};
use crate::vault::mask_for;
use tokenvault_core::mcp::{detect, server, ClientId, Finding, Location, Secured, Transport};
use tokenvault_core::Catalogue;

/// One server of a config, as `list` and `secure` see it.
pub struct Inspected {
    pub location: Location,
    pub name: String,
    pub transport: Transport,
    pub secured: Option<Secured>,
    pub findings: Vec<Finding>,
}

/// The servers of a loaded config with their plaintext secrets.
pub fn inspect(loaded: &mcp_files::Loaded, catalogue: &Catalogue) -> Result<Vec<Inspected>> {
    let client = loaded.found.client;
    let entries = loaded.doc.entries(client).map_err(|e| {
        crate::error::hinted(
            format!("{} ({}): {e}", loaded.found.path.display(), client.name()),
            "nothing was changed",
        )
    })?;
    Ok(entries
        .into_iter()
        .map(|e| {
            let transport = server::transport(client, &e.value);
            let findings = detect::find(&transport, catalogue);
            Inspected {
                secured: server::secured(&transport),
                location: e.location,
                name: e.name,
                transport,
                findings,
            }
        })
        .collect())
}

/// `--client NAME` as a client, with the accepted names in the error.
pub fn client_filter(name: Option<&str>) -> Result<Option<ClientId>> {
    name.map(|n| ClientId::parse(n).map_err(anyhow::Error::from))
        .transpose()
}

/// A finding's masked value.
pub fn masked(catalogue: &Catalogue, f: &Finding) -> String {
    let (provider, field) = match &f.provider {
        Some((p, fl)) => (Some(p.as_str()), fl.as_str()),
        None => (None, "token"),
    };
    mask_for(catalogue, provider, field, f.value.expose_secret())
}

/// `~/x` for paths under the home directory, for shorter lines.
pub fn display_path(found: &Found) -> String {
    let path = found.path.display().to_string();
    match crate::envvars::get(crate::envvars::HOME) {
        Some(home) if !home.is_empty() && path.starts_with(&format!("{home}/")) => {
            format!("~{}", &path[home.len()..])
        }
        _ => path,
    }
}

/// The absolute path of this tokenvault binary, which rewritten configs launch.
pub fn self_path() -> Result<String> {
    let exe = crate::launcher::self_path()?;
    exe.to_str().map(str::to_owned).ok_or_else(|| {
        anyhow::anyhow!(
            "the path of the tokenvault binary ({}) is not UTF-8; client configs cannot hold it",
            exe.display()
        )
    })
}
