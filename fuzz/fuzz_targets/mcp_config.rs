//! Fuzzes MCP client configs (JSON, JSONC, TOML) and their edits: the body and its invariants are `tokenvault_core::fuzzing::mcp_config`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenvault_core::fuzzing::mcp_config(data));
