//! Who uses which stored value: the profiles of the config, the MCP servers that launch through
//! tokenvault (`tokenvault run -e VAR=tv://…`, `mcp proxy --header '… {{ tv://… }}'`, a
//! `headersHelper`), and the wrapper scripts `tokenvault wrapper` wrote. `rm` refuses to delete a
//! value something still uses (without `--force`), and `status` and `doctor` report references
//! whose value is not stored (dangling). Shared by those commands, so it lives outside `cmd`.
//!
//! Wrapper scripts live anywhere, so `wrapper` records each one it writes in `wrappers.json`
//! (tokenvault's home, 0600: paths and `run` options, references only). A recorded script that
//! is gone, or no longer carries the line `wrapper` writes, is not counted.

use crate::mcp::files as mcp_files;
use crate::settings::Settings;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tokenvault_core::mcp::server::{self, VaultUse};
use tokenvault_core::mcp::ClientId;
use tokenvault_core::{dotenv, Catalogue, Reference};
use tokenvault_store::fsutil;
use tokenvault_store::index::Index;

/// Who names a reference.
#[derive(Debug, Clone)]
pub enum User {
    Profile {
        name: String,
        variable: String,
    },
    Mcp {
        client: ClientId,
        path: PathBuf,
        server: String,
        /// The variable or header (`HF_TOKEN`, `header Authorization`, `HF_TOKEN via profile p`).
        place: String,
    },
    Wrapper {
        path: PathBuf,
        place: String,
    },
}

impl User {
    /// `profile hf-mcp (HF_TOKEN)`, `cursor server 'hf' in ~/.cursor/mcp.json (HF_TOKEN)`,
    /// `wrapper /home/me/bin/hf.sh (HF_TOKEN)`.
    pub fn label(&self) -> String {
        match self {
            User::Profile { name, variable } => format!("profile {name} ({variable})"),
            User::Mcp {
                client,
                path,
                server,
                place,
            } => format!(
                "{} server '{server}' in {} ({place})",
                client.id(),
                mcp_files::tilde(path)
            ),
            User::Wrapper { path, place } => format!("wrapper {} ({place})", path.display()),
        }
    }

    /// What to change instead of storing the value, for hints: "point the profile …".
    pub fn how_to_change(&self) -> String {
        match self {
            User::Profile { name, .. } => format!(
                "point the profile elsewhere (`tokenvault profile set {name} …`) or remove it (`tokenvault profile rm {name}`)"
            ),
            User::Mcp { path, server, .. } => format!(
                "edit or remove the server '{server}' in {}",
                mcp_files::tilde(path)
            ),
            User::Wrapper { path, .. } => {
                format!("write the wrapper again or delete {}", path.display())
            }
        }
    }
}

/// One reference and who names it.
#[derive(Debug, Clone)]
pub struct Use {
    pub user: User,
    pub reference: Reference,
}

/// Everything found, and what could not be looked at.
#[derive(Debug, Default)]
pub struct Uses {
    pub uses: Vec<Use>,
    /// Profile entries that are not references (`profile p: VAR: why`).
    pub bad_profiles: Vec<String>,
    /// Client configs that could not be read (each error names its file).
    pub unreadable: Vec<String>,
}

/// Every use of a stored value on this machine.
pub fn gather(settings: &Settings) -> Uses {
    let mut out = Uses::default();
    let profiles = &settings.config.config.profiles;
    for (name, vars) in profiles {
        for (variable, text) in vars {
            match Reference::parse(text) {
                Ok(reference) => out.uses.push(Use {
                    user: User::Profile {
                        name: name.clone(),
                        variable: variable.clone(),
                    },
                    reference,
                }),
                Err(e) => out
                    .bad_profiles
                    .push(format!("profile {name}: {variable}: {e}")),
            }
        }
    }
    if let Ok(machine) = mcp_files::machine() {
        for found in mcp_files::discover(&machine, None) {
            let loaded = match mcp_files::load(&found) {
                Ok(l) => l,
                Err(e) => {
                    out.unreadable.push(crate::error::message_of(&e));
                    continue;
                }
            };
            let entries = match loaded.doc.entries(found.client) {
                Ok(e) => e,
                Err(e) => {
                    out.unreadable
                        .push(format!("{}: {e}", found.path.display()));
                    continue;
                }
            };
            for e in entries {
                let t = server::transport(found.client, &e.value);
                let user = |place: String| User::Mcp {
                    client: found.client,
                    path: found.path.clone(),
                    server: e.name.clone(),
                    place,
                };
                expand(server::vault_uses(&t), &user, settings, &mut out.uses);
            }
        }
    }
    for w in recorded_wrappers(&settings.paths.home) {
        let user = |place: String| User::Wrapper {
            path: w.path.clone(),
            place,
        };
        expand(
            server::run_options(&w.options),
            &user,
            settings,
            &mut out.uses,
        );
    }
    out
}

/// `uses` as references: a profile named by a server or a wrapper, and the `tv://` values of an
/// env file, become their references.
fn expand(
    uses: Vec<VaultUse>,
    user: &dyn Fn(String) -> User,
    settings: &Settings,
    out: &mut Vec<Use>,
) {
    for u in uses {
        match u {
            VaultUse::Reference { place, reference } => out.push(Use {
                user: user(place),
                reference,
            }),
            VaultUse::Profile(name) => {
                for (var, text) in settings
                    .config
                    .config
                    .profiles
                    .get(&name)
                    .into_iter()
                    .flatten()
                {
                    if let Ok(reference) = Reference::parse(text) {
                        out.push(Use {
                            user: user(format!("{var} via profile {name}")),
                            reference,
                        });
                    }
                }
            }
            VaultUse::EnvFile(path) => {
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                for e in dotenv::parse(&text).unwrap_or_default() {
                    if Reference::is_uri(&e.value) {
                        if let Ok(reference) = Reference::parse(&e.value) {
                            out.push(Use {
                                user: user(format!("{} from {path}", e.key)),
                                reference,
                            });
                        }
                    }
                }
            }
        }
    }
}

/// The item and field `r` names: a bare `tv://ITEM` means the provider's default field (what
/// the index recorded as the item's provider, else its name's), `token` for an unknown provider.
/// The same rule as the vault's, without opening one.
pub fn key_of(catalogue: &Catalogue, index: &Index, r: &Reference) -> Option<(String, String)> {
    let recorded = index
        .items
        .get(r.item.as_str())
        .and_then(|m| m.provider.as_deref());
    let provider = recorded
        .and_then(|id| catalogue.get(id))
        .or_else(|| catalogue.for_item(&r.item));
    let default = provider.map_or("token", |p| p.default_field.as_str());
    let (item, field) = r.resolve(default).ok()?;
    Some((item.as_str().to_owned(), field.as_str().to_owned()))
}

const REGISTRY: &str = "wrappers.json";
/// The line every script `tokenvault wrapper` writes carries (`cmd/wrapper.rs`).
const WRAPPER_MARK: &str = "generated by `tokenvault wrapper`";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Registry {
    #[serde(default)]
    wrappers: Vec<Recorded>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Recorded {
    path: PathBuf,
    /// The `run` options of the script (before `--`): references, profiles, env files.
    options: Vec<String>,
}

fn load_registry(home: &Path) -> Registry {
    std::fs::read_to_string(home.join(REGISTRY))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// The recorded wrapper scripts that still exist and are still ours.
fn recorded_wrappers(home: &Path) -> Vec<Recorded> {
    load_registry(home)
        .wrappers
        .into_iter()
        .filter(|w| std::fs::read_to_string(&w.path).is_ok_and(|text| text.contains(WRAPPER_MARK)))
        .collect()
}

/// Records the wrapper script at `path` (absolute) with its `run` options, replacing an older
/// record of the same path and dropping records of scripts that are gone.
pub fn record_wrapper(home: &Path, path: &Path, options: &[String]) -> Result<()> {
    fsutil::ensure_private_dir(home)?;
    let _lock = fsutil::FileLock::exclusive(&home.join("wrappers.lock"))?;
    let mut registry = load_registry(home);
    registry
        .wrappers
        .retain(|w| w.path != path && w.path.exists());
    registry.wrappers.push(Recorded {
        path: path.to_owned(),
        options: options.to_vec(),
    });
    let text = serde_json::to_string_pretty(&registry).context("recording the wrapper")?;
    fsutil::atomic_write(&home.join(REGISTRY), text.as_bytes())?;
    Ok(())
}
