//! The audit log as data, for the web app's Audit page: its records (newest last) and whether its
//! hash chain verifies. `tokenvault audit` and `audit verify` stream the same file
//! (`crate::audit::read_lines`) and add the authenticated-head check.
//!
//! Also records that a service gathers while the vault is open and writes once it is closed
//! ([`Pending`], [`record_all`]): `scan --home --fix`'s redactions and imports.

use anyhow::Result;
use std::path::Path;
use tokenvault_core::audit::{Record, Verifier};

/// A record to append later: the action, the backend, the references (never values) and the
/// outcome.
#[derive(Debug, Clone)]
pub struct Pending {
    pub action: &'static str,
    pub backend: Option<String>,
    pub references: Vec<String>,
    pub outcome: String,
}

/// Appends each pending record, in order.
pub fn record_all(ctx: &crate::context::Ctx, pending: &[Pending]) {
    for p in pending {
        crate::audit::record(
            ctx,
            p.action,
            p.backend.as_deref(),
            &p.references,
            &p.outcome,
        );
    }
}

/// What the chain check found.
pub enum Chain {
    /// No log yet.
    Empty,
    /// Every line links to the one before: `entries` records.
    Intact { entries: u64 },
    /// The first line that does not, and why.
    Broken { at: String },
}

pub struct Log {
    pub records: Vec<Record>,
    /// Line numbers that are not audit records.
    pub damaged: Vec<u64>,
    pub chain: Chain,
}

/// Reads the whole log under its shared lock, checking the chain as it goes.
pub fn read(home: &Path) -> Result<Log> {
    let mut records = Vec::new();
    let mut damaged = Vec::new();
    let mut verifier = Verifier::new();
    let mut broken = None;
    let exists = crate::audit::read_lines(home, |n, line| {
        match Record::parse(line) {
            Ok(r) => records.push(r),
            Err(_) => damaged.push(n),
        }
        if broken.is_none() {
            if let Err(b) = verifier.feed(line) {
                broken = Some(b);
            }
        }
        Ok(true)
    })?;
    let chain = match (exists, broken) {
        (false, _) => Chain::Empty,
        (true, Some(b)) => Chain::Broken { at: b.to_string() },
        (true, None) => match verifier.finish() {
            Ok(summary) => Chain::Intact {
                entries: summary.entries,
            },
            Err(b) => Chain::Broken { at: b.to_string() },
        },
    };
    Ok(Log {
        records,
        damaged,
        chain,
    })
}
