//! What the command line means on this machine (high-level settings): where tokenvault keeps its
//! files, the config, the provider catalogue, and which backend holds the values and why.

use crate::cli::GlobalArgs;
use crate::config::ConfigFile;
use crate::envvars;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use tokenvault_core::Catalogue;
use tokenvault_store::BackendKind;

/// Where tokenvault's files live.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Index, vault, audit log (0700).
    pub home: PathBuf,
    /// `config.toml`.
    pub config: PathBuf,
}

impl Paths {
    pub fn resolve() -> Result<Paths> {
        if let Some(home) = envvars::get(envvars::TOKENVAULT_HOME) {
            let home = PathBuf::from(home);
            return Ok(Paths {
                config: home.join("config.toml"),
                home,
            });
        }
        let user_home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("USERPROFILE").map(PathBuf::from))
            .context("cannot tell where your home directory is: set HOME, or TOKENVAULT_HOME")?;
        if cfg!(target_os = "macos") {
            let dir = user_home.join("Library/Application Support/tokenvault");
            return Ok(Paths {
                config: dir.join("config.toml"),
                home: dir,
            });
        }
        if cfg!(windows) {
            let base = std::env::var_os("APPDATA")
                .map(PathBuf::from)
                .unwrap_or_else(|| user_home.join("AppData/Roaming"));
            let dir = base.join("tokenvault");
            return Ok(Paths {
                config: dir.join("config.toml"),
                home: dir,
            });
        }
        let config_base = envvars::get(envvars::XDG_CONFIG_HOME)
            .map(PathBuf::from)
            .unwrap_or_else(|| user_home.join(".config"));
        let data_base = envvars::get(envvars::XDG_DATA_HOME)
            .map(PathBuf::from)
            .unwrap_or_else(|| user_home.join(".local/share"));
        Ok(Paths {
            config: config_base.join("tokenvault/config.toml"),
            home: data_base.join("tokenvault"),
        })
    }
}

#[derive(Debug, Clone)]
pub struct BackendChoice {
    pub kind: BackendKind,
    pub reason: String,
}

pub struct Settings {
    pub global: GlobalArgs,
    pub paths: Paths,
    pub config: ConfigFile,
    pub catalogue: Catalogue,
    /// scrypt work factor for a new file vault.
    pub scrypt_log_n: u8,
}

impl Settings {
    pub fn load(global: GlobalArgs) -> Result<Settings> {
        let paths = Paths::resolve()?;
        let config = ConfigFile::load(&paths.config)?;
        let catalogue = config.catalogue()?;
        let scrypt_log_n = match envvars::get(envvars::TOKENVAULT_SCRYPT_LOG_N) {
            None => 18,
            Some(v) => match v.parse::<u8>() {
                Ok(n) if (1..=22).contains(&n) => n,
                _ => bail!(
                    "{} must be a number from 1 to 22 (got '{v}')",
                    envvars::TOKENVAULT_SCRYPT_LOG_N
                ),
            },
        };
        Ok(Settings {
            global,
            paths,
            config,
            catalogue,
            scrypt_log_n,
        })
    }

    /// The backend the user asked for, or the remembered one; `None` means "probe".
    pub fn requested_backend(&self) -> Result<Option<BackendChoice>> {
        if let Some(name) = &self.global.backend {
            let kind: BackendKind = name.parse().map_err(anyhow::Error::msg)?;
            return Ok(Some(BackendChoice {
                kind,
                reason: "chosen with --backend / TOKENVAULT_BACKEND".into(),
            }));
        }
        if let Some(kind) = self.config.config.backend {
            return Ok(Some(BackendChoice {
                kind,
                reason: format!("remembered in {}", self.config.path.display()),
            }));
        }
        Ok(None)
    }
}
