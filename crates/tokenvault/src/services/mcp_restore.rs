//! Putting back a client config as it was before the latest `mcp secure` or `mcp add`, without
//! its secrets (they stay in the vault): shared by `mcp restore` (which can also write the values
//! back, `--with-secrets`) and the web app's Restore.

use crate::audit;
use crate::context::{now_rfc3339, Ctx};
use crate::error::hinted;
use crate::mcp::files::{self as mcp_files, display_path, self_path, Found};
use anyhow::{Context, Result};
use tokenvault_core::mcp::{detect, secure, server, ClientId, Document, Scope};
use tokenvault_core::Reference;

/// Launches every server of `doc` whose restored text holds one of `refs` (the references the
/// backup's markers named, written by tokenvault itself) through tokenvault, so each reference
/// resolves instead of reaching the server as literal text. Returns how many servers changed.
pub fn keep_secured(
    doc: &mut Document,
    client: ClientId,
    refs: &[Reference],
    tokenvault: &str,
) -> Result<usize> {
    let mut changed = 0;
    for e in doc.entries(client)? {
        let transport = server::transport(client, &e.value);
        let ours: Vec<_> = detect::find_unresolved(&transport)
            .into_iter()
            .filter(|u| u.reference.as_ref().is_some_and(|r| refs.contains(r)))
            .collect();
        if ours.is_empty() {
            continue;
        }
        let (moves, _) = secure::resolving_moves(client, &e.name, &transport, &ours, true);
        let rw = secure::rewrite(client, &transport, &moves, tokenvault);
        if !rw.ops.is_empty() {
            doc.edit_server(&e.location, &e.name, &rw.ops)?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// The newest backup of a client's config taken before a change of ours: (time, backup file).
pub fn latest_backup(ctx: &Ctx, client: ClientId) -> Result<Option<(String, std::path::PathBuf)>> {
    Ok(mcp_files::backups(&ctx.settings.paths.home)?
        .into_iter()
        .find(|(meta, _)| meta.before != "restore" && meta.client == client.id())
        .map(|(meta, file)| (meta.created, file)))
}

/// What a restore did to one config.
pub struct Restored {
    pub path: String,
    /// `false` when the file already was as the restore would leave it.
    pub changed: bool,
    /// References that stay in the vault, and how many servers keep getting them through tokenvault.
    pub references: Vec<String>,
    pub kept_servers: usize,
}

/// Restores `client`'s newest backup without secrets; `None` when there is none.
pub fn restore_without_secrets(ctx: &Ctx, client: ClientId) -> Result<Option<Restored>> {
    let home = ctx.settings.paths.home.clone();
    let Some((meta, file)) = mcp_files::backups(&home)?
        .into_iter()
        .find(|(meta, _)| meta.before != "restore" && meta.client == client.id())
    else {
        return Ok(None);
    };
    let backup = std::fs::read_to_string(&file)
        .with_context(|| format!("reading the backup {}", file.display()))?;
    let refs = secure::backup_references(&backup);
    let mut restored = secure::restore_text(&backup, &|_| None);
    let mut doc = Document::parse(client.format(), &restored).map_err(|e| {
        hinted(
            format!("the backup {} does not parse: {e}", file.display()),
            "nothing was changed",
        )
    })?;
    let mut kept = 0;
    if !refs.is_empty() {
        kept = keep_secured(&mut doc, client, &refs, &self_path()?)?;
        restored = doc.to_text();
    }
    let found = Found {
        client,
        scope: Scope::User,
        path: meta.path.clone(),
    };
    let current = match std::fs::read_to_string(&meta.path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", meta.path.display())),
    };
    let changed = match current {
        Some(text) if text == restored => false,
        Some(text) => {
            mcp_files::rewrite(
                &home,
                &found,
                &text,
                &restored,
                &text,
                "restore",
                &now_rfc3339(),
            )?;
            true
        }
        None => {
            tokenvault_store::fsutil::atomic_write(&meta.path, restored.as_bytes())?;
            true
        }
    };
    if changed {
        audit::record(ctx, "mcp-restore", None, &[], "ok");
    }
    Ok(Some(Restored {
        path: display_path(&found),
        changed,
        references: refs.iter().map(ToString::to_string).collect(),
        kept_servers: kept,
    }))
}
