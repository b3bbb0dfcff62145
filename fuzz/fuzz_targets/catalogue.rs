//! Fuzzes user provider catalogues (TOML): the body and its invariants are `tokenvault_core::fuzzing::catalogue`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenvault_core::fuzzing::catalogue(data));
