//! The engine's invariants, checked on arbitrary input: shared by the cargo-fuzz target
//! (`fuzz/fuzz_targets/engine.rs`, nightly) and a bounded random-input test that runs on stable
//! (`tests/fuzz_engine.rs`), so both exercise the same properties.
//!
//! For any bytes: scanning does not panic; findings lie inside the input, in offset order, with the
//! line and column their offset implies; no masked form contains the value it masks (values of 12
//! characters or more; shorter ones are fully masked); and scanning a copy through the streaming
//! reader, in tiny reads and small windows, finds the same findings as scanning the whole buffer
//! (unless the input starts with a UTF-16 byte order mark: the reader decodes those).

use crate::engine::{Finding, Scanner};
use crate::exact::{ExactMatcher, ExactValue};
use crate::rules::RuleSet;
use tokenvault_core::{Catalogue, Secret};

/// A scanner with every built-in rule and one vault value, for fuzzing.
pub fn scanner() -> Scanner {
    let exact = ExactMatcher::new(&[ExactValue {
        reference: "tv://fuzz/token".into(),
        provider: None,
        prefix: None,
        value: Secret::new("fuzz-vault-value-Q7x!".to_owned()),
    }]);
    match (RuleSet::from_catalogue(&Catalogue::builtin()), exact) {
        (Ok(rules), Ok(exact)) => match Scanner::new(rules, Some(exact)) {
            Ok(s) => s,
            Err(e) => panic!("fuzz scanner: {e}"),
        },
        (Err(e), _) => panic!("fuzz rules: {e}"),
        (_, Err(e)) => panic!("fuzz exact matcher: {e}"),
    }
}

/// Panics if an invariant does not hold for `data`.
pub fn check(scanner: &Scanner, data: &[u8]) {
    let mut found: Vec<Finding> = Vec::new();
    scanner.scan(data, &mut found);
    let mut last = 0u64;
    for f in &found {
        assert!(
            f.start < f.end && f.end as usize <= data.len(),
            "span out of input: {f:?}"
        );
        assert!(f.start >= last, "findings out of order");
        last = f.start;
        let start = f.start as usize;
        let line = 1 + data[..start].iter().filter(|&&b| b == b'\n').count() as u64;
        let line_start = data[..start]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        assert_eq!(
            (f.line, f.column),
            (line, (start - line_start + 1) as u64),
            "position of {f:?}"
        );
        let value = String::from_utf8_lossy(&data[start..f.end as usize]);
        if value.chars().count() >= 12 {
            assert!(
                !f.masked.contains(value.as_ref()),
                "mask shows the value: {f:?}"
            );
        }
    }
    // The streaming reader in tiny reads must agree with the one-buffer scan.
    struct Drip<'a>(&'a [u8]);
    impl std::io::Read for Drip<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(out.len()).min(7);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let mut streamed: Vec<Finding> = Vec::new();
    let mut scratch = scanner.scratch();
    // Small windows, so that even a short input is cut many times.
    let chunk = 1 + data.len() % 61;
    let r = crate::source::stream::scan_reader_in(
        scanner,
        &mut scratch,
        &mut Drip(data),
        &mut Vec::new(),
        &mut streamed,
        chunk,
    );
    assert!(r.is_ok(), "reading from memory failed");
    if crate::source::stream::sniff(data) == crate::source::stream::Encoding::Bytes {
        assert_eq!(streamed, found, "streaming and whole-buffer scans differ");
    }
}
