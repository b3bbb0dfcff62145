//! Fuzzes `{{ tv://… }}` templates: the body and its invariants are `tokenvault_core::fuzzing::template`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenvault_core::fuzzing::template(data));
