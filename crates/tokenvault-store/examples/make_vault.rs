//! Builds a file vault with many items in one write, plus its index, for benchmarks
//! (`scripts/bench`): creating 10,000 items with 10,000 `tokenvault set` processes would measure
//! the set path, not `list` and `get`.
//!
//! Usage: `make_vault DIR COUNT` with the passphrase in `TOKENVAULT_PASSPHRASE`.

use std::path::PathBuf;
use std::sync::Arc;
use tokenvault_core::{mask, Secret};
use tokenvault_store::file::FileStore;
use tokenvault_store::index::IndexFile;
use tokenvault_store::keycache::NoCache;
use tokenvault_store::{BackendKind, Change, FixedPassphrase, Key, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: make_vault DIR COUNT")?);
    let count: usize = args.next().ok_or("usage: make_vault DIR COUNT")?.parse()?;
    let pass = std::env::var("TOKENVAULT_PASSPHRASE").map_err(|_| "set TOKENVAULT_PASSPHRASE")?;
    tokenvault_store::fsutil::ensure_private_dir(&dir)?;
    let store = FileStore::new(
        &dir,
        Arc::new(FixedPassphrase(Some(Secret::new(pass)))),
        Arc::new(NoCache),
    );
    let token = |i: usize| format!("hf_{:034}", i * 7919 % 1_000_000_007);
    let changes: Vec<Change> = (0..count)
        .map(|i| {
            let key = Key::parse(&format!("item-{i}/token")).expect("valid name");
            Change::Set(key, Secret::new(token(i)))
        })
        .collect();
    store.apply(&changes)?;
    let now = "2026-01-01T00:00:00Z";
    IndexFile::new(&dir).update(|idx| {
        for i in 0..count {
            idx.record_set(
                BackendKind::File,
                Some("huggingface"),
                &format!("item-{i}"),
                "token",
                mask(&token(i), Some("hf_")),
                false,
                now,
            );
        }
    })?;
    eprintln!("wrote {count} items to {}", store.vault_path().display());
    Ok(())
}
