//! `tokenvault doctor`: explains the setup and finds what is wrong — which backend and why, whether
//! the OS keychain is usable, the vault's state and permissions, variables that shadow the vault,
//! core-dump hardening. Exit 1 when it finds a problem.

use crate::context::{Ctx, Outcome};
use crate::{envvars, hardening};
use anyhow::Result;
use serde_json::json;
use std::path::Path;
use tokenvault_store::{fsutil, BackendKind};

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
}

fn check(name: &'static str, level: Level, detail: impl Into<String>) -> Check {
    Check {
        name,
        level,
        detail: detail.into(),
        hint: None,
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

    let probe = ctx.probe_keychain();
    checks.push(match &probe {
        Ok(()) => check(
            "keychain",
            Level::Ok,
            "the OS keychain (Secret Service) is reachable and unlocked",
        ),
        Err(why) => check(
            "keychain",
            Level::Info,
            format!("OS keychain not usable: {why}"),
        ),
    });

    let requested = ctx.settings.requested_backend()?;
    let (kind, why) = match &requested {
        Some(c) => (c.kind, c.reason.clone()),
        None => match &probe {
            Ok(()) => (BackendKind::Keychain, "not chosen yet; the first command that needs it will pick the OS keychain".into()),
            Err(_) => (BackendKind::File, "not chosen yet; the first command that needs it will pick the encrypted file (no usable OS keychain)".into()),
        },
    };
    checks.push(check("backend", Level::Info, format!("{kind}: {why}")));
    if let (Some(c), Err(why)) = (&requested, &probe) {
        if c.kind == BackendKind::Keychain {
            checks.push(Check {
                hint: Some("start your desktop keyring, or switch with --backend file".into()),
                ..check(
                    "backend health",
                    Level::Problem,
                    format!("the keychain backend is selected but unusable: {why}"),
                )
            });
        }
    }

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

    for var in [envvars::HF_TOKEN, envvars::HUGGING_FACE_HUB_TOKEN] {
        if envvars::get(var).is_some() {
            checks.push(Check {
                hint: Some(format!("unset {var} in your shell profile and let `tokenvault run` provide it")),
                ..check("shadowing", Level::Problem, format!("{var} is set in this environment: programs read it instead of the vault, and it is a plaintext copy of a token"))
            });
        }
    }
    if envvars::get(envvars::TOKENVAULT_PASSPHRASE).is_some() {
        checks.push(Check {
            hint: Some(
                "prefer TOKENVAULT_PASSPHRASE_FILE (a 0600 file) or `tokenvault unlock`".into(),
            ),
            ..check(
                "passphrase",
                Level::Info,
                "TOKENVAULT_PASSPHRASE is set: every child process of this shell can read it",
            )
        });
    }
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

    let problems = checks.iter().filter(|c| c.level == Level::Problem).count();
    if ctx.settings.global.json {
        ctx.printer.json(&json!(checks
            .iter()
            .map(|c| json!({
                "check": c.name,
                "status": match c.level { Level::Ok => "ok", Level::Info => "info", Level::Problem => "problem" },
                "detail": c.detail,
                "hint": c.hint,
            }))
            .collect::<Vec<_>>()))?;
    } else {
        let mut out = String::new();
        for c in &checks {
            let mark = match c.level {
                Level::Ok => "ok  ",
                Level::Info => "info",
                Level::Problem => "FAIL",
            };
            out.push_str(&format!("[{mark}] {:<18} {}\n", c.name, c.detail));
            if let Some(h) = &c.hint {
                out.push_str(&format!("       {:<18} hint: {h}\n", ""));
            }
        }
        out.push_str(&format!("\n{problems} problem(s) found.\n"));
        ctx.printer.data(&out)?;
    }
    Ok(if problems > 0 {
        Outcome::Negative
    } else {
        Outcome::Success
    })
}
