//! Fuzzes the age file reader (header, stanza, STREAM payload, key cache entries): the body and its invariants are `tokenvault_store::fuzzing::age`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenvault_store::fuzzing::age(data));
