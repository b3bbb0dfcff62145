//! Shell completion of the names tokenvault knows: stored items and fields (from the index, which
//! holds no value and needs no unlock) and profiles (from the config). The shell scripts that
//! `tokenvault completions SHELL` prints call the binary back with `TOKENVAULT_COMPLETE=SHELL`
//! (clap_complete's `CompleteEnv`), and the arguments that take these names list them here.
//! Completion never opens a backend, never prompts and prints nothing but candidates: a broken or
//! missing index or config just completes nothing.

use crate::config::ConfigFile;
use crate::settings::Paths;
use clap_complete::engine::CompletionCandidate;
use tokenvault_store::index::{Index, IndexFile};

/// The variable that switches the binary into completion mode: a name of our own, so that an MCP
/// client that happens to set `COMPLETE` cannot turn `tokenvault run` into a completer.
pub const COMPLETE_VAR: &str = crate::envvars::TOKENVAULT_COMPLETE;

/// Answers a completion request and exits when [`COMPLETE_VAR`] is set; otherwise returns.
pub fn answer_if_asked() {
    clap_complete::CompleteEnv::with_factory(|| {
        <crate::cli::Cli as clap::CommandFactory>::command()
    })
    .var(COMPLETE_VAR)
    .bin("tokenvault")
    .completer("tokenvault")
    .complete();
}

fn index() -> Option<Index> {
    let paths = Paths::resolve().ok()?;
    IndexFile::new(&paths.home).load().ok()
}

/// Stored item names.
pub fn items() -> Vec<CompletionCandidate> {
    let Some(index) = index() else {
        return Vec::new();
    };
    index
        .items
        .into_iter()
        .map(|(item, meta)| {
            let help = meta.provider.map(Into::into);
            CompletionCandidate::new(item).help(help)
        })
        .collect()
}

/// Stored items and their fields: `huggingface`, `huggingface/token`, `aws/region`, …
pub fn references() -> Vec<CompletionCandidate> {
    let Some(index) = index() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (item, meta) in index.items {
        for field in meta.fields.keys() {
            out.push(CompletionCandidate::new(format!("{item}/{field}")));
        }
        let help = meta.provider.map(Into::into);
        out.push(CompletionCandidate::new(item).help(help));
    }
    out
}

/// Profile names from the config file.
pub fn profiles() -> Vec<CompletionCandidate> {
    let Ok(paths) = Paths::resolve() else {
        return Vec::new();
    };
    let Ok(config) = ConfigFile::load(&paths.config) else {
        return Vec::new();
    };
    config
        .config
        .profiles
        .keys()
        .map(CompletionCandidate::new)
        .collect()
}
