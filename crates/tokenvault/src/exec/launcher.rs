//! Paths that generated launchers (rewritten MCP client configs, wrapper scripts, git hooks) put
//! in front of tokenvault, and finding programs on `PATH`.
//!
//! A launcher names the `tokenvault` that the user's `PATH` finds when it is this very binary —
//! `~/.local/bin/tokenvault`, `/opt/homebrew/bin/tokenvault`, `~/.nix-profile/bin/tokenvault` —
//! not the file that link resolves to (`…/Cellar/tokenvault/0.3.1/bin/tokenvault`, a nix store
//! path, `…/target/release/tokenvault`), so an upgrade that moves the real file keeps every launcher
//! working.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Whether `p` is a file with an execute bit.
pub fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// Every executable called `command` on `PATH`, in `PATH` order (none for a command with a `/`).
fn all_on_path(command: &str) -> impl Iterator<Item = PathBuf> + '_ {
    let path = if command.contains('/') {
        None
    } else {
        std::env::var_os("PATH")
    };
    path.into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(move |d| d.join(command))
        .filter(|p| is_executable(p))
}

/// The executable `PATH` finds for `command` (`None` for a command with a `/`, or none found).
pub fn find_on_path(command: &str) -> Option<PathBuf> {
    all_on_path(command).next()
}

/// The path launchers should run tokenvault by: the first `tokenvault` on `PATH` that is this
/// binary (a symlink kept as it is), else this binary's resolved path.
pub fn self_path() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("finding the path of the tokenvault binary")?;
    let real = exe.canonicalize().unwrap_or(exe);
    let on_path = all_on_path("tokenvault")
        .filter(|p| p.is_absolute())
        .find(|p| p.canonicalize().is_ok_and(|c| c == real));
    Ok(on_path.unwrap_or(real))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_with_a_slash_are_not_searched() {
        assert_eq!(find_on_path("./sh"), None);
        assert!(find_on_path("sh").is_some_and(|p| p.ends_with("sh")));
    }
}
