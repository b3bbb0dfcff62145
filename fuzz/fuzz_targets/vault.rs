//! Fuzzes the decrypted vault document (fast layout recogniser vs full serde scan): the body and its invariants are `tokenvault_store::fuzzing::vault`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenvault_store::fuzzing::vault(data));
