//! Fuzzes the metadata index (one-item lookup vs full parse): the body and its invariants are `tokenvault_store::fuzzing::index`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenvault_store::fuzzing::index(data));
