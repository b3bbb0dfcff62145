//! Fuzzes the MCP bridge's Server-Sent Events parser: the body and its invariants are `tokenvault_core::fuzzing::sse`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenvault_core::fuzzing::sse(data));
