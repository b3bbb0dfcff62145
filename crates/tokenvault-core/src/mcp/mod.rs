//! MCP client configs (SPEC §4): which clients exist and where their files are
//! ([`clients`]), reading and editing those files as text ([`config`]), the servers in them
//! ([`server`]), finding plaintext secrets in a server ([`detect`]) and the rewrite that moves them
//! into the vault ([`secure`]). Pure: the binary reads and writes the files.

pub mod clients;
pub mod config;

pub use clients::{candidates, Candidate, ClientId, Format, Machine, Os, Probe, Scope};
pub use config::{ConfigError, Document, Entry, Location, Op};
pub mod detect;
pub mod secure;
pub mod server;

pub use detect::{Finding, Place, Unresolved};
pub use server::{Secured, Transport};
