//! The side effects of `tokenvault mcp`: finding client configs on this machine, reading them,
//! and rewriting them safely. The text work is `tokenvault_core::mcp`'s.
//!
//! A rewrite: refuses a read-only file; saves a backup (the original with each secret replaced
//! by a marker naming its reference, 0600 in `<home>/mcp-backups`) before touching anything;
//! re-reads the file under tokenvault's lock and aborts if the client changed it since we read it;
//! replaces it atomically (temp file in the same directory, fsync, rename) and keeps its
//! permissions. A config that is a symbolic link (dotfile managers such as stow, chezmoi or
//! home-manager keep them so) is edited in its target, which must be a regular file the user owns:
//! the link stays a link, and the temp file is made beside the target.

use crate::envvars;
use crate::error::hinted;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tokenvault_core::mcp::{
    self, detect, server, ClientId, Document, Finding, Format, Location, Machine, Os, Probe, Scope,
    Secured, Transport, Unresolved,
};
use tokenvault_core::Catalogue;
use tokenvault_store::fsutil;

/// A client config that exists on this machine.
#[derive(Debug, Clone)]
pub struct Found {
    pub client: ClientId,
    pub scope: Scope,
    pub path: PathBuf,
}

/// This machine as discovery sees it: home, platform directories, `CODEX_HOME`, and the current
/// directory as the project.
pub fn machine() -> Result<Machine> {
    let os = if cfg!(target_os = "macos") {
        Os::MacOs
    } else if cfg!(windows) {
        Os::Windows
    } else {
        Os::Linux
    };
    let home = envvars::get(envvars::HOME)
        .or_else(|| envvars::get(envvars::USERPROFILE))
        .map(PathBuf::from)
        .context("cannot tell where your home directory is: set HOME")?;
    let path = |name: &str| envvars::get(name).map(PathBuf::from);
    Ok(Machine {
        os,
        home,
        xdg_config_home: path(envvars::XDG_CONFIG_HOME),
        appdata: path(envvars::APPDATA),
        local_appdata: path(envvars::LOCALAPPDATA),
        codex_home: path(envvars::CODEX_HOME),
        project: std::env::current_dir().ok(),
    })
}

/// Every client config that exists, in the table's order (a project file that is also the user
/// file, as when run from the home directory, is listed once).
pub fn discover(machine: &Machine, only: Option<ClientId>) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    for c in mcp::candidates(machine) {
        if only.is_some_and(|o| o != c.client) {
            continue;
        }
        let paths = match c.probe {
            Probe::File(p) => vec![p],
            Probe::Prefixed {
                dir,
                prefix,
                suffix,
            } => {
                let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                    .map(|e| e.path().join(&suffix))
                    .collect();
                v.sort();
                v
            }
        };
        for path in paths {
            let exists = std::fs::symlink_metadata(&path).is_ok();
            if exists && !out.iter().any(|f| f.path == path) {
                out.push(Found {
                    client: c.client,
                    scope: c.scope,
                    path,
                });
            }
        }
    }
    out
}

/// `~/x` for a path under the home directory, for shorter lines.
pub fn tilde(path: &Path) -> String {
    let shown = path.display().to_string();
    match envvars::get(envvars::HOME) {
        Some(home) if !home.is_empty() && shown.starts_with(&format!("{home}/")) => {
            format!("~{}", &shown[home.len()..])
        }
        _ => shown,
    }
}

/// A config read into memory.
pub struct Loaded {
    pub found: Found,
    pub text: String,
    pub doc: Document,
}

/// Reads and parses a config; errors name the file and never quote it.
pub fn load(found: &Found) -> Result<Loaded> {
    let path = &found.path;
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        hinted(
            format!("{} is not UTF-8 text", path.display()),
            "tokenvault reads client configs as the clients write them: UTF-8 JSON or TOML",
        )
    })?;
    let doc = Document::parse(found.client.format(), &text).map_err(|e| {
        hinted(
            format!("{} ({}): {e}", path.display(), found.client.name()),
            "fix the file (the client cannot read it either), then run the command again; nothing was changed",
        )
    })?;
    Ok(Loaded {
        found: found.clone(),
        text,
        doc,
    })
}

/// One server of a config, as `mcp list`, `mcp secure` and `doctor` see it.
pub struct Inspected {
    pub location: Location,
    pub name: String,
    pub transport: Transport,
    pub secured: Option<Secured>,
    /// Plaintext secrets.
    pub findings: Vec<Finding>,
    /// `tv://` references nothing resolves: the server gets the literal text.
    pub unresolved: Vec<Unresolved>,
}

/// The servers of a loaded config with their plaintext secrets and unresolved references.
pub fn inspect(loaded: &Loaded, catalogue: &Catalogue) -> Result<Vec<Inspected>> {
    let client = loaded.found.client;
    let entries = loaded.doc.entries(client).map_err(|e| {
        hinted(
            format!("{} ({}): {e}", loaded.found.path.display(), client.name()),
            "nothing was changed",
        )
    })?;
    Ok(entries
        .into_iter()
        .map(|e| {
            let transport = server::transport(client, &e.value);
            let findings = detect::find(&transport, catalogue);
            let unresolved = detect::find_unresolved(&transport);
            Inspected {
                secured: server::secured(&transport),
                location: e.location,
                name: e.name,
                transport,
                findings,
                unresolved,
            }
        })
        .collect())
}

/// A finding's masked value.
pub fn masked(catalogue: &Catalogue, f: &Finding) -> String {
    let (provider, field) = match &f.provider {
        Some((p, fl)) => (Some(p.as_str()), fl.as_str()),
        None => (None, "token"),
    };
    crate::vault::mask_for(catalogue, provider, field, f.value.expose_secret())
}

/// What a backup's sidecar records.
#[derive(Debug, Serialize, Deserialize)]
pub struct BackupMeta {
    pub client: String,
    pub path: PathBuf,
    pub created: String,
    /// `secure`, `add` or `restore`: the command that was about to rewrite the file.
    pub before: String,
    /// The backup's text file, beside this sidecar.
    pub file: String,
}

pub fn backup_dir(home: &Path) -> PathBuf {
    home.join("mcp-backups")
}

fn lock_path(home: &Path) -> PathBuf {
    home.join("mcp.lock")
}

/// The file a rewrite of `path` replaces: `path` itself, or, when it is a symbolic link, the
/// file it points to (followed to the end), so the link stays a link. Refuses a file without write
/// permission, and a link whose target is missing, is not a regular file, or belongs to another
/// user (a managed store such as home-manager's `/nix/store`, or someone else's file).
pub fn write_target(path: &Path) -> Result<PathBuf> {
    let meta =
        std::fs::symlink_metadata(path).with_context(|| format!("reading {}", path.display()))?;
    let target = if meta.file_type().is_symlink() {
        let target = std::fs::canonicalize(path).map_err(|e| {
            hinted(
                format!(
                    "{} is a symbolic link whose target cannot be followed: {e}",
                    path.display()
                ),
                "nothing was changed; point the link at the real file (or replace it with the file)",
            )
        })?;
        let tmeta =
            std::fs::metadata(&target).with_context(|| format!("reading {}", target.display()))?;
        if !tmeta.is_file() {
            return Err(hinted(
                format!(
                    "{} is a symbolic link to {}, which is not a regular file",
                    path.display(),
                    target.display()
                ),
                "nothing was changed; point the link at the config file itself",
            ));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if tmeta.uid() != crate::exec::hardening::effective_uid() {
                return Err(hinted(
                    format!(
                        "{} is a symbolic link to {}, which belongs to another user (uid {}); tokenvault edits only files you own",
                        path.display(),
                        target.display(),
                        tmeta.uid()
                    ),
                    "nothing was changed; if a tool manages that file (home-manager, a system package), make the change in its source with what `--dry-run` shows",
                ));
            }
        }
        target
    } else {
        path.to_owned()
    };
    if std::fs::metadata(&target)
        .with_context(|| format!("reading {}", target.display()))?
        .permissions()
        .readonly()
    {
        let what = if target == path {
            format!("{} is read-only", path.display())
        } else {
            format!(
                "{} is a symbolic link to {}, which is read-only",
                path.display(),
                target.display()
            )
        };
        return Err(hinted(
            what,
            "nothing was changed; make it writable (`chmod u+w FILE`) if tokenvault should rewrite it; if a tool manages it, change its source instead",
        ));
    }
    Ok(target)
}

/// Refuses what tokenvault must not rewrite (see [`write_target`]).
pub fn check_rewritable(path: &Path) -> Result<()> {
    write_target(path).map(|_| ())
}

/// What a rewrite did.
#[derive(Debug)]
pub struct Rewritten {
    /// The backup taken first.
    pub backup: PathBuf,
    /// The file replaced: the config, or the target of the symbolic link it is.
    pub edited: PathBuf,
}

impl Rewritten {
    /// For messages: the link's target when the config is a link.
    pub fn through_link(&self, found: &Found) -> Option<&Path> {
        (self.edited != found.path).then_some(self.edited.as_path())
    }
}

/// Replaces `found`'s file (the target, when it is a symbolic link), read as `original`, with
/// `new_text`, after saving `backup_text` as its backup.
pub fn rewrite(
    home: &Path,
    found: &Found,
    original: &str,
    new_text: &str,
    backup_text: &str,
    before: &str,
    now: &str,
) -> Result<Rewritten> {
    let path = &found.path;
    let target = write_target(path)?;
    fsutil::ensure_private_dir(home)?;
    let _lock = fsutil::FileLock::exclusive(&lock_path(home))?;
    let backup = save_backup(home, found, backup_text, before, now).map_err(|e| {
        hinted(
            format!("cannot write the backup of {}: {e:#}", path.display()),
            format!(
                "nothing was changed; check that {} is writable",
                backup_dir(home).display()
            ),
        )
    })?;
    let current =
        std::fs::read(&target).with_context(|| format!("reading {}", target.display()))?;
    if current != original.as_bytes() {
        return Err(hinted(
            format!(
                "{} changed while tokenvault was working on it (is {} running and saving it?)",
                path.display(),
                found.client.name()
            ),
            "nothing was written; run the command again",
        ));
    }
    write_keeping_mode(&target, new_text.as_bytes())?;
    Ok(Rewritten {
        backup,
        edited: target,
    })
}

/// Atomic replace that keeps the file's permission bits (the new file has them before it takes
/// the name, so a kill cannot leave it 0600). `path` must not be a symbolic link (the link would
/// be replaced): pass [`write_target`]'s answer.
pub fn write_keeping_mode(path: &Path, bytes: &[u8]) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) => fsutil::atomic_write_with_permissions(path, bytes, meta.permissions())?,
        Err(_) => fsutil::atomic_write(path, bytes)?,
    }
    Ok(())
}

fn save_backup(home: &Path, found: &Found, text: &str, before: &str, now: &str) -> Result<PathBuf> {
    let dir = backup_dir(home);
    fsutil::ensure_private_dir(&dir)?;
    let ext = match found.client.format() {
        Format::Toml => "toml",
        _ => "json",
    };
    let stamp: String = now
        .chars()
        .map(|c| if c == ':' { '-' } else { c })
        .collect();
    let tag = path_tag(&found.path);
    let mut n = 0;
    let (base, file) = loop {
        let base = if n == 0 {
            format!("{stamp}-{}-{tag}", found.client.id())
        } else {
            format!("{stamp}-{}-{tag}-{n}", found.client.id())
        };
        let file = dir.join(format!("{base}.{ext}"));
        if !file.exists() {
            break (base, file);
        }
        n += 1;
    };
    fsutil::atomic_write(&file, text.as_bytes())?;
    let meta = BackupMeta {
        client: found.client.id().to_owned(),
        path: found.path.clone(),
        created: now.to_owned(),
        before: before.to_owned(),
        file: file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    fsutil::atomic_write(
        &dir.join(format!("{base}.meta.json")),
        serde_json::to_string_pretty(&meta)?.as_bytes(),
    )?;
    Ok(file)
}

/// A short stable tag for a path, so backups of two files of one client do not mix.
fn path_tag(path: &Path) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(path.to_string_lossy().as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// Every backup taken before `secure` or `add`, newest first.
pub fn backups(home: &Path) -> Result<Vec<(BackupMeta, PathBuf)>> {
    let dir = backup_dir(home);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".meta.json") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let Ok(meta) = serde_json::from_str::<BackupMeta>(&text) else {
            continue;
        };
        let file = dir.join(&meta.file);
        out.push((meta, file));
    }
    out.sort_by(|a, b| b.0.created.cmp(&a.0.created).then(b.1.cmp(&a.1)));
    Ok(out)
}

/// A unified diff of two texts (for `--dry-run`), with file names as headers.
pub fn unified_diff(old: &str, new: &str, name: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{name} (now)"), &format!("{name} (secured)"))
        .to_string()
}

/// `--client NAME` as a client, with the accepted names in the error.
pub fn client_filter(name: Option<&str>) -> anyhow::Result<Option<tokenvault_core::mcp::ClientId>> {
    name.map(|n| tokenvault_core::mcp::ClientId::parse(n).map_err(anyhow::Error::from))
        .transpose()
}

/// `~/x` for paths under the home directory, for shorter lines.
pub fn display_path(found: &Found) -> String {
    tilde(&found.path)
}

/// The absolute path of this tokenvault binary, which rewritten configs launch.
pub fn self_path() -> anyhow::Result<String> {
    let exe = crate::exec::launcher::self_path()?;
    exe.to_str().map(str::to_owned).ok_or_else(|| {
        anyhow::anyhow!(
            "the path of the tokenvault binary ({}) is not UTF-8; client configs cannot hold it",
            exe.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(text: &str) -> (tempfile::TempDir, Loaded) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mcp.json");
        std::fs::write(&path, text).unwrap();
        let found = Found {
            client: ClientId::Cursor,
            scope: Scope::User,
            path,
        };
        let loaded = load(&found).unwrap();
        (dir, loaded)
    }

    #[test]
    fn a_file_changed_after_reading_is_not_overwritten() {
        let (dir, loaded) = setup("{\"mcpServers\": {}}\n");
        // The client saves its own change between our read and our write.
        std::fs::write(&loaded.found.path, "{\"mcpServers\": {\"new\": {}}}\n").unwrap();
        let home = dir.path().join("home");
        let e = rewrite(
            &home,
            &loaded.found,
            &loaded.text,
            "{}\n",
            "{}\n",
            "secure",
            "2026-01-01T00:00:00Z",
        )
        .unwrap_err();
        assert!(
            format!("{e:#}").contains("changed while tokenvault was working on it"),
            "{e:#}"
        );
        assert_eq!(
            std::fs::read_to_string(&loaded.found.path).unwrap(),
            "{\"mcpServers\": {\"new\": {}}}\n"
        );
    }

    #[test]
    fn backups_are_private_listed_newest_first_and_never_collide() {
        let (dir, loaded) = setup("{}\n");
        let home = dir.path().join("home");
        let now = "2026-01-01T00:00:00Z";
        let a = rewrite(
            &home,
            &loaded.found,
            &loaded.text,
            "{\"a\": 1}\n",
            "{}\n",
            "secure",
            now,
        )
        .unwrap()
        .backup;
        let loaded = load(&loaded.found).unwrap();
        let b = rewrite(
            &home,
            &loaded.found,
            &loaded.text,
            "{\"b\": 1}\n",
            "{\"a\": 1}\n",
            "add",
            "2026-01-01T00:00:01Z",
        )
        .unwrap()
        .backup;
        assert_ne!(a, b);
        let list = backups(&home).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].0.before, "add");
        assert_eq!(std::fs::read_to_string(&list[1].1).unwrap(), "{}\n");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&a).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Same second, same file: a second name.
        let loaded = load(&loaded.found).unwrap();
        let c = rewrite(
            &home,
            &loaded.found,
            &loaded.text,
            "{}\n",
            "x",
            "secure",
            "2026-01-01T00:00:01Z",
        )
        .unwrap()
        .backup;
        assert_ne!(c, b);
    }
}
