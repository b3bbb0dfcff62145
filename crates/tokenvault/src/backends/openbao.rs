//! A team's OpenBao (or HashiCorp Vault) server, through `tokenvault_store::openbao`: the KV v2
//! engine at `[openbao] mount` (default `secret`), items under `[openbao] prefix` (default
//! `tokenvault/`). The server is `BAO_ADDR`/`VAULT_ADDR` (or `[openbao] addr`).
//!
//! The OpenBao token comes from `tokenvault backend login openbao`, which keeps it in the *local*
//! backend (the OS keychain or the file vault: `[openbao] local_backend`), never in a plaintext
//! file. Opening renews it when half its lifetime or less (or under a minute) is left.

use super::{Access, Backend, Def, Handover, LoginDone, LoginMethod, LoginRequest, Remote};
use crate::envvars;
use crate::error::hinted;
use crate::settings::Settings;
use anyhow::{Context, Result};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokenvault_core::Secret;
use tokenvault_store::openbao::{Client, OpenBaoConfig, OpenBaoStore};
use tokenvault_store::{BackendKind, Change, Key, Store};

pub const DEF: Def = Def {
    kind: BackendKind::OpenBao,
    what: "the OpenBao server (KV v2)",
    short: "OpenBao server",
    automatic: false,
    enumerates: true,
    caution: None,
    probe: Some(probe),
    healthy: "the OpenBao server answers",
    unusable_hint: "set BAO_ADDR (or VAULT_ADDR) to the server, and log in with `tokenvault backend login openbao`",
    open,
    remote: Some(&REMOTE),
};

const REMOTE: Remote = Remote {
    login,
    wrap,
    unwrap,
};

/// The local item that keeps the login (an item of the local backend, not of the server).
pub const LOGIN_ITEM: &str = "tokenvault-openbao";

fn login_key(field: &str) -> Result<Key> {
    Ok(Key::parse(&format!("{LOGIN_ITEM}/{field}"))?)
}

/// The server and how to use it, from the variables and `[openbao]`.
pub fn config(settings: &Settings) -> Result<OpenBaoConfig> {
    let section = &settings.config.config.openbao;
    let first = |a: &str, b: &str| envvars::get(a).or_else(|| envvars::get(b));
    let addr = first(envvars::BAO_ADDR, envvars::VAULT_ADDR)
        .or_else(|| section.addr.clone())
        .ok_or_else(|| {
            hinted(
                "no OpenBao server is configured",
                format!(
                    "set BAO_ADDR (or VAULT_ADDR), e.g. https://bao.example:8200, or `addr` under [openbao] in {}",
                    settings.config.path.display()
                ),
            )
        })?;
    let mut cfg = OpenBaoConfig::new(&addr);
    cfg.namespace = first(envvars::BAO_NAMESPACE, envvars::VAULT_NAMESPACE)
        .or_else(|| section.namespace.clone());
    cfg.ca_cert = first(envvars::BAO_CACERT, envvars::VAULT_CACERT)
        .map(Into::into)
        .or_else(|| section.cacert.clone());
    if let Some(m) = &section.mount {
        cfg.mount = m.trim_matches('/').to_owned();
    }
    if let Some(p) = &section.prefix {
        let p = p.trim_start_matches('/');
        cfg.prefix = if p.is_empty() || p.ends_with('/') {
            p.to_owned()
        } else {
            format!("{p}/")
        };
    }
    if let Some(s) = section.retry_seconds {
        cfg.deadline = Duration::from_secs(s.max(1));
    }
    Ok(cfg)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The local backend that keeps the login, opened with `access`.
fn local(settings: &Settings, kind: BackendKind, access: Access) -> Result<Option<Backend>> {
    (super::def(kind).open)(settings, access)
}

/// A login as kept: the token, when it expires (0: never) and its lifetime.
struct Login {
    token: Secret,
    expires: u64,
    ttl: u64,
}

fn read_login(store: &dyn Store) -> Result<Option<Login>> {
    let keys = [
        login_key("token")?,
        login_key("expires")?,
        login_key("ttl")?,
    ];
    let got = store.get_many(&keys)?;
    let number = |v: &Option<Secret>| {
        v.as_ref()
            .and_then(|s| s.expose_secret().parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok(got[0].clone().map(|token| Login {
        token,
        expires: number(&got[1]),
        ttl: number(&got[2]),
    }))
}

fn keep_login(store: &dyn Store, login: &Login, server: &str) -> Result<()> {
    store.apply(&[
        Change::Set(login_key("token")?, login.token.clone()),
        Change::Set(
            login_key("expires")?,
            Secret::new(login.expires.to_string()),
        ),
        Change::Set(login_key("ttl")?, Secret::new(login.ttl.to_string())),
        Change::Set(login_key("server")?, Secret::from_str_copy(server)),
    ])?;
    Ok(())
}

fn not_logged_in(cfg: &OpenBaoConfig) -> anyhow::Error {
    hinted(
        format!("not logged in to OpenBao at {}", cfg.addr),
        "log in with `tokenvault backend login openbao` (--method token, userpass or approle)",
    )
}

/// The kept login, renewed when less than half its lifetime is left; `None` when there is none
/// (or, with [`Access::Quiet`], when the local backend cannot be read without asking).
fn current_login(
    settings: &Settings,
    cfg: &OpenBaoConfig,
    access: Access,
) -> Result<Option<Secret>> {
    let kind = super::local_choice(settings);
    let Some(local) = local(settings, kind, access)? else {
        return Ok(None);
    };
    let Some(mut login) = read_login(local.store())? else {
        return Ok(None);
    };
    if login.expires != 0 {
        let left = login.expires.saturating_sub(now());
        if left == 0 {
            return Err(hinted(
                format!("the OpenBao login for {} has expired", cfg.addr),
                "log in again with `tokenvault backend login openbao`",
            ));
        }
        // Half its lifetime or less left (or under a minute): renewed now, before it lapses.
        if left * 2 <= login.ttl || left < 60 {
            let client = Client::new(cfg.clone())?;
            // A token past its maximum lifetime cannot be renewed: it is used while it lasts.
            if let Ok(ttl) = client.renew_self(&login.token) {
                if ttl > 0 {
                    login.expires = now() + ttl;
                    login.ttl = ttl;
                    keep_login(local.store(), &login, &cfg.addr)?;
                }
            }
        }
    }
    Ok(Some(login.token))
}

fn open(settings: &Settings, access: Access) -> Result<Option<Backend>> {
    let cfg = config(settings)?;
    let Some(token) = current_login(settings, &cfg, access.clone())? else {
        return match access {
            Access::Quiet => Ok(None),
            Access::From(_) => Err(not_logged_in(&cfg)),
        };
    };
    Ok(Some(Backend::new(
        &DEF,
        Arc::new(OpenBaoStore::new(cfg, token)?),
    )))
}

fn probe(settings: &Settings) -> Result<(), String> {
    let mut cfg = config(settings).map_err(|e| e.to_string())?;
    cfg.deadline = Duration::from_secs(3);
    let client = Client::new(cfg.clone()).map_err(|e| e.to_string())?;
    let reply = client
        .call("GET", "sys/health?standbyok=true", None, None)
        .map_err(|e| e.to_string())?;
    match reply.status {
        200 | 429 | 472 | 473 => Ok(()),
        503 => Err(format!("OpenBao at {} is sealed", cfg.addr)),
        501 => Err(format!("OpenBao at {} is not initialised", cfg.addr)),
        s => Err(format!("OpenBao at {} answered {s}", cfg.addr)),
    }
}

fn login(settings: &Settings, req: &LoginRequest) -> Result<LoginDone> {
    let cfg = config(settings)?;
    let client = Client::new(cfg.clone())?;
    let (token, _) = match req.method {
        LoginMethod::Token => (req.secret.clone(), 0),
        LoginMethod::Userpass => {
            let user = req.name.as_deref().context("userpass needs --username")?;
            let mount = req.mount.as_deref().unwrap_or("userpass");
            client.login(
                &format!("auth/{mount}/login/{user}"),
                &json!({"password": req.secret.expose_secret()}),
            )?
        }
        LoginMethod::Approle => {
            let role = req.name.as_deref().context("approle needs --role-id")?;
            let mount = req.mount.as_deref().unwrap_or("approle");
            client.login(
                &format!("auth/{mount}/login"),
                &json!({"role_id": role, "secret_id": req.secret.expose_secret()}),
            )?
        }
    };
    // Whatever the method, the token must work before it is kept.
    let (ttl, renewable) = client.lookup_self(&token)?;
    let local = local(settings, req.local, Access::interactive())?.ok_or_else(|| {
        anyhow::anyhow!(
            "the {} backend could not be opened to keep the login",
            req.local
        )
    })?;
    let login = Login {
        token,
        expires: if ttl == 0 { 0 } else { now() + ttl },
        ttl,
    };
    keep_login(local.store(), &login, &cfg.addr)?;
    Ok(LoginDone {
        server: cfg.addr,
        ttl,
        renewable,
        kept_in: req.local,
    })
}

fn wrap(settings: &Settings, h: &Handover, ttl: &str) -> Result<Secret> {
    let cfg = config(settings)?;
    let token =
        current_login(settings, &cfg, Access::interactive())?.ok_or_else(|| not_logged_in(&cfg))?;
    let client = Client::new(cfg)?;
    let data = json!({
        "item": h.item,
        "field": h.field,
        "provider": h.provider,
        "value": h.value.expose_secret(),
    });
    let (wrapped, _) = client.wrap(&token, &data, ttl)?;
    Ok(wrapped)
}

fn unwrap(settings: &Settings, wrapping: &Secret) -> Result<Option<Handover>> {
    let client = Client::new(config(settings)?)?;
    let Some(data) = client.unwrap(wrapping)? else {
        return Ok(None);
    };
    let text = |k: &str| data.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let (Some(item), Some(field), Some(value)) = (text("item"), text("field"), text("value"))
    else {
        return Err(anyhow::anyhow!(
            "the wrapping token holds something other than a value `tokenvault share` sent"
        ));
    };
    Ok(Some(Handover {
        item,
        field,
        provider: text("provider"),
        value: Secret::new(value),
    }))
}
