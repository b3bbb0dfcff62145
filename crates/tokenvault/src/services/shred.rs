//! Removing plaintext without leaving it on the disk: a file that held values is overwritten with
//! zeros (and synced) before it is unlinked, and a file rewritten without its values has its old
//! inode overwritten the same way once the new bytes are in place. No backup is kept: a backup
//! would be one more plaintext copy. Shared by `import --shred` and `scan --home --fix`; nothing
//! here prints.

use crate::error::hinted;
use anyhow::{Context, Result};
use std::io::{Read, Seek, Write};
use std::path::Path;
use tokenvault_store::fsutil;

/// Opens `path` for reading and writing without following a symlink, and checks that it still
/// holds `expected` (what was parsed and imported).
pub fn open_unchanged(path: &Path, expected: &[u8]) -> Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, libc::O_NOFOLLOW);
    let mut file = opts.open(path).with_context(|| {
        format!(
            "opening {} to shred or rewrite it (a symlink there is refused); it is unchanged",
            path.display()
        )
    })?;
    let mut now = Vec::new();
    file.read_to_end(&mut now)
        .with_context(|| format!("reading {}", path.display()))?;
    if now != expected {
        return Err(hinted(
            format!(
                "{} changed since it was read, so it was left alone",
                path.display()
            ),
            "run the import again",
        ));
    }
    Ok(file)
}

/// Overwrites the whole of `file` with zeros and syncs it.
pub fn zero_fill(file: &mut std::fs::File, path: &Path) -> Result<()> {
    let len = file.metadata()?.len();
    file.rewind()?;
    let zeros = [0u8; 8192];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        file.write_all(&zeros[..n])
            .with_context(|| format!("overwriting {}", path.display()))?;
        left -= n as u64;
    }
    file.sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    Ok(())
}

pub fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// Overwrites `path` (which must still hold `expected`) with zeros of the same length, syncs it,
/// then deletes it.
pub fn shred_file(path: &Path, expected: &[u8]) -> Result<()> {
    let mut file = open_unchanged(path, expected)?;
    zero_fill(&mut file, path)?;
    drop(file);
    std::fs::remove_file(path).with_context(|| {
        format!(
            "{} was overwritten with zeros but could not be deleted",
            path.display()
        )
    })?;
    sync_parent(path);
    Ok(())
}

/// Replaces `path` (which must still hold `old`) by `new` atomically, keeping its mode, then
/// overwrites the old bytes with zeros through a descriptor that still reaches the old inode: the
/// plaintext that was removed is not left in a free block. A symlink at `path` is refused.
pub fn replace_shredding(path: &Path, old: &[u8], new: &[u8]) -> Result<()> {
    let mut file = open_unchanged(path, old)?;
    let meta = file.metadata()?;
    fsutil::atomic_write_with_permissions(path, new, meta.permissions())?;
    zero_fill(&mut file, path)?;
    Ok(())
}
