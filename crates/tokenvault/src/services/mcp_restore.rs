//! Putting back a client config as it was before the latest `mcp secure` or `mcp add`, without
//! its secrets (they stay in the vault): shared by `mcp restore` (which can also write the values
//! back, `--with-secrets`) and the web app's Restore.

use crate::audit;
use crate::context::{now_rfc3339, Ctx};
use crate::error::hinted;
use crate::mcp::files::{self as mcp_files, display_path, self_path, Found};
use anyhow::{Context, Result};
use std::path::PathBuf;
use tokenvault_core::mcp::{detect, secure, server, ClientId, Document, Scope};
use tokenvault_core::{Reference, Secret};

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
    pub client: ClientId,
    /// The config as shown to people (`~/.cursor/mcp.json`).
    pub path: String,
    pub full_path: PathBuf,
    /// The backup it was restored from.
    pub from: PathBuf,
    /// `false` when the file already was as the restore would leave it.
    pub changed: bool,
    /// When the config is a symbolic link: the file that was edited.
    pub through_link: Option<PathBuf>,
    /// The references the backup's markers named: back in the file as values (`with_secrets`),
    /// else staying in the vault.
    pub references: Vec<String>,
    /// How many servers keep getting their secrets through tokenvault.
    pub kept_servers: usize,
}

/// Restores `client`'s newest backup without secrets; `None` when there is none.
pub fn restore_without_secrets(ctx: &mut Ctx, client: ClientId) -> Result<Option<Restored>> {
    Ok(restore(ctx, Some(client), false)?.into_iter().next())
}

/// Puts back the newest backup of each config (of `only`, or of every client), taken before a
/// change of ours. Without `with_secrets` no secret returns to a file: each marker becomes its
/// reference and its server launches through tokenvault (`keep_secured`); with it the vault's
/// values go back and the file is byte for byte what it was. The file as it is now is backed up
/// first. Nothing is printed.
pub fn restore(ctx: &mut Ctx, only: Option<ClientId>, with_secrets: bool) -> Result<Vec<Restored>> {
    let home = ctx.settings.paths.home.clone();
    // The newest backup of each file, taken before a change of ours.
    let mut latest: Vec<(mcp_files::BackupMeta, PathBuf)> = Vec::new();
    for (meta, file) in mcp_files::backups(&home)? {
        if meta.before == "restore" {
            continue;
        }
        let Ok(client) = ClientId::parse(&meta.client) else {
            continue;
        };
        if only.is_some_and(|o| o != client) || latest.iter().any(|(m, _)| m.path == meta.path) {
            continue;
        }
        latest.push((meta, file));
    }
    let now = now_rfc3339();
    let mut done = Vec::new();
    let mut released: Vec<String> = Vec::new();
    for (meta, file) in latest {
        let client = ClientId::parse(&meta.client)?;
        let backup = std::fs::read_to_string(&file)
            .with_context(|| format!("reading the backup {}", file.display()))?;
        let refs = secure::backup_references(&backup);
        let values = if with_secrets && !refs.is_empty() {
            values_of(ctx, &refs, &meta.path)?
        } else {
            Vec::new()
        };
        let lookup = |r: &Reference| values.iter().find(|(x, _)| x == r).map(|(_, v)| v.clone());
        let mut restored = secure::restore_text(&backup, &lookup);
        // Refuse to write what the client could not read.
        let mut doc = Document::parse(client.format(), &restored).map_err(|e| {
            hinted(
                format!("the backup {} does not parse: {e}", file.display()),
                "nothing was changed",
            )
        })?;
        let mut oauth_files = Vec::new();
        if with_secrets {
            oauth_files = mcp_remote_back(ctx, &doc, client)?;
        }
        let mut kept = 0;
        if !with_secrets && !refs.is_empty() {
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
        let mut through_link = None;
        let changed = match current {
            Some(text) if text == restored => false,
            Some(text) => {
                let written =
                    mcp_files::rewrite(&home, &found, &text, &restored, &text, "restore", &now)?;
                through_link = written.through_link(&found).map(|p| p.to_owned());
                true
            }
            None => {
                tokenvault_store::fsutil::atomic_write(&meta.path, restored.as_bytes())?;
                true
            }
        };
        for (files, login) in &oauth_files {
            crate::services::mcp_oauth::export_mcp_remote(files, login)?;
            released.push(format!(
                "tv://{}{}",
                crate::services::mcp_oauth::ITEM_PREFIX,
                login.name
            ));
        }
        released.extend(values.iter().map(|(r, _)| r.to_string()));
        done.push(Restored {
            client,
            path: display_path(&found),
            full_path: meta.path.clone(),
            from: file,
            changed,
            through_link,
            references: refs.iter().map(ToString::to_string).collect(),
            kept_servers: kept,
        });
    }
    if !released.is_empty() || done.iter().any(|r| r.changed) {
        audit::record(ctx, "mcp-restore", None, &released, "ok");
    }
    Ok(done)
}

/// The vault's values of `refs`, for a restore with secrets into `path`.
/// The `mcp-remote` servers of a restored config whose OAuth login `mcp secure` imported (same
/// URL): where their files go back and the login to write there (`--with-secrets`).
fn mcp_remote_back(
    ctx: &mut Ctx,
    doc: &Document,
    client: ClientId,
) -> Result<
    Vec<(
        crate::services::mcp_oauth::McpRemoteFiles,
        crate::services::mcp_oauth::Login,
    )>,
> {
    use crate::services::mcp_oauth;
    let mut wanted = Vec::new();
    for e in doc.entries(client)? {
        if let server::Transport::Stdio(st) = server::transport(client, &e.value) {
            if let Some(url) = tokenvault_core::oauth::mcp_remote_url(&st.command, &st.args) {
                wanted.push((
                    mcp_oauth::login_name_for_server(&e.name),
                    url,
                    st.args.clone(),
                ));
            }
        }
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let home = mcp_files::machine()?.home;
    let vault = ctx.open_vault()?;
    let mut out = Vec::new();
    for (name, url, args) in wanted {
        if let Some(login) = mcp_oauth::load(&vault, &name)? {
            if login.url == url {
                out.push((mcp_oauth::mcp_remote_target(&home, &args, &url), login));
            }
        }
    }
    Ok(out)
}

fn values_of(
    ctx: &mut Ctx,
    refs: &[Reference],
    path: &std::path::Path,
) -> Result<Vec<(Reference, Secret)>> {
    let vault = ctx.open_vault()?;
    let index = vault.load_index()?;
    let mut out = Vec::new();
    for r in refs {
        let target = vault.target(&index, r, None)?;
        let value = vault.store().get(&target.key)?.ok_or_else(|| {
            hinted(
                format!("{r} is no longer in the vault, so the backup of {} cannot be restored with its secrets", path.display()),
                "restore without --with-secrets (the references stay in the file), or store the value again with `tokenvault set`",
            )
        })?;
        out.push((r.clone(), value));
    }
    Ok(out)
}
