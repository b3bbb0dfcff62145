//! MCP clients' files and the remote-server bridge: finding, reading, backing up and rewriting
//! the eight clients' configs (`files`), and the stdio ↔ Streamable HTTP proxy with headers from
//! the vault (`bridge`). What a config means (pure) is `tokenvault_core::mcp`.

pub mod agent_page;
pub mod bridge;
pub mod files;
