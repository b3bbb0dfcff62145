//! Logic more than one command uses, so that no command imports another: the CLI's commands, and
//! later a web UI and an MCP server, call these. A service returns data; the few that still print
//! through a `Printer` argument say so in their doc comment.

pub mod agent;
pub mod attention;
pub mod audit_log;
pub mod docker_creds;
pub mod duration;
pub mod home_creds;
pub mod home_scan;
pub mod import_sources;
pub mod index_rows;
pub mod keyring_map;
pub mod livecheck;
pub mod mcp_add;
pub mod mcp_oauth;
pub mod mcp_restore;
pub mod mcp_secure;
pub mod resolve;
pub mod shred;
pub mod tokens;
pub mod usage;
pub mod verify;
