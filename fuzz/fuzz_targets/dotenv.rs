//! Fuzzes dotenv files: the body and its invariants are `tokenvault_core::fuzzing::dotenv`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenvault_core::fuzzing::dotenv(data));
