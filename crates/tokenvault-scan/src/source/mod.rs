//! Where bytes come from: directory trees, git history, staged changes, stdin.
//!
//! This is the only part of the crate that does I/O (hence the module-wide allowance of clippy's
//! `disallowed-methods`, which keeps the engine pure). Each source feeds the [`Scanner`] and hands
//! every finding, with its location, to a [`Reporter`] that the caller supplies: the binary prints
//! them as they come, tests collect them. Errors about one file are reported and the scan goes on;
//! errors that stop a source (git missing, not a repository) are returned.
#![allow(clippy::disallowed_methods)]

pub mod diff;
pub mod fs;
pub mod git;
pub mod home;
pub mod stream;

use crate::engine::Finding;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The commit a finding was introduced in (git sources).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commit {
    pub id: String,
    pub author: String,
    pub email: String,
    /// ISO 8601, as git prints it (`%aI`).
    pub date: String,
}

/// A finding and where it is.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The path as the user would type it (relative to where the walk started), or `-` for stdin.
    pub path: String,
    pub commit: Option<Arc<Commit>>,
    pub finding: Finding,
}

/// Receives the results of a source. Called from several threads.
pub trait Reporter: Send + Sync {
    fn hit(&self, hit: Hit);
    /// A problem with one input that did not stop the scan (unreadable file, …).
    fn error(&self, message: String);
    /// Bytes scanned so far grew by `bytes` (for a progress display).
    fn progress(&self, _bytes: u64) {}
}

/// What a source did, for the summary line and the benchmark.
#[derive(Debug, Default)]
pub struct Stats {
    pub files: AtomicU64,
    pub bytes: AtomicU64,
    pub errors: AtomicU64,
    pub findings: AtomicU64,
    /// Files named like secret files ([`fs::secret_file_name`]) that the walk scanned.
    pub secret_named: std::sync::Mutex<Vec<std::path::PathBuf>>,
}

impl Stats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Collects hits in memory (tests, and sources that must sort before reporting).
#[derive(Debug, Default)]
pub struct Collect {
    pub hits: std::sync::Mutex<Vec<Hit>>,
    pub errors: std::sync::Mutex<Vec<String>>,
}

impl Reporter for Collect {
    fn hit(&self, hit: Hit) {
        if let Ok(mut h) = self.hits.lock() {
            h.push(hit);
        }
    }

    fn error(&self, message: String) {
        if let Ok(mut e) = self.errors.lock() {
            e.push(message);
        }
    }
}

impl Collect {
    pub fn take(&self) -> Vec<Hit> {
        self.hits
            .lock()
            .map(|mut h| std::mem::take(&mut *h))
            .unwrap_or_default()
    }
}
