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

use crate::mcp_files::Found;
pub use crate::mcp_files::{inspect, masked, Inspected};
use tokenvault_core::mcp::ClientId;

/// `--client NAME` as a client, with the accepted names in the error.
pub fn client_filter(name: Option<&str>) -> Result<Option<ClientId>> {
    name.map(|n| ClientId::parse(n).map_err(anyhow::Error::from))
        .transpose()
}

/// `~/x` for paths under the home directory, for shorter lines.
pub fn display_path(found: &Found) -> String {
    crate::mcp_files::tilde(&found.path)
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
