//! Fuzzes git credential helper requests and answers: the body and its invariants are `tokenvault_core::fuzzing::gitcred`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenvault_core::fuzzing::gitcred(data));
