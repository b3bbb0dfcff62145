//! Replays every committed fuzz corpus (`fuzz/corpus/<target>/`: seeds and every crash input
//! found so far) through the same function its cargo-fuzz target calls, on stable, as part of
//! `cargo test --workspace`: a crash once found stays fixed. See docs/fuzzing.md.

use std::path::{Path, PathBuf};

/// Every cargo-fuzz target but `engine` (the scanner's, replayed by tokenvault-scan's tests),
/// and the function it calls.
/// A target's function.
type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("age", tokenvault_store::fuzzing::age),
    ("vault", tokenvault_store::fuzzing::vault),
    ("index", tokenvault_store::fuzzing::index),
    ("dotenv", tokenvault_core::fuzzing::dotenv),
    ("mcp_config", tokenvault_core::fuzzing::mcp_config),
    ("template", tokenvault_core::fuzzing::template),
    ("audit", tokenvault_core::fuzzing::audit),
    ("catalogue", tokenvault_core::fuzzing::catalogue),
    ("sse", tokenvault_core::fuzzing::sse),
    ("gitcred", tokenvault_core::fuzzing::gitcred),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

#[test]
fn every_fuzz_target_is_replayed() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fuzz_dir().join("fuzz_targets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|name| name != "engine")
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = TARGETS.iter().map(|(n, _)| (*n).to_owned()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "fuzz/fuzz_targets and this test's list differ"
    );
}

#[test]
fn committed_corpora_replay_without_a_failure() {
    let mut failures = Vec::new();
    for (name, target) in TARGETS {
        let dir = fuzz_dir().join("corpus").join(name);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{name}: empty corpus");
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let run = std::panic::catch_unwind(|| target(&data));
            if run.is_err() {
                failures.push(file.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "inputs that fail: {failures:#?}");
}
