//! `tokenvault mcp …`: MCP client configs (list, secure, add, restore) and remote servers
//! (proxy, headers), and tokenvault's own MCP server for agents (serve). One file per subcommand.

mod add;
mod headers;
mod list;
mod login;
mod logout;
mod proxy;
mod restore;
mod secure;
mod serve;
mod status;

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
        McpCommand::Serve(a) => serve::run(ctx, a),
        McpCommand::Login(a) => login::run(ctx, a),
        McpCommand::Logout(a) => logout::run(ctx, a),
        McpCommand::Status(a) => status::run(ctx, a),
    }
}

pub use crate::mcp::files::{client_filter, display_path, inspect, masked, Inspected};
