//! cargo-fuzz target for the scan engine: arbitrary bytes through every rule, the exact-value
//! matcher and the streaming reader, checking the invariants in `tokenvault_scan::fuzzing`.
//! Run it for a bounded time with scripts/fuzz-scan.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tokenvault_scan::{fuzzing, Scanner};

static SCANNER: OnceLock<Scanner> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let scanner = SCANNER.get_or_init(fuzzing::scanner);
    fuzzing::check(scanner, data);
});
