//! Moving plaintext secrets out of MCP client configs, shared by `mcp secure`, `import mcp`
//! and the web app. Nothing here prints: [`secure_clients`] returns a [`Report`] that each front
//! door renders (`crate::render::mcp_secure` for the command line).
//!
//! What `tokenvault mcp secure [--client C] [--server S] [--dry-run]` does: store each plaintext secret of
//! the client configs in the vault and rewrite its server to get it from there (SPEC §4).
//!
//! Item names: a token of a known provider goes to the provider's item (`huggingface`,
//! `github`, …); a value the vault already holds anywhere is reused; a name that holds another
//! value gets the server's name appended (`huggingface-work`). A secret of no known provider goes to
//! an item named after the server, its field after the variable (`brave-search/brave_api_key`).
//! Every value is read back before its server is rewritten. A second run changes nothing.
//!
//! A `tv://` reference that nothing resolves (the server would get the literal text) is fixed the
//! same way: its server launches through `tokenvault run -e VAR=tv://…` (see
//! `tokenvault_core::mcp::secure::resolving_moves` for what is left alone and why).

use crate::audit;
use crate::cli::McpSecureArgs;
use crate::context::{now_rfc3339, Ctx};
use crate::error::hinted;
use crate::mcp::files as mcp_files;
use crate::mcp::files::{client_filter, display_path, inspect, masked, self_path, Inspected};
use crate::services::mcp_oauth;
use crate::vault::Target;
use anyhow::Result;
use tokenvault_core::mcp::{secure, Finding, Place};
use tokenvault_core::{Catalogue, FieldName, ItemName, Reference, Secret};
use tokenvault_store::Key;

/// Which configs and servers to secure, and whether to only show what would change.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub client: Option<String>,
    pub server: Option<String>,
    pub dry_run: bool,
}

impl From<&McpSecureArgs> for Request {
    fn from(a: &McpSecureArgs) -> Request {
        Request {
            client: a.client.clone(),
            server: a.server.clone(),
            dry_run: a.dry_run,
        }
    }
}

/// A config that could not be read, parsed or rewritten: left as it was.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Skipped {
    /// "claude-desktop ~/.config/Claude/claude_desktop_config.json"
    pub label: String,
    pub why: String,
    pub hint: Option<String>,
}

/// One secret moved (or, in a dry run, to be moved) into the vault.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Moved {
    pub server: String,
    pub place: String,
    pub masked: String,
    pub reference: String,
    pub already_stored: bool,
}

/// What happened to one config.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub client: &'static str,
    /// The client and the file as shown to people.
    pub label: String,
    pub path: std::path::PathBuf,
    /// Servers left as they are or references that will not resolve, each said once.
    pub warnings: Vec<String>,
    /// The changes as lines for people ("  hf: env HF_TOKEN hf_…abcd → tv://huggingface/token").
    pub lines: Vec<String>,
    pub moved: Vec<Moved>,
    /// Whether the file changes (or, in a dry run, would).
    pub changed: bool,
    /// A dry run's unified diff, values masked.
    pub diff: Option<String>,
    /// The backup of the file as it was (a real run that changed it).
    pub backup: Option<std::path::PathBuf>,
    /// The file a symbolic link pointed to, when that is what was edited.
    pub edited_through_link: Option<std::path::PathBuf>,
}

/// The outcome of securing the client configs, for a front door to render.
#[derive(Debug, Clone)]
pub struct Report {
    pub dry_run: bool,
    /// No client config was found at all.
    pub nothing_found: bool,
    pub skipped: Vec<Skipped>,
    /// `--server NAME` named no server in the configs that could be read.
    pub no_such_server: Option<String>,
    pub files: Vec<FileReport>,
    /// The backend the secrets went to (a real run that opened the vault).
    pub backend: Option<String>,
}

impl Report {
    pub fn changed_files(&self) -> usize {
        self.files.iter().filter(|f| f.changed).count()
    }

    /// Something was left as it was and said so.
    pub fn left_any(&self) -> bool {
        self.files.iter().any(|f| !f.warnings.is_empty())
    }
}

/// Stores each plaintext secret of the client configs in the vault and rewrites its server to
/// get it from there; a dry run opens no vault and writes nothing.
pub fn secure_clients(ctx: &mut Ctx, args: &Request) -> Result<Report> {
    let only = client_filter(args.client.as_deref())?;
    let machine = mcp_files::machine()?;
    let found = mcp_files::discover(&machine, only);
    let catalogue = ctx.settings.catalogue.clone();
    let home = ctx.settings.paths.home.clone();
    let mut report = Report {
        dry_run: args.dry_run,
        nothing_found: found.is_empty(),
        skipped: Vec::new(),
        no_such_server: None,
        files: Vec::new(),
        backend: None,
    };
    if found.is_empty() {
        return Ok(report);
    }
    let tokenvault = self_path()?;
    let now = now_rfc3339();

    // Read and inspect everything first: a file that cannot be parsed or rewritten is skipped,
    // named with the reason, before the vault is touched; the others go ahead.
    let mut work = Vec::new();
    for f in &found {
        match prepare(f, args, &catalogue, &machine.home) {
            Ok(w) => work.push(w),
            Err(e) => {
                let path = f.path.display().to_string();
                let message = crate::error::message_of(&e);
                // The line names the file already: drop it from the error's own wording.
                let why = [
                    format!("{path} ({}): ", f.client.name()),
                    format!("{path}: "),
                    format!("{path} "),
                ]
                .iter()
                .find_map(|p| message.strip_prefix(p.as_str()))
                .unwrap_or(&message)
                .to_owned();
                report.skipped.push(Skipped {
                    label: format!("{} {}", f.client.id(), display_path(f)),
                    why,
                    hint: crate::error::hint_of(&e)
                        .map(|h| h.replace("nothing was changed", "that file was not changed")),
                });
            }
        }
    }
    if let Some(name) = &args.server {
        if work.iter().all(|(_, s)| s.is_empty()) {
            report.no_such_server = Some(name.clone());
            return Ok(report);
        }
    }
    let anything = work.iter().flat_map(|(_, s)| s).any(|s| {
        s.findings.iter().any(|f| f.place.movable()) || mcp_remote_of(s, &machine.home).is_some()
    });

    let stored_refs: Vec<String>;
    // What the index names (no value, no unlock): for references that `secure` makes resolve.
    let index_names = tokenvault_store::index::IndexFile::new(&home)
        .load()
        .unwrap_or_default();
    let dry_held = if anything && args.dry_run {
        indexed(ctx)?
    } else {
        Vec::new()
    };
    {
        // A dry run opens no vault: it reads no value and asks for no passphrase. It names items
        // from the index alone, taking a stored field with the same masked form for the same
        // value (the real run compares the values themselves).
        let vault = if anything && !args.dry_run {
            Some(ctx.open_vault()?)
        } else {
            None
        };
        report.backend = vault.as_ref().map(|v| v.kind().as_str().to_owned());
        let held: Vec<(Key, Known)> = match &vault {
            Some(v) => v
                .held_values(&v.load_index()?)?
                .into_iter()
                .map(|(k, s)| (k, Known::Value(s)))
                .collect(),
            None => dry_held,
        };
        let mut pass = Pass {
            args,
            catalogue: &catalogue,
            home: &home,
            now: &now,
            tokenvault: &tokenvault,
            index_names: &index_names,
            vault: vault.as_ref(),
            held,
            stored_refs: Vec::new(),
            user_home: &machine.home,
        };
        for (loaded, servers) in work {
            let file = pass.secure_file(loaded, &servers)?;
            report.files.push(file);
        }
        stored_refs = pass.stored_refs;
    }
    let mut stored_refs = stored_refs;
    if !args.dry_run && !stored_refs.is_empty() {
        stored_refs.sort();
        stored_refs.dedup();
        audit::record(
            ctx,
            "mcp-secure",
            report.backend.as_deref(),
            &stored_refs,
            "ok",
        );
    }
    Ok(report)
}

/// One pass of `secure` over the configs: what it shares between files, and what it gathers.
struct Pass<'a, 'v> {
    args: &'a Request,
    catalogue: &'a Catalogue,
    home: &'a std::path::Path,
    now: &'a str,
    tokenvault: &'a str,
    index_names: &'a tokenvault_store::index::Index,
    /// The opened vault (a real run with something to store); `None` in a dry run.
    vault: Option<&'a crate::vault::Vault<'v>>,
    /// What the vault holds (or, in a dry run, what the index says it holds).
    held: Vec<(Key, Known)>,
    /// Every reference a secret went to, for the audit record.
    stored_refs: Vec<String>,
    /// The user's home (where `mcp-remote` keeps its OAuth files).
    user_home: &'a std::path::Path,
}

/// The server URL and `mcp-remote` files of an `npx mcp-remote URL` server whose tokens are on
/// disk.
fn mcp_remote_of(
    s: &Inspected,
    home: &std::path::Path,
) -> Option<(String, mcp_oauth::McpRemoteFiles)> {
    let tokenvault_core::mcp::Transport::Stdio(st) = &s.transport else {
        return None;
    };
    let url = tokenvault_core::oauth::mcp_remote_url(&st.command, &st.args)?;
    let files = mcp_oauth::mcp_remote_files(home, &url)?;
    Some((url, files))
}

impl Pass<'_, '_> {
    /// Stores the plaintext secrets of one config and rewrites its servers to get them from the
    /// vault (a dry run only works out the change and its masked diff).
    fn secure_file(
        &mut self,
        mut loaded: mcp_files::Loaded,
        servers: &[Inspected],
    ) -> Result<FileReport> {
        let label = format!(
            "{} {}",
            loaded.found.client.id(),
            display_path(&loaded.found)
        );
        let mut file = FileReport {
            client: loaded.found.client.id(),
            label: label.clone(),
            path: loaded.found.path.clone(),
            warnings: Vec::new(),
            lines: Vec::new(),
            moved: Vec::new(),
            changed: false,
            diff: None,
            backup: None,
            edited_through_link: None,
        };
        let mut stored: Vec<(Secret, Reference)> = Vec::new();
        // mcp-remote's plaintext files, removed once the file is rewritten.
        let mut remove_after: Vec<std::path::PathBuf> = Vec::new();
        for s in servers {
            if self.mcp_remote(&label, s, &mut loaded, &mut file, &mut remove_after)? {
                continue;
            }
            let mut with_refs: Vec<(Finding, Option<Reference>)> = Vec::new();
            for f in &s.findings {
                if !f.place.movable() {
                    with_refs.push((f.clone(), None));
                    continue;
                }
                let (key, provider, new) = assign(&mut self.held, f, &s.name, self.catalogue)?;
                let reference = Reference::parse(&format!("tv://{}/{}", key.item, key.field))?;
                if new && !self.args.dry_run {
                    if let Some(v) = self.vault {
                        let target = Target {
                            key: key.clone(),
                            provider,
                        };
                        v.write_verified(&target, &f.value, self.now)?;
                    }
                }
                file.lines.push(format!(
                    "  {}: {} {} → {reference}{}",
                    s.name,
                    f.place.describe(),
                    masked(self.catalogue, f),
                    match (new, self.args.dry_run) {
                        (true, _) => "",
                        (false, false) => " (already in the vault)",
                        (false, true) => " (already in the vault, judging by its masked form)",
                    }
                ));
                file.moved.push(Moved {
                    server: s.name.clone(),
                    place: f.place.describe(),
                    masked: masked(self.catalogue, f),
                    reference: reference.to_string(),
                    already_stored: !new,
                });
                self.stored_refs.push(reference.to_string());
                stored.push((f.value.clone(), reference.clone()));
                with_refs.push((f.clone(), Some(reference)));
            }
            let (resolving, notes) = secure::resolving_moves(
                loaded.found.client,
                &s.name,
                &s.transport,
                &s.unresolved,
                false,
            );
            for note in &notes {
                file.warnings
                    .push(format!("{label}: server '{}': {note}", s.name));
            }
            for (f, r) in &resolving {
                if let Some(r) = r {
                    file.lines.push(format!(
                        "  {}: {} {r} was not resolved → resolved by tokenvault run",
                        s.name,
                        f.place.describe()
                    ));
                    let stored =
                        crate::services::usage::key_of(self.catalogue, self.index_names, r)
                            .is_some_and(|(i, f)| {
                                self.index_names
                                    .items
                                    .get(&i)
                                    .is_some_and(|m| m.fields.contains_key(&f))
                            });
                    if !stored {
                        file.warnings.push(format!(
                        "{label}: server '{}': {r} is not in the vault: the server fails to start until you store it (`tokenvault set {}`)",
                        s.name,
                        r.to_string().trim_start_matches("tv://")
                    ));
                    }
                }
            }
            with_refs.extend(resolving);
            let rw = secure::rewrite(
                loaded.found.client,
                &s.transport,
                &with_refs,
                self.tokenvault,
            );
            for note in &rw.left {
                file.warnings
                    .push(format!("{label}: server '{}': {note}", s.name));
            }
            if !rw.ops.is_empty() {
                loaded.doc.edit_server(&s.location, &s.name, &rw.ops)?;
            }
        }
        let new_text = loaded.doc.to_text();
        file.changed = new_text != loaded.text;
        if file.changed && self.args.dry_run {
            let shown = mask_values(&loaded.text, servers, self.catalogue);
            file.diff = Some(mcp_files::unified_diff(
                &shown,
                &new_text,
                &loaded.found.path.display().to_string(),
            ));
        } else if file.changed {
            let backup_text = secure::backup_text(&loaded.text, &stored);
            let done = mcp_files::rewrite(
                self.home,
                &loaded.found,
                &loaded.text,
                &new_text,
                &backup_text,
                "secure",
                self.now,
            )?;
            file.edited_through_link = done.through_link(&loaded.found).map(|p| p.to_owned());
            file.backup = Some(done.backup.clone());
            // The config no longer starts mcp-remote: its plaintext tokens can go.
            for p in remove_after {
                match std::fs::remove_file(&p) {
                    Ok(()) => file.lines.push(format!("  removed {}", p.display())),
                    Err(e) => file.warnings.push(format!(
                        "{label}: could not remove {} ({e}): its tokens are in the vault; delete it yourself",
                        p.display()
                    )),
                }
            }
        }
        Ok(file)
    }

    /// An `npx mcp-remote URL` server with its OAuth tokens in `~/.mcp-auth`: the tokens become
    /// the login `mcp-oauth-NAME` (read back before anything else changes) and the server
    /// `tokenvault mcp proxy --oauth NAME`; the plaintext files are removed after the config is
    /// rewritten. Returns whether the server was handled here.
    fn mcp_remote(
        &mut self,
        label: &str,
        s: &Inspected,
        loaded: &mut mcp_files::Loaded,
        file: &mut FileReport,
        remove_after: &mut Vec<std::path::PathBuf>,
    ) -> Result<bool> {
        let tokenvault_core::mcp::Transport::Stdio(st) = &s.transport else {
            return Ok(false);
        };
        let Some(url) = tokenvault_core::oauth::mcp_remote_url(&st.command, &st.args) else {
            return Ok(false);
        };
        let name = mcp_oauth::login_name_for_server(&s.name);
        let Some(files) = mcp_oauth::mcp_remote_files(self.user_home, &url) else {
            file.warnings.push(format!(
                "{label}: server '{}' signs in through mcp-remote, which has no tokens for {url} here; sign in with `tokenvault mcp login {url} --name {name}` and make the server `tokenvault mcp proxy --oauth {name}`",
                s.name
            ));
            return Ok(false);
        };
        let reference = format!("tv://{}{name}", mcp_oauth::ITEM_PREFIX);
        let shown = files.tokens.display().to_string();
        if let Some(vault) = self.vault {
            if let Some(other) = mcp_oauth::load(vault, &name)? {
                if other.url != url {
                    file.warnings.push(format!(
                        "{label}: server '{}': the OAuth login '{name}' is for {}, not {url}; left as it is (log out of it first, or rename the server)",
                        s.name, other.url
                    ));
                    return Ok(true);
                }
            }
            let login = match mcp_oauth::import_mcp_remote(&files, &url, &name) {
                Ok(l) => l,
                Err(e) => {
                    file.warnings.push(format!(
                        "{label}: server '{}': its mcp-remote tokens were not imported: {}; left as it is ({})",
                        s.name,
                        crate::error::message_of(&e),
                        crate::error::hint_of(&e).unwrap_or_default()
                    ));
                    return Ok(true);
                }
            };
            mcp_oauth::store(vault, &login, self.now)?;
            // Verified: what the vault returns is what was read from the files.
            let back = mcp_oauth::load(vault, &name)?;
            let same = back.as_ref().is_some_and(|b| {
                b.access_token == login.access_token && b.refresh_token == login.refresh_token
            });
            if !same {
                return Err(hinted(
                    format!("the vault did not return the tokens just stored for '{name}'; {shown} was left in place"),
                    "run `tokenvault doctor`",
                ));
            }
            remove_after.extend(files.existing());
        }
        loaded.doc.edit_server(
            &s.location,
            &s.name,
            &secure::oauth_proxy_ops(st, self.tokenvault, &name),
        )?;
        file.lines.push(format!(
            "  {}: mcp-remote OAuth tokens {shown} → {reference} (tokenvault mcp proxy --oauth {name})",
            s.name
        ));
        file.moved.push(Moved {
            server: s.name.clone(),
            place: "mcp-remote OAuth tokens".to_owned(),
            masked: shown,
            reference: reference.clone(),
            already_stored: false,
        });
        self.stored_refs.push(reference);
        Ok(true)
    }
}

/// The exit code when some config was skipped (unreadable, unparsable, not rewritable) and the
/// others were secured: documented in the command's help and docs/mcp.md.
pub const EXIT_SKIPPED: i32 = 3;

/// A config read, inspected (limited to `--server`) and, when it has something to change,
/// checked to be rewritable.
fn prepare(
    f: &mcp_files::Found,
    args: &Request,
    catalogue: &Catalogue,
    home: &std::path::Path,
) -> Result<(mcp_files::Loaded, Vec<Inspected>)> {
    let loaded = mcp_files::load(f)?;
    let mut servers = inspect(&loaded, catalogue)?;
    if let Some(name) = &args.server {
        servers.retain(|s| &s.name == name);
    }
    let to_move = servers.iter().any(|s| {
        s.findings.iter().any(|f| f.place.movable())
            || s.unresolved.iter().any(|u| u.reference.is_some())
            || mcp_remote_of(s, home).is_some()
    });
    if to_move && !args.dry_run {
        mcp_files::check_rewritable(&f.path)?;
    }
    Ok((loaded, servers))
}

/// Lowercase name safe for an item or field: other characters become `-`.
fn slug(text: &str, keep_underscore: bool) -> String {
    let mut s: String = text
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || (keep_underscore && c == '_') {
                c
            } else {
                '-'
            }
        })
        .collect();
    s = s
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned();
    s.truncate(48);
    s
}

/// What is known of a stored field's value: the value (a real run), or its masked form from the
/// index (a dry run, which reads no value).
enum Known {
    Value(Secret),
    Masked(String),
}

impl Known {
    /// Whether `f`'s value is (or, from the masked forms, looks) the same. A fully masked form
    /// tells nothing.
    fn holds(&self, f: &Finding, catalogue: &Catalogue) -> bool {
        match self {
            Known::Value(v) => v == &f.value,
            Known::Masked(m) => m != tokenvault_core::mask::FULL_MASK && *m == masked(catalogue, f),
        }
    }
}

/// The fields the index lists for the backend in use (every backend's when none is chosen yet),
/// with their masked forms: no vault is opened.
fn indexed(ctx: &Ctx) -> Result<Vec<(Key, Known)>> {
    let kind = ctx.settings.requested_backend()?.map(|c| c.kind);
    let index = tokenvault_store::index::IndexFile::new(&ctx.settings.paths.home).load()?;
    let mut out = Vec::new();
    for (item, meta) in &index.items {
        if kind.is_some_and(|k| k != meta.backend) {
            continue;
        }
        for (field, fmeta) in &meta.fields {
            if let (Ok(i), Ok(f)) = (ItemName::new(item), FieldName::new(field)) {
                out.push((Key::new(i, f), Known::Masked(fmeta.masked.clone())));
            }
        }
    }
    Ok(out)
}

/// The key a finding goes to: the vault's key for the same value, else a free one. Returns
/// whether the value still has to be stored.
fn assign(
    held: &mut Vec<(Key, Known)>,
    f: &Finding,
    server: &str,
    catalogue: &Catalogue,
) -> Result<(Key, Option<String>, bool)> {
    let provider = f.provider.as_ref().map(|p| p.0.clone());
    if let Some((k, _)) = held.iter().find(|(_, v)| v.holds(f, catalogue)) {
        return Ok((k.clone(), provider, false));
    }
    let server_slug = match slug(server, false) {
        s if s.is_empty() => "mcp-server".to_owned(),
        s => s,
    };
    let (base, field) = match &f.provider {
        Some((p, field)) => (p.clone(), field.clone()),
        None => {
            let name = match &f.place {
                Place::Env { var } | Place::DockerEnv { var, .. } => var.clone(),
                Place::Header { name, .. } => name.clone(),
                _ => "token".to_owned(),
            };
            let field = match slug(&name, true) {
                s if s.is_empty() => "token".to_owned(),
                s => s,
            };
            (server_slug.clone(), field)
        }
    };
    let field = FieldName::new(&field)?;
    let mut candidates = vec![base.clone()];
    if base != server_slug {
        candidates.push(format!("{base}-{server_slug}"));
    }
    for n in 2..100 {
        candidates.push(format!("{base}-{server_slug}-{n}"));
    }
    for c in candidates {
        let Ok(item) = ItemName::new(&c) else {
            continue;
        };
        let key = Key::new(item, field.clone());
        if !held
            .iter()
            .any(|(k, _)| k.item == key.item && k.field == key.field)
        {
            held.push((key.clone(), Known::Value(f.value.clone())));
            return Ok((key, provider, true));
        }
    }
    Err(hinted(
        format!("no free item name for the secret in server '{server}'"),
        "remove unused items with `tokenvault rm`, then run the command again",
    ))
}

/// The config text with every secret found in it masked, for the dry-run diff.
fn mask_values(text: &str, servers: &[Inspected], catalogue: &Catalogue) -> String {
    let mut out = text.to_owned();
    for s in servers {
        for f in &s.findings {
            let v = f.value.expose_secret();
            if !v.is_empty() {
                out = out.replace(v, &masked(catalogue, f));
            }
        }
    }
    out
}
