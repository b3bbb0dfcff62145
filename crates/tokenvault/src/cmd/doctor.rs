//! `tokenvault doctor`: explains the setup and finds what is wrong — which backend and why, whether
//! the OS keychain is usable, the vault's state and permissions, variables that shadow the vault,
//! core-dump hardening, and plaintext tokens still lying in known places (the Hub's token files,
//! `.env` files under the current directory, the ipfs_kit config), each with the exact `tokenvault
//! import` command that moves it into the vault and removes the plaintext; and `tv://` references
//! in MCP client configs that nothing resolves (the server gets the literal text); and a count of
//! the plaintext copies in the home directory's places (`services::home_scan`, the same scan as
//! `tokenvault scan --home`). Exit 1 when it finds a problem.

use crate::backends;
use crate::context::{Ctx, Outcome};
use crate::envvars;
use crate::exec::hardening;
use crate::printer::Tone;
use crate::services::home_scan;
use crate::services::import_sources as import;
use crate::vault::mask_for;
use anyhow::Result;
use serde_json::json;
use std::path::{Path, PathBuf};
use tokenvault_core::dotenv::shell_quote;
use tokenvault_core::Catalogue;
use tokenvault_store::fsutil;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Ok,
    Info,
    Problem,
}

struct Check {
    name: &'static str,
    level: Level,
    detail: String,
    hint: Option<String>,
    /// The file a finding is about (`--json`), when there is one.
    path: Option<PathBuf>,
}

fn check(name: &'static str, level: Level, detail: impl Into<String>) -> Check {
    Check {
        name,
        level,
        detail: detail.into(),
        hint: None,
        path: None,
    }
}

fn permissions(name: &'static str, path: &Path) -> Option<Check> {
    if !path.exists() {
        return None;
    }
    Some(match fsutil::check_private_file(path) {
        Ok(()) => check(name, Level::Ok, format!("{} is private", path.display())),
        Err(e) => Check {
            hint: e.hint(),
            ..check(name, Level::Problem, e.to_string())
        },
    })
}

pub fn run(ctx: &mut Ctx) -> Result<Outcome> {
    let mut checks = Vec::new();
    where_things_are(ctx, &mut checks);
    let usable = backend_checks(ctx, &mut checks)?;
    file_vault_checks(ctx, &mut checks);
    environment_checks(&mut checks);
    checks.extend(gone_launchers());
    plaintext_checks(ctx, &mut checks);
    checks.push(home_copies(ctx));
    checks.extend(unresolved_references(&ctx.settings.catalogue));
    checks.extend(dangling_references(ctx, usable));
    hardening_check(&mut checks);
    report(ctx, &checks)
}

/// The version, the data and config locations, and the home's permissions.
fn where_things_are(ctx: &Ctx, checks: &mut Vec<Check>) {
    let home = ctx.settings.paths.home.clone();
    checks.push(check(
        "version",
        Level::Info,
        format!(
            "tokenvault {} at {}",
            env!("CARGO_PKG_VERSION"),
            std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ),
    ));
    checks.push(check(
        "home",
        Level::Info,
        format!(
            "data in {}, config {}",
            home.display(),
            ctx.settings.paths.config.display()
        ),
    ));
    if let Some(c) = permissions("home permissions", &home) {
        checks.push(c);
    }
}

/// Which backends can be used now, the one chosen and whether it works; `true` when a chosen
/// backend is usable.
fn backend_checks(ctx: &Ctx, checks: &mut Vec<Check>) -> Result<bool> {
    // Each backend that can be unusable says whether it can be used now.
    let mut probes = Vec::new();
    for def in backends::ALL.iter().filter(|d| d.probe.is_some()) {
        let probe = def.check(&ctx.settings);
        checks.push(match &probe {
            Ok(()) => check(def.kind.as_str(), Level::Ok, def.healthy),
            Err(why) => check(
                def.kind.as_str(),
                Level::Info,
                format!("{} not usable: {why}", def.short),
            ),
        });
        probes.push((def.kind, probe));
    }
    let probe_of = |kind| {
        probes
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(Ok(()), |(_, p)| p.clone())
    };

    let requested = ctx.settings.requested_backend()?;
    let (kind, why) = match &requested {
        Some(c) => (c.kind, c.reason.clone()),
        None => {
            let auto = backends::automatic_choice(&ctx.settings);
            let def = backends::def(auto.kind);
            (
                auto.kind,
                format!(
                    "not chosen yet; the first command that needs it will pick {} ({})",
                    def.what, auto.reason
                ),
            )
        }
    };
    checks.push(check("backend", Level::Info, format!("{kind}: {why}")));
    if let (Some(c), Err(why)) = (&requested, probe_of(kind)) {
        let def = backends::def(c.kind);
        checks.push(Check {
            hint: Some(def.unusable_hint.into()),
            ..check(
                "backend health",
                Level::Problem,
                format!("the {} backend is selected but unusable: {why}", c.kind),
            )
        });
    }

    Ok(requested.as_ref().is_some_and(|c| probe_of(c.kind).is_ok()))
}

/// The file vault: where, locked or not, permissions and integrity; a vault that went missing;
/// the index's and config's permissions.
fn file_vault_checks(ctx: &Ctx, checks: &mut Vec<Check>) {
    let home = ctx.settings.paths.home.clone();
    let store = ctx.file_store();
    let vault = store.vault_path().to_owned();
    if vault.exists() {
        checks.push(check(
            "file vault",
            Level::Info,
            format!(
                "{} ({})",
                vault.display(),
                if store.is_unlocked() {
                    "unlocked: key cached"
                } else {
                    "locked: needs a passphrase or `tokenvault unlock`"
                }
            ),
        ));
        if let Some(c) = permissions("vault permissions", &vault) {
            checks.push(c);
        }
        vault_integrity(ctx, &store, checks);
    } else if let Some(generation) = Some(store.seen_generation()).filter(|g| *g > 0) {
        checks.push(Check {
            hint: Some(
                "restore it: `tokenvault backup list`, then `tokenvault backup restore N`".into(),
            ),
            ..check(
                "file vault",
                Level::Problem,
                format!(
                    "{} is missing, but this machine has used it (last seen at generation {generation}); nothing will be created in its place",
                    vault.display()
                ),
            )
        });
    } else {
        checks.push(check(
            "file vault",
            Level::Info,
            format!("none yet at {}", vault.display()),
        ));
    }
    let index_path = home.join("index.json");
    if let Some(c) = permissions("index permissions", &index_path) {
        checks.push(c);
    }
    if let Some(c) = permissions("config permissions", &ctx.settings.paths.config.clone()) {
        checks.push(Check {
            level: if c.level == Level::Problem {
                Level::Info
            } else {
                c.level
            },
            ..c
        });
    }
}

/// Tokens and passphrases in this process's environment.
fn environment_checks(checks: &mut Vec<Check>) {
    for var in [envvars::HF_TOKEN, envvars::HUGGING_FACE_HUB_TOKEN] {
        if envvars::get(var).is_some() {
            checks.push(Check {
                hint: Some(format!("unset {var} in your shell profile and let `tokenvault run` provide it")),
                ..check("shadowing", Level::Problem, format!("{var} is set in this environment: programs read it instead of the vault, and it is a plaintext copy of a token"))
            });
        }
    }
    if crate::prompt::passphrase_in_environment() {
        checks.push(Check {
            hint: Some(
                "prefer TOKENVAULT_PASSPHRASE_FILE (a 0600 file) or `tokenvault unlock`".into(),
            ),
            ..check(
                "passphrase",
                Level::Info,
                "TOKENVAULT_PASSPHRASE is set: every other program this shell starts can read it (tokenvault itself never passes it on)",
            )
        });
    }
    if let Some(value) = crate::prompt::session_value() {
        let shaped = tokenvault_store::keycache::SessionCache::from_value(
            std::path::Path::new(""),
            value.expose_secret(),
        )
        .is_some();
        checks.push(if shaped {
            check(
                "session",
                Level::Info,
                "TOKENVAULT_SESSION is set: commands of this shell read the vault without a passphrase until `tokenvault lock` or the session's timeout (tokenvault never passes it on)",
            )
        } else {
            Check {
                hint: Some("set it to the line `tokenvault unlock --session` prints, or unset it".into()),
                ..check(
                    "session",
                    Level::Problem,
                    "TOKENVAULT_SESSION is set but is not a session `tokenvault unlock --session` printed: it opens nothing",
                )
            }
        });
    }
}

/// Plaintext tokens in the places `import` reads (dotenv files, the Hub's token file, …).
fn plaintext_checks(ctx: &Ctx, checks: &mut Vec<Check>) {
    for finder in PLAINTEXT_FINDERS {
        let found = finder(&ctx.settings.catalogue);
        for f in found.findings {
            checks.push(Check {
                hint: Some(format!(
                    "move it into the vault and remove the plaintext: {}",
                    f.fix
                )),
                path: Some(f.path),
                ..check(
                    "plaintext token",
                    Level::Problem,
                    format!("{}: {} {} {}", f.origin, f.provider, f.field, f.masked),
                )
            });
        }
        for n in found.unreadable {
            checks.push(check("plaintext token", Level::Info, n));
        }
    }
}

fn hardening_check(checks: &mut Vec<Check>) {
    checks.push(if hardening::core_dumps_disabled() {
        check(
            "hardening",
            Level::Ok,
            "core dumps disabled while tokenvault runs",
        )
    } else {
        check(
            "hardening",
            Level::Info,
            "core dumps could not be disabled on this platform",
        )
    });
}

/// The checks as a table (or JSON); `Negative` when any is a problem.
fn report(ctx: &Ctx, checks: &[Check]) -> Result<Outcome> {
    let problems = checks.iter().filter(|c| c.level == Level::Problem).count();
    if ctx.settings.global.json {
        ctx.printer.json(&json!(checks
            .iter()
            .map(|c| json!({
                "check": c.name,
                "status": match c.level { Level::Ok => "ok", Level::Info => "info", Level::Problem => "problem" },
                "detail": c.detail,
                "hint": c.hint,
                "path": c.path,
            }))
            .collect::<Vec<_>>()))?;
    } else {
        let mut out = String::new();
        for c in checks {
            let (word, pad, tone) = match c.level {
                Level::Ok => ("ok", "  ", Tone::Good),
                Level::Info => ("info", "", Tone::Info),
                Level::Problem => ("FAIL", "", Tone::Bad),
            };
            out.push_str(&format!(
                "[{}{pad}] {:<18} {}\n",
                ctx.printer.paint(word, tone),
                c.name,
                c.detail
            ));
            if let Some(h) = &c.hint {
                out.push_str(&format!("       {:<18} hint: {h}\n", ""));
            }
        }
        out.push_str(&format!(
            "\n{} found.\n",
            tokenvault_core::words::count(problems, "problem")
        ));
        ctx.printer.data(&out)?;
    }
    Ok(if problems > 0 {
        Outcome::Negative
    } else {
        Outcome::Success
    })
}

/// Plaintext copies in the home directory's places (histories, logs, transcripts, credential
/// files…): a count by kind of place, pointing at `tokenvault scan --home` for each finding.
fn home_copies(ctx: &mut Ctx) -> Check {
    let scan = home_scan::home_dir().and_then(|dir| {
        let built = home_scan::build_scanner(ctx, true)?;
        let places = tokenvault_core::places::Places::builtin();
        Ok(home_scan::scan(
            &dir,
            &places,
            home_scan::this_os(),
            &built.scanner,
            0,
            &|_, _| {},
        ))
    });
    let scan = match scan {
        Ok(s) => s,
        Err(e) => {
            return check(
                "home copies",
                Level::Info,
                format!("the home directory was not scanned: {e:#}"),
            )
        }
    };
    let summary = home_scan::summary(&scan);
    if summary.findings == 0 {
        return check(
            "home copies",
            Level::Ok,
            format!(
                "no token found in the {} the places catalogue names (histories, logs, transcripts, credential files)",
                tokenvault_core::words::count(usize::try_from(scan.files).unwrap_or(usize::MAX), "file")
            ),
        );
    }
    let kinds: Vec<String> = summary
        .by_kind
        .iter()
        .map(|(k, n)| format!("{n} in {}", k.as_str()))
        .collect();
    Check {
        hint: Some(
            "see each with `tokenvault scan --home`; `tokenvault scan --home --fix` redacts histories and logs and says how to fix the rest".into(),
        ),
        ..check(
            "home copies",
            Level::Problem,
            format!(
                "{} of tokens in your home directory ({})",
                tokenvault_core::words::count_with(summary.findings, "plaintext copy", "plaintext copies"),
                kinds.join(", ")
            ),
        )
    }
}

/// MCP servers launched through a tokenvault binary that is no longer there (an upgrade moved
/// it, a build directory was cleaned): the client cannot start them.
fn gone_launchers() -> Vec<Check> {
    let mut out = Vec::new();
    let Ok(machine) = crate::mcp::files::machine() else {
        return out;
    };
    let here = crate::exec::launcher::self_path().ok();
    for found in crate::mcp::files::discover(&machine, None) {
        let Ok(loaded) = crate::mcp::files::load(&found) else {
            continue;
        };
        let Ok(entries) = loaded.doc.entries(found.client) else {
            continue;
        };
        for e in entries {
            let tokenvault_core::mcp::Transport::Stdio(stdio) =
                tokenvault_core::mcp::server::transport(found.client, &e.value)
            else {
                continue;
            };
            let command = Path::new(&stdio.command);
            let ours = command.file_name().is_some_and(|n| n == "tokenvault");
            if !(ours && command.is_absolute()) || command.exists() {
                continue;
            }
            out.push(Check {
                hint: Some(match &here {
                    Some(p) => format!(
                        "change \"{}\" to \"{}\" in that file (a path your PATH finds survives upgrades)",
                        stdio.command,
                        p.display()
                    ),
                    None => "point it at the tokenvault binary".into(),
                }),
                path: Some(found.path.clone()),
                ..check(
                    "launcher",
                    Level::Problem,
                    format!(
                        "{} server '{}' runs {}, which no longer exists: the client cannot start it",
                        found.client.name(),
                        e.name,
                        stdio.command
                    ),
                )
            });
        }
    }
    out
}

/// A plaintext token lying in a known place, and the command that moves it into the vault.
pub struct PlaintextFinding {
    /// The file holding it.
    pub path: PathBuf,
    /// Where in the file (`path:line VAR`, `path [name]`, `path section.key`).
    pub origin: String,
    /// The provider's name and the field (`Hugging Face`, `token`).
    pub provider: String,
    pub field: String,
    /// The masked value (`hf_ab…wxyz`), never the value.
    pub masked: String,
    /// The exact command that imports it and removes the plaintext.
    pub fix: String,
}

/// What one finder reports: findings, and files it could not read (as info lines).
#[derive(Default)]
pub struct PlaintextFinds {
    pub findings: Vec<PlaintextFinding>,
    pub unreadable: Vec<String>,
}

/// Every place doctor looks for plaintext tokens. Adding a place is adding a function here.
const PLAINTEXT_FINDERS: &[fn(&Catalogue) -> PlaintextFinds] = &[
    hub_token_files,
    dotenv_files_here,
    ipfs_kit_config,
    mcp_client_configs,
];

/// Plaintext secrets in the MCP clients' config files, one finding per secret, each fixed by
/// `tokenvault mcp secure --client C --server S` (or by hand for a token on a command line).
fn mcp_client_configs(catalogue: &Catalogue) -> PlaintextFinds {
    let mut out = PlaintextFinds::default();
    let Ok(machine) = crate::mcp::files::machine() else {
        return out;
    };
    for found in crate::mcp::files::discover(&machine, None) {
        let servers = match crate::mcp::files::load(&found)
            .and_then(|l| crate::mcp::files::inspect(&l, catalogue))
        {
            Ok(s) => s,
            Err(e) => {
                out.unreadable.push(format!("{e:#}"));
                continue;
            }
        };
        for server in servers {
            for f in &server.findings {
                let (provider, field) = match &f.provider {
                    Some((p, field)) => (
                        catalogue
                            .get(p)
                            .map(|p| p.name.clone())
                            .unwrap_or_else(|| p.clone()),
                        field.clone(),
                    ),
                    None => ("(unknown provider)".to_owned(), "secret".to_owned()),
                };
                let fix = if f.place.movable() {
                    format!(
                        "tokenvault mcp secure --client {} --server {}",
                        found.client.id(),
                        shell_word(Path::new(&server.name))
                    )
                } else {
                    format!(
                        "by hand: the token is in {} of server '{}' (see `tokenvault mcp secure --dry-run`)",
                        f.place.describe(),
                        server.name
                    )
                };
                out.findings.push(PlaintextFinding {
                    path: found.path.clone(),
                    origin: format!(
                        "{} ({} server '{}', {})",
                        found.path.display(),
                        found.client.name(),
                        server.name,
                        f.place.describe()
                    ),
                    provider,
                    field,
                    masked: crate::mcp::files::masked(catalogue, f),
                    fix,
                });
            }
        }
    }
    out
}

/// `tv://` references in the MCP clients' configs that nothing resolves: the server gets the
/// literal text as its token. Each is fixed by `tokenvault mcp secure --client C --server S`
/// (which launches the server through `tokenvault run`), or by hand where the note says so.
fn unresolved_references(catalogue: &Catalogue) -> Vec<Check> {
    let mut out = Vec::new();
    let Ok(machine) = crate::mcp::files::machine() else {
        return out;
    };
    for found in crate::mcp::files::discover(&machine, None) {
        // An unreadable config is reported by the plaintext check already.
        let Ok(servers) =
            crate::mcp::files::load(&found).and_then(|l| crate::mcp::files::inspect(&l, catalogue))
        else {
            continue;
        };
        for server in servers {
            for u in &server.unresolved {
                let hint = if u.reference.is_some()
                    && !matches!(u.place, tokenvault_core::mcp::Place::Header { .. })
                {
                    format!(
                        "launch the server through `tokenvault run`, which resolves it: tokenvault mcp secure --client {} --server {}",
                        found.client.id(),
                        shell_word(Path::new(&server.name))
                    )
                } else {
                    tokenvault_core::mcp::secure::unresolved_note(
                        found.client,
                        &server.name,
                        &server.transport,
                        u,
                    )
                };
                out.push(Check {
                    hint: Some(hint),
                    path: Some(found.path.clone()),
                    ..check(
                        "unresolved tv://",
                        Level::Problem,
                        format!(
                            "{} ({} server '{}', {}): {} is not resolved; the server gets the literal string",
                            found.path.display(),
                            found.client.name(),
                            server.name,
                            u.place.describe(),
                            u.text
                        ),
                    )
                });
            }
        }
    }
    out
}

/// References that a profile, an MCP server launched through tokenvault or a wrapper script
/// names but the vault does not hold: each would fail at its next launch. What is stored comes
/// from the index (and the keychain's own list), so no vault is opened.
fn dangling_references(ctx: &Ctx, backend_usable: bool) -> Vec<Check> {
    let uses = crate::services::usage::gather(&ctx.settings);
    if uses.uses.is_empty() {
        return Vec::new();
    }
    let kind = ctx
        .settings
        .requested_backend()
        .ok()
        .flatten()
        .map(|c| c.kind);
    let index = tokenvault_store::index::IndexFile::new(&ctx.settings.paths.home)
        .load()
        .unwrap_or_default();
    let mut stored: std::collections::BTreeSet<(String, String)> = index
        .items
        .iter()
        .filter(|(_, m)| kind.is_none_or(|k| k == m.backend))
        .flat_map(|(i, m)| m.fields.keys().map(move |f| (i.clone(), f.clone())))
        .collect();
    // A store that lists its own entries may hold some the index does not (made with other
    // tools); it is asked only when it is usable, and only if that asks no one anything.
    let enumerating = kind.map(backends::def).filter(|d| d.enumerates);
    if let (Some(def), true) = (enumerating, backend_usable) {
        use tokenvault_store::Slot;
        if let Ok(Some(backend)) = (def.open)(&ctx.settings, backends::Access::Quiet) {
            if let Ok(Some(keys)) = backend.store().list() {
                stored.extend(
                    keys.iter()
                        .filter(|k| k.slot == Slot::Current)
                        .map(|k| (k.item.as_str().to_owned(), k.field.as_str().to_owned())),
                );
            }
        }
    }
    let backend = kind
        .map(|k| format!(" in the {k} backend"))
        .unwrap_or_default();
    let mut out = Vec::new();
    for u in &uses.uses {
        let Some((item, field)) =
            crate::services::usage::key_of(&ctx.settings.catalogue, &index, &u.reference)
        else {
            continue;
        };
        if stored.contains(&(item.clone(), field.clone())) {
            continue;
        }
        out.push(Check {
            hint: Some(format!(
                "store it: `tokenvault set {item}/{field}`; or {}",
                u.user.how_to_change()
            )),
            path: match &u.user {
                crate::services::usage::User::Mcp { path, .. } | crate::services::usage::User::Wrapper { path, .. } => {
                    Some(path.clone())
                }
                crate::services::usage::User::Profile { .. } => None,
            },
            ..check(
                "dangling ref",
                Level::Problem,
                format!(
                    "{} names tv://{item}/{field}, which is not stored{backend}; it fails at its next launch",
                    u.user.label()
                ),
            )
        });
    }
    out
}

/// `path` as a shell word for a command the user can paste.
fn shell_word(path: &Path) -> String {
    let s = path.display().to_string();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c))
    {
        s
    } else {
        shell_quote(&s)
    }
}

/// The secret candidates of an import source as findings, each fixed by `fix`.
fn findings_of(
    catalogue: &Catalogue,
    found: Result<import::Found>,
    fix: impl Fn(&Path) -> String,
    out: &mut PlaintextFinds,
) {
    let found = match found {
        Ok(f) => f,
        Err(e) => {
            // Import errors name the file and line, never a value.
            out.unreadable
                .push(format!("could not look for tokens: {e:#}"));
            return;
        }
    };
    for c in found.candidates.iter().filter(|c| c.secret) {
        let Some(path) = c.sources.first().map(|&i| found.sources[i].path.clone()) else {
            continue;
        };
        let provider = match &c.provider {
            Some(id) => catalogue
                .get(id)
                .map(|p| p.name.clone())
                .unwrap_or_else(|| id.clone()),
            None => format!("custom item {}", c.item),
        };
        out.findings.push(PlaintextFinding {
            fix: fix(&path),
            origin: c.origin.clone(),
            provider,
            field: c.field.clone(),
            masked: mask_for(
                catalogue,
                c.provider.as_deref(),
                &c.field,
                c.value.expose_secret(),
            ),
            path,
        });
    }
}

/// The Hub's token file and `stored_tokens`, where `huggingface_hub` (`hf auth login`) keeps them.
fn hub_token_files(catalogue: &Catalogue) -> PlaintextFinds {
    let mut out = PlaintextFinds::default();
    if import::hf_token_path().is_none() {
        return out;
    }
    findings_of(
        catalogue,
        import::huggingface(catalogue),
        |_| "tokenvault import huggingface --shred".to_owned(),
        &mut out,
    );
    out
}

/// `~/.ipfs_kit/config.json`.
fn ipfs_kit_config(catalogue: &Catalogue) -> PlaintextFinds {
    let mut out = PlaintextFinds::default();
    let Some(path) = import::ipfs_kit_path().filter(|p| p.is_file()) else {
        return out;
    };
    findings_of(
        catalogue,
        import::ipfs_kit(catalogue, Some(&path)),
        |p| format!("tokenvault import ipfs-kit {} --shred", shell_word(p)),
        &mut out,
    );
    out
}

/// How deep below the current directory `.env` files are looked for.
const DOTENV_DEPTH: usize = 4;
/// At most this many directory entries are looked at, so doctor stays quick in a huge tree.
const DOTENV_MAX_ENTRIES: usize = 20_000;
/// Larger files are not dotenv files anyone wrote by hand.
const DOTENV_MAX_SIZE: u64 = 1 << 20;
/// Directories that hold dependencies, build output or history, never a hand-written `.env`.
const SKIP_DIRS: &[&str] = &[
    ".git",
    "node_modules",
    "target",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    ".cache",
    "dist",
    "build",
    "vendor",
];

fn is_dotenv_name(name: &str) -> bool {
    name == ".env" || name.starts_with(".env.") || (name.ends_with(".env") && name.len() > 4)
}

/// `.env`, `.env.*` and `*.env` files in the current directory tree (bounded depth and size,
/// symlinks not followed, dependency and build directories skipped).
fn dotenv_files_here(catalogue: &Catalogue) -> PlaintextFinds {
    let mut out = PlaintextFinds::default();
    let Ok(root) = std::env::current_dir() else {
        return out;
    };
    let mut files = Vec::new();
    let mut stack = vec![(root, 0usize)];
    let mut seen = 0usize;
    while let Some((dir, depth)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in rd.flatten() {
            seen += 1;
            if seen > DOTENV_MAX_ENTRIES {
                out.unreadable.push(format!(
                    "stopped looking for .env files after {DOTENV_MAX_ENTRIES} entries under the current directory"
                ));
                stack.clear();
                break;
            }
            let Ok(ft) = entry.file_type() else { continue };
            let name = entry.file_name().to_string_lossy().into_owned();
            if ft.is_dir() {
                if depth < DOTENV_DEPTH && !SKIP_DIRS.contains(&name.as_str()) {
                    stack.push((entry.path(), depth + 1));
                }
            } else if ft.is_file()
                && is_dotenv_name(&name)
                && entry.metadata().is_ok_and(|m| m.len() <= DOTENV_MAX_SIZE)
            {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    for f in files {
        findings_of(
            catalogue,
            import::dotenv_file(catalogue, &f, import::Unknown::SecretNamed),
            |p| {
                format!(
                    "tokenvault import dotenv {} --rewrite --shred",
                    shell_word(p)
                )
            },
            &mut out,
        );
    }
    out
}

/// With a key at hand (cached by `unlock`, or a passphrase from the environment; never a prompt):
/// the vault decrypts, is not older than the generation seen here, and the index lists what it
/// holds. Also how many generations are kept.
fn vault_integrity(ctx: &Ctx, store: &tokenvault_store::file::FileStore, checks: &mut Vec<Check>) {
    use tokenvault_store::{Slot, Store};
    if let Ok(backups) = store.backups() {
        if let (Some(newest), Some(oldest)) = (backups.first(), backups.last()) {
            checks.push(check(
                "vault backups",
                Level::Info,
                format!(
                    "{} kept ({}…{}); `tokenvault backup list`",
                    tokenvault_core::words::count(backups.len(), "replaced generation"),
                    oldest.generation,
                    newest.generation
                ),
            ));
        }
    }
    if !(store.is_unlocked() || crate::prompt::passphrase_configured()) {
        return;
    }
    let held = match store.list() {
        Ok(k) => k
            .unwrap_or_default()
            .into_iter()
            .filter(|k| !backends::is_internal(k))
            .collect::<Vec<_>>(),
        Err(e) => {
            checks.push(Check {
                hint: e.hint(),
                ..check("vault integrity", Level::Problem, e.to_string())
            });
            return;
        }
    };
    let index = tokenvault_store::index::IndexFile::new(&ctx.settings.paths.home)
        .load()
        .unwrap_or_default();
    let mut in_index: Vec<String> = index
        .items
        .iter()
        .filter(|(_, m)| m.backend == tokenvault_store::BackendKind::File)
        .flat_map(|(i, m)| m.fields.keys().map(move |f| format!("{i}/{f}")))
        .collect();
    let mut in_vault: Vec<String> = held
        .iter()
        .filter(|k| k.slot == Slot::Current)
        .map(|k| format!("{}/{}", k.item, k.field))
        .collect();
    in_index.sort();
    in_vault.sort();
    // The audit chain remembers the generations it saw: a vault older than one of them was rolled
    // back, even when `vault.seen` was reset with it.
    if let (Ok(Some(current)), Ok(Some(recorded))) = (
        store.current_generation(),
        crate::audit::highest_generation(&ctx.settings.paths.home),
    ) {
        if current < recorded {
            checks.push(Check {
                hint: Some(
                    "if it was not you, rotate the tokens changed since; to go back on purpose use `tokenvault backup restore N` (a new generation)".into(),
                ),
                ..check(
                    "vault rollback",
                    Level::Problem,
                    format!(
                        "the vault is generation {current}, but the audit log recorded generation {recorded}: it was rolled back (vault.seen with it)"
                    ),
                )
            });
        }
    }
    match store.state_key(false) {
        Ok(Some(key)) => {
            let untrusted = index.untrusted(&key);
            if untrusted.is_empty() {
                checks.push(check(
                    "index authenticity",
                    Level::Ok,
                    "every entry of the file vault carries a valid tag",
                ));
            } else {
                checks.push(Check {
                    hint: Some(
                        "run `tokenvault unlock`: the entries are rebuilt from the vault".into(),
                    ),
                    ..check(
                        "index authenticity",
                        Level::Problem,
                        format!(
                            "changed outside tokenvault (not believed): {}",
                            untrusted.join(", ")
                        ),
                    )
                });
            }
        }
        Ok(None) => checks.push(check(
            "index authenticity",
            Level::Info,
            "the vault has no state key yet (its next write seals the index)",
        )),
        Err(e) => checks.push(check("index authenticity", Level::Problem, e.to_string())),
    }
    if in_index == in_vault {
        checks.push(check(
            "vault integrity",
            Level::Ok,
            format!(
                "decrypts, generation {} (not rolled back), and the index lists exactly its {}",
                store.seen_generation(),
                tokenvault_core::words::count(in_vault.len(), "field")
            ),
        ));
    } else {
        let missing: Vec<&String> = in_vault.iter().filter(|k| !in_index.contains(k)).collect();
        let extra: Vec<&String> = in_index.iter().filter(|k| !in_vault.contains(k)).collect();
        checks.push(Check {
            hint: Some("run `tokenvault unlock` to bring the index in line with the vault".into()),
            ..check(
                "vault integrity",
                Level::Problem,
                format!(
                    "the index and the vault disagree: {} only in the vault, {} only in the index (the vault decides)",
                    tokenvault_core::words::count(missing.len(), "field"),
                    extra.len()
                ),
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_names() {
        for n in [".env", ".env.local", "app.env"] {
            assert!(is_dotenv_name(n), "{n}");
        }
        for n in [".envrc", "env", ".env-", "environment"] {
            assert!(!is_dotenv_name(n), "{n}");
        }
    }

    #[test]
    fn paths_become_shell_words() {
        assert_eq!(shell_word(Path::new("/a/b/.env")), "/a/b/.env");
        assert_eq!(
            shell_word(Path::new("/a b/it's.env")),
            "'/a b/it'\\''s.env'"
        );
    }
}
