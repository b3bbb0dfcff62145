//! One function per page or action. Each gathers data from the services and renders it; a value
//! is never part of what is rendered (masked forms from the index only).

use super::html::{button_form, esc, json_block, Flash};
use super::App;
use crate::context::Ctx;
use crate::error::hinted;
use crate::prompt::ConfiguredPassphrase;
use crate::services;
use crate::vault::Vault;
use anyhow::Result;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use tokenvault_core::mcp::ClientId;
use tokenvault_core::{Reference, Secret};
use tokenvault_store::{BackendKind, PassphraseSource};

pub struct Page {
    pub title: String,
    pub banner: String,
    pub body: String,
}

/// What an action leads to.
pub enum Done {
    /// Back to the page, with this message.
    Flash(Flash),
    Redirect(String),
}

fn open(ctx: &mut Ctx) -> Result<Vault<'_>> {
    ctx.open_vault_with(Arc::new(ConfiguredPassphrase))
}

/// Whether the vault can be read without a passphrase now.
enum LockState {
    /// The OS keychain (or memory): no passphrase.
    Open,
    /// A file vault whose key is cached or whose passphrase is configured.
    Unlocked,
    Locked,
    /// No file vault yet: its passphrase is chosen on the Unlock page.
    Missing,
}

fn lock_state(ctx: &mut Ctx) -> Result<LockState> {
    if ctx.choose_backend()?.kind != BackendKind::File {
        return Ok(LockState::Open);
    }
    let store = ctx.file_store_with(Arc::new(ConfiguredPassphrase));
    let configured = ConfiguredPassphrase
        .existing(store.vault_path())
        .ok()
        .flatten()
        .is_some();
    Ok(if configured || (store.exists() && store.is_unlocked()) {
        LockState::Unlocked
    } else if store.exists() {
        LockState::Locked
    } else {
        LockState::Missing
    })
}

fn banner(state: &LockState) -> String {
    match state {
        LockState::Locked => r#"<div class="banner warn" role="note"><p>The vault is locked. <a href="/unlock">Unlock it</a> to store, check or remove tokens.</p></div>"#.to_owned(),
        LockState::Missing => r#"<div class="banner warn" role="note"><p>There is no vault yet. <a href="/unlock">Create it</a> by choosing its passphrase.</p></div>"#.to_owned(),
        _ => String::new(),
    }
}

/// Refuses an action on a locked (or missing) file vault, leading to the Unlock page.
fn require_open(ctx: &mut Ctx) -> Result<Option<Done>> {
    Ok(match lock_state(ctx)? {
        LockState::Locked | LockState::Missing => Some(Done::Redirect("/unlock".into())),
        _ => None,
    })
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or("").trim()
}

fn ok(title: impl Into<String>, body: String) -> Done {
    Done::Flash(Flash {
        kind: "ok",
        title: title.into(),
        body,
    })
}

// ---------------------------------------------------------------------------------------------
// Tokens

/// `q` may name the provider and item to prefill the form with (`?provider=huggingface&item=…`,
/// from a rotation step on the Attention page).
pub fn tokens(app: &App, q: &HashMap<String, String>) -> Result<Page> {
    let mut ctx = app.ctx();
    let state = lock_state(&mut ctx)?;
    let catalogue = ctx.settings.catalogue.clone();
    let rules = services::tokens::format_rules(&catalogue);
    let vault = open(&mut ctx)?;
    let index = vault.load_index_checked()?;
    let keys = vault.keys(&index)?;
    let rows = services::index_rows::rows(&index, &keys);
    let csrf = app.csrf();
    let mut body = String::new();
    let _ = write!(
        body,
        r#"<p class="lead">Every token in the <strong>{}</strong> backend, masked. Store one below; check it with its provider; remove what you no longer use.</p>"#,
        esc(vault.kind().as_str())
    );
    if rows.is_empty() {
        body.push_str(r#"<p class="empty">No tokens yet. Add your first one below.</p>"#);
    } else {
        body.push_str(r#"<div class="table-wrap"><table class="tokens"><caption class="sr-only">Stored tokens</caption><thead><tr><th scope="col">Token</th><th scope="col">Provider</th><th scope="col">Value (masked)</th><th scope="col">Changed</th><th scope="col">Last check</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead><tbody>"#);
        for r in &rows {
            let reference = format!("{}/{}", r.item, r.field);
            let provider = catalogue.get(r.provider);
            let links = provider
                .map(|p| {
                    let mut s = String::new();
                    if let Some(u) = &p.create_url {
                        let _ = write!(s, r#"<a href="{}" rel="noopener noreferrer" target="_blank">create</a>"#, esc(u));
                    }
                    if let Some(u) = &p.revoke_url {
                        let _ = write!(s, r#" · <a href="{}" rel="noopener noreferrer" target="_blank">revoke</a>"#, esc(u));
                    }
                    s
                })
                .unwrap_or_default();
            let verified_class = if r.verified.starts_with("ok") {
                "good"
            } else if r.verified.starts_with("FAILED") {
                "bad"
            } else {
                "muted"
            };
            let _ = write!(
                body,
                r#"<tr><th scope="row"><code>tv://{reference}</code></th><td>{provider}<div class="links">{links}</div></td><td><code class="masked">{masked}</code></td><td>{updated}</td><td class="{verified_class}">{verified}</td><td class="actions">{verify}<a class="button secondary" href="/tokens/remove?ref={ref_q}" aria-label="Remove tv://{reference}">Remove</a></td></tr>"#,
                reference = esc(&reference),
                provider = esc(provider.map_or(r.provider, |p| p.name.as_str())),
                masked = esc(r.masked),
                updated = esc(&services::index_rows::age(r.updated)),
                verified = esc(&r.verified),
                verify = button_form(
                    "/tokens/verify",
                    csrf,
                    &[("reference", &reference)],
                    "Verify",
                    "secondary"
                ),
                ref_q = esc(&reference),
            );
        }
        body.push_str("</tbody></table></div>");
    }
    // The add/replace form: the script checks the format as you type from the catalogue's rules.
    let want_provider = match field(q, "provider") {
        "" => "huggingface",
        p => p,
    };
    let want_item = field(q, "item");
    let options: String = catalogue
        .providers()
        .iter()
        .map(|p| {
            format!(
                r#"<option value="{}"{}>{}</option>"#,
                esc(&p.id),
                if p.id == want_provider {
                    " selected"
                } else {
                    ""
                },
                esc(&p.name)
            )
        })
        .collect();
    let _ = write!(
        body,
        r#"<section class="card" aria-labelledby="add-title">
<h2 id="add-title">Add or replace a token</h2>
<form method="post" action="/tokens/save" id="add-form" autocomplete="off">
<input type="hidden" name="csrf" value="{csrf}">
<div class="row">
<div class="field"><label for="provider">Provider</label><select id="provider" name="provider">{options}</select></div>
<div class="field"><label for="item">Name <span class="muted">(optional)</span></label><input id="item" name="item" type="text" spellcheck="false" placeholder="the provider's name" value="{item}" aria-describedby="item-help"><p id="item-help" class="help">e.g. <code>huggingface-work</code> for a second account. The same name replaces the stored value (the previous one is kept for rollback).</p></div>
</div>
<div class="field"><label for="value">Token</label><input id="value" name="value" type="password" autocomplete="off" spellcheck="false" required aria-describedby="format-status"><p id="format-status" class="help" aria-live="polite">Paste the token.</p></div>
<div class="create-link" id="create-link"></div>
<button type="submit" id="save" disabled>Save Token Securely</button>
</form>
</section>{rules}"#,
        csrf = esc(csrf),
        item = esc(want_item),
        rules = json_block("tv-rules", &rules),
    );
    Ok(Page {
        title: "Tokens".into(),
        banner: banner(&state),
        body,
    })
}

pub fn save(app: &App, form: &HashMap<String, String>) -> Result<Done> {
    let mut ctx = app.ctx();
    if let Some(d) = require_open(&mut ctx)? {
        return Ok(d);
    }
    let provider = field(form, "provider");
    let item = match field(form, "item") {
        "" => provider,
        i => i,
    };
    // The value as typed: only whitespace around it is dropped (a paste often brings a newline).
    let value = Secret::from_str_copy(form.get("value").map(String::as_str).unwrap_or("").trim());
    // Never echo the name: a token pasted into the wrong field would come back in the page.
    let reference = Reference::parse(item).map_err(|_| {
        hinted(
            "that name is not usable, so nothing was stored",
            "a name is letters, digits, '-' and '_' (e.g. huggingface-work); the token goes into the Token field",
        )
    })?;
    let provider = (!provider.is_empty()).then_some(provider);
    let vault = open(&mut ctx)?;
    let backend = vault.kind().as_str().to_owned();
    let result = services::tokens::save(&vault, &reference, provider, &value);
    let shown = result
        .as_ref()
        .map(|(t, _)| t.reference())
        .unwrap_or_else(|_| reference.to_string());
    drop(vault);
    crate::audit::record(
        &ctx,
        "set",
        Some(&backend),
        std::slice::from_ref(&shown),
        &crate::audit::outcome_of(&result),
    );
    let (_, written) = result?;
    Ok(ok(
        format!(
            "{} {shown} ({}) in the {backend} backend.",
            if written.replaced {
                "Replaced"
            } else {
                "Stored"
            },
            written.masked
        ),
        format!(
            "<p>{}Check it with its provider with <strong>Verify</strong>.</p>",
            if written.replaced {
                "The previous value is kept for <code>tokenvault rotate --rollback</code>. "
            } else {
                ""
            }
        ),
    ))
}

pub fn verify(app: &App, form: &HashMap<String, String>) -> Result<Done> {
    let mut ctx = app.ctx();
    if let Some(d) = require_open(&mut ctx)? {
        return Ok(d);
    }
    let reference = Reference::parse(field(form, "reference"))?;
    let profiles = ctx.settings.config.config.profiles.clone();
    let vault = open(&mut ctx)?;
    let backend = vault.kind().as_str().to_owned();
    let result = services::tokens::verify_stored(&vault, &profiles, &reference);
    drop(vault);
    crate::audit::record(
        &ctx,
        "verify",
        Some(&backend),
        &[reference.to_string()],
        &crate::audit::outcome_of(&result),
    );
    let c = result?;
    let mut body = String::from("<dl class=\"facts\">");
    for (label, v) in [
        ("Account", c.account.as_deref()),
        ("Token name", c.token_name.as_deref()),
        ("Role", c.role.as_deref()),
        ("Expires", c.expires.as_deref()),
    ] {
        if let Some(v) = v {
            let _ = write!(body, "<dt>{label}</dt><dd>{}</dd>", esc(v));
        }
    }
    if !c.scopes.is_empty() {
        let _ = write!(body, "<dt>Scopes</dt><dd><ul class=\"scopes\">");
        for s in &c.scopes {
            let _ = write!(body, "<li>{}</li>", esc(s));
        }
        body.push_str("</ul></dd>");
    }
    body.push_str("</dl>");
    if let Some(w) = &c.warning {
        let _ = write!(
            body,
            "<p class=\"warning\"><strong>Least privilege:</strong> {}</p>",
            esc(w)
        );
    }
    if let Some(u) = &c.unrecorded {
        let _ = write!(body, "<p class=\"warning\">{}</p>", esc(u));
    }
    if let Some(h) = &c.hint {
        let _ = write!(body, "<p class=\"hint\">{}</p>", esc(h));
    }
    Ok(Done::Flash(Flash {
        kind: match c.outcome {
            "valid" if c.warning.is_some() => "warn",
            "valid" | "unavailable" => "ok",
            "rejected" => "bad",
            _ => "warn",
        },
        title: c.message,
        body,
    }))
}

pub fn remove_confirm(app: &App, q: &HashMap<String, String>) -> Result<Page> {
    let reference = Reference::parse(field(q, "ref"))?;
    let shown = reference.to_string();
    let body = format!(
        r#"<section class="card"><p>Remove <code>{r}</code> from the vault? Programs and MCP servers that use it will fail at their next start. Revoke it with its provider too if it may have leaked.</p>
<div class="actions">{form}<a class="button secondary" href="/tokens">Cancel</a></div></section>"#,
        r = esc(&shown),
        form = button_form(
            "/tokens/remove",
            app.csrf(),
            &[("reference", field(q, "ref")), ("confirm", "yes")],
            "Remove",
            "danger"
        ),
    );
    Ok(Page {
        title: format!("Remove {shown}?"),
        banner: String::new(),
        body,
    })
}

pub fn remove(app: &App, form: &HashMap<String, String>) -> Result<Done> {
    if field(form, "confirm") != "yes" {
        return Ok(Done::Redirect("/tokens".into()));
    }
    let mut ctx = app.ctx();
    if let Some(d) = require_open(&mut ctx)? {
        return Ok(d);
    }
    let reference = Reference::parse(field(form, "reference"))?;
    let vault = open(&mut ctx)?;
    let backend = vault.kind().as_str().to_owned();
    let result = services::tokens::remove(&vault, &reference);
    drop(vault);
    let refs: Vec<String> = match &result {
        Ok(keys) => keys
            .iter()
            .map(|k| format!("tv://{}/{}", k.item, k.field))
            .collect(),
        Err(_) => vec![reference.to_string()],
    };
    crate::audit::record(
        &ctx,
        "rm",
        Some(&backend),
        &refs,
        &crate::audit::outcome_of(&result),
    );
    result?;
    Ok(ok(format!("Removed {}.", refs.join(", ")), String::new()))
}

// ---------------------------------------------------------------------------------------------
// MCP clients

pub fn mcp(app: &App) -> Result<Page> {
    let ctx = app.ctx();
    let catalogue = &ctx.settings.catalogue;
    let machine = crate::mcp::files::machine()?;
    let found = crate::mcp::files::discover(&machine, None);
    let mut body = String::from(
        r#"<p class="lead">The MCP clients found on this computer, their servers, and the tokens they hold in plain text. <strong>Secure</strong> moves those into the vault and launches the server through tokenvault; you see the change first.</p>"#,
    );
    if found.is_empty() {
        body.push_str(r#"<p class="empty">No MCP client config found (looked for Claude Desktop, Claude Code, Cursor, VS Code, Windsurf, Gemini CLI, Codex CLI and Zed).</p>"#);
    }
    for f in &found {
        let _ = write!(
            body,
            r#"<section class="card client" aria-labelledby="c-{id}"><h2 id="c-{id}">{name}</h2><p class="path"><code>{path}</code></p>"#,
            id = esc(f.client.id()),
            name = esc(f.client.name()),
            path = esc(&crate::mcp::files::display_path(f)),
        );
        match crate::mcp::files::load(f).and_then(|l| crate::mcp::files::inspect(&l, catalogue)) {
            Err(e) => {
                let _ = write!(
                    body,
                    r#"<p class="bad">Could not read it: {}</p>"#,
                    esc(&format!("{e:#}"))
                );
            }
            Ok(servers) => {
                if servers.is_empty() {
                    body.push_str(r#"<p class="muted">No servers.</p>"#);
                }
                let mut plaintext = 0;
                body.push_str(r#"<ul class="servers">"#);
                for s in &servers {
                    let movable: Vec<_> = s.findings.iter().filter(|x| x.place.movable()).collect();
                    plaintext += movable.len();
                    let state = if !movable.is_empty() {
                        format!(
                            r#"<span class="pill bad">{} in plain text</span>"#,
                            movable.len()
                        )
                    } else if s.unresolved.iter().any(|u| u.reference.is_some()) {
                        r#"<span class="pill warn">unresolved reference</span>"#.to_owned()
                    } else {
                        r#"<span class="pill good">no plaintext token</span>"#.to_owned()
                    };
                    let _ = write!(body, "<li><strong>{}</strong> {state}", esc(&s.name));
                    if !movable.is_empty() {
                        body.push_str("<ul>");
                        for x in movable {
                            let _ = write!(
                                body,
                                "<li>{} <code class=\"masked\">{}</code></li>",
                                esc(&x.place.describe()),
                                esc(&crate::mcp::files::masked(catalogue, x))
                            );
                        }
                        body.push_str("</ul>");
                    }
                    body.push_str("</li>");
                }
                body.push_str("</ul>");
                if let Ok(Some((when, _))) = services::mcp_restore::latest_backup(&ctx, f.client) {
                    let _ = write!(
                        body,
                        r#"<p class="muted backup">Backup of {} before tokenvault changed it.</p>{}"#,
                        esc(&when),
                        button_form(
                            "/mcp/restore",
                            app.csrf(),
                            &[("client", f.client.id())],
                            "Restore that version",
                            "secondary"
                        )
                    );
                }
                if plaintext > 0
                    || servers
                        .iter()
                        .any(|s| s.unresolved.iter().any(|u| u.reference.is_some()))
                {
                    let _ = write!(
                        body,
                        r#"<a class="button" href="/mcp/secure?client={}">Review and secure…</a>"#,
                        esc(f.client.id())
                    );
                }
            }
        }
        body.push_str("</section>");
    }
    // Add a server: variables and headers name references, suggested from the vault's index.
    let index = tokenvault_store::index::IndexFile::new(&ctx.settings.paths.home)
        .load()
        .unwrap_or_default();
    let mut stored: Vec<String> = index
        .items
        .iter()
        .flat_map(|(item, m)| m.fields.keys().map(move |f| format!("tv://{item}/{f}")))
        .collect();
    stored.sort();
    let clients: String = ClientId::ALL
        .iter()
        .map(|c| {
            format!(
                r#"<option value="{}">{}</option>"#,
                esc(c.id()),
                esc(c.name())
            )
        })
        .collect();
    let refs_help = if stored.is_empty() {
        "Nothing is stored yet: add the token on the Tokens page first.".to_owned()
    } else {
        format!(
            "Stored: {}.",
            stored
                .iter()
                .map(|r| format!("<code>{}</code>", esc(r)))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let _ = write!(
        body,
        r#"<section class="card" aria-labelledby="add-server-title"><h2 id="add-server-title">Add a server</h2>
<form method="post" action="/mcp/add" id="add-server" autocomplete="off"><input type="hidden" name="csrf" value="{csrf}">
<div class="row"><div class="field"><label for="s-client">Client</label><select id="s-client" name="client">{clients}</select></div>
<div class="field"><label for="s-name">Server name</label><input id="s-name" name="name" type="text" required spellcheck="false"></div></div>
<fieldset><legend>How the client reaches it</legend>
<label class="radio"><input type="radio" name="kind" value="command" checked> It starts a command (stdio)</label>
<label class="radio"><input type="radio" name="kind" value="url"> It is a remote server (URL)</label></fieldset>
<div class="field"><label for="s-command">Command</label><input id="s-command" name="command" type="text" spellcheck="false" placeholder="npx -y @llmindset/hf-mcp-server" aria-describedby="s-command-help"><p id="s-command-help" class="help">Words separated by spaces (no shell quoting).</p></div>
<div class="field"><label for="s-env">Variables from the vault</label><textarea id="s-env" name="env" rows="2" spellcheck="false" placeholder="HF_TOKEN=tv://huggingface" aria-describedby="s-env-help"></textarea><p id="s-env-help" class="help">One <code>VAR=tv://ITEM/FIELD</code> per line. {refs_help}</p></div>
<div class="field"><label for="s-url">URL</label><input id="s-url" name="url" type="text" spellcheck="false" placeholder="https://huggingface.co/mcp"></div>
<div class="field"><label for="s-headers">Headers</label><textarea id="s-headers" name="headers" rows="2" spellcheck="false" placeholder="Authorization: Bearer {{{{ tv://huggingface }}}}" aria-describedby="s-headers-help"></textarea><p id="s-headers-help" class="help">For a remote server: one <code>Name: value</code> per line; the value names a reference as <code>{{{{ tv://ITEM/FIELD }}}}</code>.</p></div>
<label class="radio"><input type="checkbox" name="force" value="yes"> Replace a server of the same name</label>
<p><button type="submit">Add server</button></p>
</form></section>"#,
        csrf = esc(app.csrf()),
    );
    body.push_str(r#"<p class="muted">The command line does the same: <code>tokenvault mcp add</code> (see docs/mcp.md).</p>"#);
    Ok(Page {
        title: "MCP clients".into(),
        banner: String::new(),
        body,
    })
}

fn client_of(text: &str) -> Result<ClientId> {
    Ok(ClientId::parse(text)?)
}

pub fn secure_preview(app: &App, q: &HashMap<String, String>) -> Result<Page> {
    let client = client_of(field(q, "client"))?;
    let mut ctx = app.ctx();
    let state = lock_state(&mut ctx)?;
    let report = secure_client(&mut ctx, client, true)?;
    let files: Vec<_> = report.files.iter().filter(|f| f.changed).collect();
    let mut body = String::new();
    for s in &report.skipped {
        let _ = write!(
            body,
            r#"<p class="bad">Skipped {}: {}</p>"#,
            esc(&s.label),
            esc(&s.why)
        );
    }
    if files.is_empty() {
        body.push_str(r#"<p>Nothing to change: no plaintext token or unresolved reference in this client's config.</p>"#);
    }
    for f in &files {
        let _ = write!(
            body,
            r#"<section class="card"><h2>{} <code>{}</code></h2><ul>"#,
            esc(client.name()),
            esc(&f.path.display().to_string())
        );
        for m in &f.lines {
            let _ = write!(body, "<li>{}</li>", esc(m.trim()));
        }
        body.push_str("</ul>");
        for w in &f.warnings {
            let _ = write!(body, r#"<p class="warning">{}</p>"#, esc(w));
        }
        let _ = write!(
            body,
            r#"<h3>The change (values masked)</h3><pre class="diff" tabindex="0" aria-label="Unified diff of the change">{}</pre></section>"#,
            diff_html(f.diff.as_deref().unwrap_or_default())
        );
    }
    if !files.is_empty() {
        let _ = write!(
            body,
            r#"<div class="actions">{}<a class="button secondary" href="/mcp">Cancel</a></div><p class="muted">The file is backed up first; <code>tokenvault mcp restore</code> undoes it.</p>"#,
            button_form(
                "/mcp/secure",
                app.csrf(),
                &[("client", client.id())],
                "Secure",
                "primary"
            )
        );
    }
    Ok(Page {
        title: format!("Secure {}", client.name()),
        banner: banner(&state),
        body,
    })
}

/// `mcp secure` for one client: the plan (`dry_run`: no vault opened, no value read) or the change.
fn secure_client(
    ctx: &mut crate::context::Ctx,
    client: ClientId,
    dry_run: bool,
) -> Result<services::mcp_secure::Report> {
    services::mcp_secure::secure_clients(
        ctx,
        &services::mcp_secure::Request {
            client: Some(client.id().to_owned()),
            server: None,
            dry_run,
        },
    )
}

fn diff_html(diff: &str) -> String {
    diff.lines()
        .map(|l| {
            let class = match l.as_bytes().first() {
                Some(b'+') if !l.starts_with("+++") => "add",
                Some(b'-') if !l.starts_with("---") => "del",
                Some(b'@') => "hunk",
                _ => "ctx",
            };
            format!(r#"<span class="{class}">{}</span>"#, esc(l))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn secure(app: &App, form: &HashMap<String, String>) -> Result<Done> {
    let client = client_of(field(form, "client"))?;
    let mut ctx = app.ctx();
    if let Some(d) = require_open(&mut ctx)? {
        return Ok(d);
    }
    let report = secure_client(&mut ctx, client, false)?;
    let files: Vec<_> = report.files.iter().filter(|f| f.changed).collect();
    let mut body = String::new();
    for f in &files {
        let _ = write!(
            body,
            "<p>Secured <code>{}</code>:</p><ul>",
            esc(&f.path.display().to_string())
        );
        for m in &f.lines {
            let _ = write!(body, "<li>{}</li>", esc(m.trim()));
        }
        body.push_str("</ul>");
        for w in &f.warnings {
            let _ = write!(body, r#"<p class="warning">{}</p>"#, esc(w));
        }
        if let Some(b) = &f.backup {
            let _ = write!(
                body,
                "<p class=\"muted\">Backup: <code>{}</code></p>",
                esc(&b.display().to_string())
            );
        }
    }
    for s in &report.skipped {
        let _ = write!(
            body,
            r#"<p class="bad">Skipped {}: {}</p>"#,
            esc(&s.label),
            esc(&s.why)
        );
    }
    body.push_str(
        "<p>Restart the client (or reload its MCP servers) to launch them through tokenvault.</p>",
    );
    if report.backend.as_deref() == Some("file") {
        body.push_str("<p class=\"hint\">Clients start servers without a terminal: keep the file vault unlocked (<code>tokenvault unlock --timeout 8h</code>) while you use them, or use the OS keychain.</p>");
    }
    Ok(Done::Flash(Flash {
        kind: if report.skipped.is_empty() {
            "ok"
        } else {
            "warn"
        },
        title: if files.is_empty() {
            format!("Nothing to change in {}.", client.name())
        } else {
            format!("Secured {}.", client.name())
        },
        body,
    }))
}

pub fn restore(app: &App, form: &HashMap<String, String>) -> Result<Done> {
    let client = client_of(field(form, "client"))?;
    let mut ctx = app.ctx();
    let Some(r) = services::mcp_restore::restore_without_secrets(&mut ctx, client)? else {
        return Err(hinted(
            format!("no backup of {}'s config to restore", client.name()),
            "backups are taken before tokenvault changes a config",
        ));
    };
    let mut body = String::new();
    if !r.references.is_empty() {
        let _ = write!(
            body,
            "<p>{} {} in the vault ({}); {} keep getting {} through tokenvault. <span class=\"muted\">To write the values back into the file: <code>tokenvault mcp restore --client {} --with-secrets</code>.</span></p>",
            esc(&tokenvault_core::words::count(r.references.len(), "secret")),
            if r.references.len() == 1 { "stays" } else { "stay" },
            esc(&r.references.join(", ")),
            esc(&tokenvault_core::words::count(r.kept_servers, "server")),
            if r.references.len() == 1 { "it" } else { "them" },
            esc(client.id()),
        );
    }
    Ok(ok(
        if r.changed {
            format!("Restored {} {}.", client.name(), r.path)
        } else {
            format!(
                "{} {} is already as the backup leaves it.",
                client.name(),
                r.path
            )
        },
        body,
    ))
}

pub fn add_server(app: &App, form: &HashMap<String, String>) -> Result<Done> {
    let lines = |name: &str| -> Vec<String> {
        field(form, name)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let remote = field(form, "kind") == "url";
    let args = crate::cli::McpAddArgs {
        name: field(form, "name").to_owned(),
        client: field(form, "client").to_owned(),
        env: if remote { Vec::new() } else { lines("env") },
        url: remote.then(|| field(form, "url").to_owned()),
        headers: if remote { lines("headers") } else { Vec::new() },
        force: field(form, "force") == "yes",
        serve: false,
        command: if remote {
            Vec::new()
        } else {
            field(form, "command")
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        },
    };
    if args.name.is_empty() {
        return Err(hinted(
            "the server needs a name",
            "type the name the client shows for it",
        ));
    }
    let mut ctx = app.ctx();
    let result = services::mcp_add::add_server(&mut ctx, &args);
    let mut refs = vec![format!("server {}", args.name)];
    refs.extend(args.env.iter().cloned());
    refs.extend(args.headers.iter().cloned());
    crate::audit::record(
        &ctx,
        "mcp-add",
        None,
        &refs,
        &crate::audit::outcome_of(&result),
    );
    let added = result?;
    let mut body = String::new();
    for r in &added.missing {
        let _ = write!(
            body,
            r#"<p class="warning">{} is not in the vault yet: store it on the <a href="/tokens">Tokens</a> page before the client starts the server.</p>"#,
            esc(r)
        );
    }
    body.push_str("<p>Restart the client (or reload its MCP servers) to start the new server.</p>");
    Ok(ok(
        format!(
            "Added '{}' to {} ({}).",
            args.name,
            added.client.name(),
            added.path.display()
        ),
        body,
    ))
}

// ---------------------------------------------------------------------------------------------
// Attention

pub fn attention(app: &App) -> Result<Page> {
    let mut ctx = app.ctx();
    let state = lock_state(&mut ctx)?;
    let gathered = crate::services::usage::gather(&ctx.settings);
    let catalogue = ctx.settings.catalogue.clone();
    let vault = open(&mut ctx)?;
    let report = services::attention::report(&vault, gathered, 90)?;
    drop(vault);
    let mut body = String::from(
        r#"<p class="lead">What <code>tokenvault status</code> and <code>doctor</code> would tell you, with the next step for each.</p>"#,
    );
    let mut rows = String::new();
    for f in &report.findings {
        let short = f.reference.trim_start_matches("tv://");
        let code = f.attention.code();
        let tone = match code {
            "expired" | "failed" | "missing" => "bad",
            _ => "warn",
        };
        let next = f.attention.next_step(short);
        let item_name = short.split('/').next().unwrap_or(short);
        let provider_id = tokenvault_core::ItemName::new(item_name)
            .ok()
            .and_then(|i| catalogue.for_item(&i).map(|p| p.id.clone()))
            .unwrap_or_default();
        let action = match code {
            "stale" | "expiring" | "expired" | "failed" => format!(
                r#"Rotate: create a new token{}, then <a href="/tokens?item={item}&amp;provider={provider}#value">store it under the same name</a> (the old one is kept for rollback), then revoke the old one. <span class="muted">Terminal: <code>{}</code></span>"#,
                catalogue
                    .for_item(&match tokenvault_core::ItemName::new(short.split('/').next().unwrap_or(short)) {
                        Ok(i) => i,
                        Err(_) => continue,
                    })
                    .and_then(|p| p.create_url.as_deref())
                    .map(|u| format!(r#" (<a href="{}" rel="noopener noreferrer" target="_blank">create one</a>)"#, esc(u)))
                    .unwrap_or_default(),
                esc(&next),
                item = esc(item_name),
                provider = esc(&provider_id),
            ),
            "missing" => format!(
                r#"<a href="/tokens?item={}&amp;provider={}#value">Store it</a> <span class="muted">Terminal: <code>{}</code></span>"#,
                esc(item_name),
                esc(&provider_id),
                esc(&next)
            ),
            _ => format!("<code>{}</code>", esc(&next)),
        };
        // A check is one click away.
        let action = if matches!(code, "unverified" | "failed") {
            format!(
                r#"<div class="actions">{}{action}</div>"#,
                button_form(
                    "/tokens/verify",
                    app.csrf(),
                    &[("reference", short)],
                    "Verify now",
                    "secondary"
                )
            )
        } else {
            action
        };
        let _ = write!(
            rows,
            r#"<tr><th scope="row"><code>{}</code></th><td><span class="pill {tone}">{}</span></td><td>{}</td><td>{action}</td></tr>"#,
            esc(&f.reference),
            esc(code),
            esc(&f.attention.detail()),
        );
    }
    // Plaintext copies in MCP client configs (what `doctor` reports).
    let machine = crate::mcp::files::machine()?;
    for found in crate::mcp::files::discover(&machine, None) {
        let Ok(servers) = crate::mcp::files::load(&found)
            .and_then(|l| crate::mcp::files::inspect(&l, &catalogue))
        else {
            continue;
        };
        for s in servers {
            for x in s.findings.iter().filter(|x| x.place.movable()) {
                let _ = write!(
                    rows,
                    r#"<tr><th scope="row"><code>{}</code></th><td><span class="pill bad">plaintext</span></td><td>{} server '{}', {} <code class="masked">{}</code></td><td><a href="/mcp/secure?client={}">Secure it</a></td></tr>"#,
                    esc(&crate::mcp::files::display_path(&found)),
                    esc(found.client.name()),
                    esc(&s.name),
                    esc(&x.place.describe()),
                    esc(&crate::mcp::files::masked(&catalogue, x)),
                    esc(found.client.id()),
                );
            }
        }
    }
    for u in &report.unreadable {
        let _ = write!(
            rows,
            r#"<tr><th scope="row">config</th><td><span class="pill warn">unreadable</span></td><td>{}</td><td>fix the reference</td></tr>"#,
            esc(u)
        );
    }
    if rows.is_empty() {
        let _ = write!(
            body,
            r#"<p class="all-well good">All is well: {} stored, none stale, expiring, failing or unchecked; no plaintext token in an MCP client config.</p>"#,
            esc(&tokenvault_core::words::count(report.fields, "value"))
        );
    } else {
        let _ = write!(
            body,
            r#"<div class="table-wrap"><table><caption class="sr-only">Things that need attention</caption><thead><tr><th scope="col">What</th><th scope="col">Status</th><th scope="col">Detail</th><th scope="col">Next step</th></tr></thead><tbody>{rows}</tbody></table></div>"#
        );
    }
    Ok(Page {
        title: "Attention".into(),
        banner: banner(&state),
        body,
    })
}

// ---------------------------------------------------------------------------------------------
// Audit

pub fn audit(app: &App, q: &HashMap<String, String>) -> Result<Page> {
    let home = app.ctx().settings.paths.home.clone();
    let log = services::audit_log::read(&home)?;
    let action = field(q, "action");
    let text = field(q, "q");
    let outcome = field(q, "outcome");
    let mut body = String::new();
    let _ = match &log.chain {
        services::audit_log::Chain::Empty => write!(
            body,
            r#"<p class="chain muted">No audit log yet: entries appear when values are read or changed.</p>"#
        ),
        services::audit_log::Chain::Intact { entries } => write!(
            body,
            r#"<p class="chain good" id="chain">Chain verified: all {entries} entries link to the one before (nothing edited, removed or reordered).</p>"#
        ),
        services::audit_log::Chain::Broken { at } => write!(
            body,
            r#"<p class="chain bad" id="chain">The chain is broken at {}: entries from there on cannot be trusted.</p>"#,
            esc(at)
        ),
    };
    let mut actions: Vec<&str> = log.records.iter().map(|r| r.action.as_str()).collect();
    actions.sort();
    actions.dedup();
    let opts: String = std::iter::once(("", "any action"))
        .chain(actions.iter().map(|a| (*a, *a)))
        .map(|(v, l)| {
            format!(
                r#"<option value="{}"{}>{}</option>"#,
                esc(v),
                if v == action { " selected" } else { "" },
                esc(l)
            )
        })
        .collect();
    let _ = write!(
        body,
        r#"<form method="get" action="/audit" class="filters" role="search"><div class="field"><label for="f-action">Action</label><select id="f-action" name="action">{opts}</select></div><div class="field"><label for="f-outcome">Outcome</label><select id="f-outcome" name="outcome"><option value="">any</option><option value="ok"{s_ok}>ok</option><option value="failed"{s_failed}>not ok</option></select></div><div class="field"><label for="f-q">Reference contains</label><input id="f-q" name="q" type="search" value="{q}"></div><button type="submit" class="secondary">Filter</button></form>"#,
        s_ok = if outcome == "ok" { " selected" } else { "" },
        s_failed = if outcome == "failed" { " selected" } else { "" },
        q = esc(text),
    );
    let selected: Vec<_> = log
        .records
        .iter()
        .rev()
        .filter(|r| action.is_empty() || r.action == action)
        .filter(|r| match outcome {
            "ok" => r.outcome == "ok",
            "failed" => r.outcome != "ok",
            _ => true,
        })
        .filter(|r| text.is_empty() || r.references.iter().any(|x| x.contains(text)))
        .take(500)
        .collect();
    let _ = write!(
        body,
        r#"<p class="muted" aria-live="polite">{} shown, newest first.</p>"#,
        esc(&tokenvault_core::words::count(selected.len(), "entry"))
    );
    body.push_str(r#"<div class="table-wrap"><table class="audit"><caption class="sr-only">Audit log</caption><thead><tr><th scope="col">#</th><th scope="col">Time (UTC)</th><th scope="col">Action</th><th scope="col">References</th><th scope="col">Outcome</th><th scope="col">Started by</th></tr></thead><tbody>"#);
    for r in selected {
        let _ = write!(
            body,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="{}">{}</td><td>{}</td></tr>"#,
            r.seq,
            esc(r
                .time
                .get(..19)
                .unwrap_or(&r.time)
                .replace('T', " ")
                .as_str()),
            esc(&r.action),
            esc(&r.references.join(", ")),
            if r.outcome == "ok" { "good" } else { "bad" },
            esc(&r.outcome),
            esc(r.parent_name.as_deref().unwrap_or("")),
        );
    }
    body.push_str("</tbody></table></div>");
    if !log.damaged.is_empty() {
        let _ = write!(
            body,
            r#"<p class="bad">{} not audit records.</p>"#,
            esc(&tokenvault_core::words::count(log.damaged.len(), "line"))
        );
    }
    Ok(Page {
        title: "Audit".into(),
        banner: String::new(),
        body,
    })
}

// ---------------------------------------------------------------------------------------------
// Unlock

pub fn unlock_page(app: &App) -> Result<Page> {
    let mut ctx = app.ctx();
    let state = lock_state(&mut ctx)?;
    let csrf = esc(app.csrf());
    let body = match state {
        LockState::Open => r#"<p>This vault uses the OS keychain: it locks and unlocks with your login session; there is nothing to unlock here.</p>"#.to_owned(),
        LockState::Unlocked => r#"<p class="good">The vault is unlocked. <a href="/tokens">Go to your tokens</a>.</p>"#.to_owned(),
        LockState::Locked => format!(
            r#"<section class="card"><p>The encrypted vault file is locked. Its passphrase unlocks it for 8 hours, for this app and for programs (MCP servers) that read it.</p>
<form method="post" action="/unlock"><input type="hidden" name="csrf" value="{csrf}">
<div class="field"><label for="passphrase">Passphrase</label><input id="passphrase" name="passphrase" type="password" autocomplete="current-password" required autofocus></div>
<button type="submit">Unlock</button></form></section>"#
        ),
        LockState::Missing => format!(
            r#"<section class="card"><p>There is no vault yet. Choose its passphrase: it encrypts the vault file and cannot be recovered if you forget it.</p>
<form method="post" action="/unlock"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="create" value="yes">
<div class="field"><label for="passphrase">New passphrase</label><input id="passphrase" name="passphrase" type="password" autocomplete="new-password" required autofocus></div>
<div class="field"><label for="passphrase2">Again</label><input id="passphrase2" name="passphrase2" type="password" autocomplete="new-password" required></div>
<button type="submit">Create the vault</button></form></section>"#
        ),
    };
    Ok(Page {
        title: "Unlock".into(),
        banner: String::new(),
        body,
    })
}

pub fn unlock(app: &App, form: &HashMap<String, String>) -> Result<Done> {
    let mut ctx = app.ctx();
    let passphrase =
        Secret::from_str_copy(form.get("passphrase").map(String::as_str).unwrap_or(""));
    let creating = field(form, "create") == "yes";
    if creating {
        if form.get("passphrase2").map(String::as_str).unwrap_or("") != passphrase.expose_secret() {
            return Err(hinted(
                "the two passphrases differ",
                "type the same passphrase twice",
            ));
        }
        crate::prompt::check_strength(&passphrase, false)?;
    }
    if ctx.choose_backend()?.kind != BackendKind::File {
        return Ok(Done::Redirect("/tokens".into()));
    }
    tokenvault_store::fsutil::ensure_private_dir(&ctx.settings.paths.home)?;
    let store = ctx.file_store_with(Arc::new(tokenvault_store::FixedPassphrase(Some(
        passphrase,
    ))));
    let result = store
        .unlock(Some(std::time::Duration::from_secs(8 * 3600)))
        .map_err(anyhow::Error::from);
    crate::audit::record(
        &ctx,
        "unlock",
        Some("file"),
        &[],
        &crate::audit::outcome_of(&result),
    );
    result?;
    app.set_flash(Flash {
        kind: "ok",
        title: if creating {
            "Created and unlocked the vault for 8 hours.".into()
        } else {
            "Unlocked the vault for 8 hours.".into()
        },
        body: "<p>Lock it again with <code>tokenvault lock</code>.</p>".into(),
    });
    Ok(Done::Redirect("/tokens".into()))
}
