//! The store's errors. Each says what failed, why, and what to do next; none carries a value.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No key is available: no passphrase could be had, or the OS keyring is locked.
    #[error("{what} is locked")]
    Locked { what: String, hint: String },

    #[error("wrong passphrase for vault {}", path.display())]
    WrongPassphrase { path: PathBuf },

    #[error("the passphrase is empty")]
    EmptyPassphrase,

    /// A new passphrase below the minimum strength.
    #[error("the new passphrase is too weak: {why}; nothing was written")]
    WeakPassphrase { why: String },

    /// The file fails to decrypt or authenticate, is truncated, or is not a vault at all.
    #[error("vault {} is damaged or was modified: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },

    #[error("vault {} has format version {found}, this tokenvault reads up to version {supported}", path.display())]
    UnsupportedVersion {
        path: PathBuf,
        found: u64,
        supported: u64,
    },

    /// The vault file is an older generation than this machine has already seen: a backup copied
    /// over it, or an attacker bringing back a rotated-away token.
    #[error("vault {} was rolled back: it is generation {found}, but generation {expected} was already seen here", path.display())]
    Rollback {
        path: PathBuf,
        found: u64,
        expected: u64,
    },

    /// The vault file is gone although this machine has used it (generation `generation`).
    #[error("vault {} is missing, but this machine has used it (last seen at generation {generation})", path.display())]
    VaultMissing { path: PathBuf, generation: u64 },

    #[error("{} is accessible by other users (mode {mode:o})", path.display())]
    InsecurePermissions { path: PathBuf, mode: u32 },

    /// The backend cannot be reached at all (no D-Bus session, no keyring daemon, unsupported OS).
    #[error("{backend} backend is unavailable: {reason}")]
    Unavailable {
        backend: &'static str,
        reason: String,
        hint: String,
    },

    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The server's policy refuses the request: `capability` on `path` is missing.
    #[error("permission denied: the {backend} token's policy lacks the '{capability}' capability on {path}")]
    Denied {
        backend: &'static str,
        path: String,
        capability: String,
    },

    #[error("{backend} backend: {message}")]
    Backend {
        backend: &'static str,
        message: String,
    },
}

impl StoreError {
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// What to do next, for the `hint:` line under the error.
    pub fn hint(&self) -> Option<String> {
        match self {
            StoreError::Locked { hint, .. } | StoreError::Unavailable { hint, .. } => {
                Some(hint.clone())
            }
            StoreError::WrongPassphrase { .. } => Some(
                "check TOKENVAULT_PASSPHRASE / TOKENVAULT_PASSPHRASE_FILE, or type it again; the vault was not changed"
                    .into(),
            ),
            StoreError::EmptyPassphrase => Some("choose a non-empty passphrase".into()),
            StoreError::WeakPassphrase { .. } => Some(
                "choose a longer one; for a throwaway vault, set TOKENVAULT_ALLOW_WEAK_PASSPHRASE=1 (or pass --allow-weak to `passwd`)"
                    .into(),
            ),
            StoreError::Corrupt { path, .. } => Some(format!(
                "the file was left as it is; restore it from a backup, or inspect it with `age -d {}`",
                path.display()
            )),
            StoreError::Rollback { .. } => Some(
                "nothing was read or changed; `tokenvault backup list` shows the generations kept; if you restored this file on purpose, run the command again with --accept-rollback (or use `tokenvault backup restore N`)"
                    .into(),
            ),
            StoreError::VaultMissing { path, .. } => Some(format!(
                "restore it with `tokenvault backup list` and `tokenvault backup restore N`, or from your own backup of {}; nothing was created in its place",
                path.display()
            )),
            StoreError::UnsupportedVersion { .. } => {
                Some("upgrade tokenvault to read this vault; it was left unchanged".into())
            }
            StoreError::InsecurePermissions { path, .. } => {
                let fix = if path.is_dir() { "700" } else { "600" };
                Some(format!("run: chmod {fix} {}", path.display()))
            }
            StoreError::Denied { path, capability, .. } => Some(format!(
                "ask an administrator to grant '{capability}' on {path} (see docs/team.md); `bao token capabilities {path}` shows what your token may do; nothing was changed"
            )),
            StoreError::Io { .. } | StoreError::Backend { .. } => None,
        }
    }
}
