//! Fuzzes audit log lines and the chain verifier: the body and its invariants are `tokenvault_core::fuzzing::audit`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenvault_core::fuzzing::audit(data));
