//! The OpenBao (and HashiCorp Vault) backend: the KV v2 secrets engine over HTTP.
//!
//! One KV secret per item at `<mount>/data/<prefix><item>`, its fields as the secret's keys; a
//! field's previous value (the previous slot) is the key `<field>@previous` of the same secret
//! (`@` is never part of a field name), and the server keeps every earlier version besides. The
//! names of the fields (never a value) are kept in the secret's `custom_metadata` with the version
//! they describe, so `list` reads no value. The state key is the secret `<prefix>_tokenvault-state`
//! (a name no item can have).
//!
//! Every write is check-and-set (`options.cas`) on the version it read: a conflict is retried on
//! fresh data (bounded), never overwritten. Requests follow a standby's redirect to the leader and
//! retry 429, 5xx and a sealed server with backoff until a deadline. The token travels only in
//! the `X-Vault-Token` header (marked sensitive); no error built here names a value or the token:
//! errors name the path, the status and what OpenBao said (which never echoes a value).

use crate::{BackendKind, Change, Key, Slot, StateKey, Store, StoreError};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokenvault_core::{FieldName, ItemName, Secret};
use zeroize::Zeroizing;

const NAME: &str = "openbao";
/// The key of a field's previous value inside the item's secret.
const PREVIOUS_SUFFIX: &str = "@previous";
/// The secret holding the state key (an item name never starts with `_`).
const STATE_NAME: &str = "_tokenvault-state";
/// `custom_metadata` keys: the field names of a version, and that version (beside them,
/// [`Store::annotate`] keeps `tokenvault_provider`, `tokenvault_updated`, `tokenvault_verified_*`).
const META_FIELDS: &str = "tokenvault_fields";
const META_VERSION: &str = "tokenvault_version";
/// Check-and-set conflicts retried on fresh data before one is reported.
const CAS_ATTEMPTS: u32 = 40;
/// Standby redirects followed per request.
const MAX_REDIRECTS: u32 = 5;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_BODY: u64 = 16 << 20;

/// Where the server is and how to use it.
#[derive(Debug, Clone)]
pub struct OpenBaoConfig {
    /// `BAO_ADDR`/`VAULT_ADDR`, e.g. `https://bao.example:8200`.
    pub addr: String,
    /// `BAO_NAMESPACE`/`VAULT_NAMESPACE`.
    pub namespace: Option<String>,
    /// `BAO_CACERT`/`VAULT_CACERT`: a PEM file of CA certificates to trust.
    pub ca_cert: Option<PathBuf>,
    /// The KV v2 mount (default `secret`).
    pub mount: String,
    /// Prepended to every item name (default `tokenvault/`).
    pub prefix: String,
    /// How long a request keeps retrying a busy, sealed or unreachable server.
    pub deadline: Duration,
}

impl OpenBaoConfig {
    pub const DEFAULT_MOUNT: &'static str = "secret";
    pub const DEFAULT_PREFIX: &'static str = "tokenvault/";
    pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);

    pub fn new(addr: &str) -> Self {
        OpenBaoConfig {
            addr: addr.trim_end_matches('/').to_owned(),
            namespace: None,
            ca_cert: None,
            mount: Self::DEFAULT_MOUNT.into(),
            prefix: Self::DEFAULT_PREFIX.into(),
            deadline: Self::DEFAULT_DEADLINE,
        }
    }
}

/// An answer of the server.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    /// What OpenBao said went wrong (its `errors`), joined.
    pub fn errors(&self) -> String {
        self.body
            .get("errors")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|s| s.trim().replace('\n', "; "))
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    }
}

/// An HTTP client of one OpenBao server (or cluster).
pub struct Client {
    cfg: OpenBaoConfig,
    agent: ureq::Agent,
}

fn backend_error(message: String) -> StoreError {
    StoreError::Backend {
        backend: NAME,
        message,
    }
}

fn sensitive(value: &str) -> Result<ureq::http::HeaderValue, StoreError> {
    let mut v = ureq::http::HeaderValue::from_str(value).map_err(|_| {
        backend_error("the OpenBao token has characters an HTTP header cannot carry".into())
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// A little randomness for backoff, so that writers that collided do not collide again.
fn jitter(max_ms: u64) -> Duration {
    let mut b = [0u8; 2];
    let n = getrandom::getrandom(&mut b).map_or(0, |_| u64::from(u16::from_le_bytes(b)));
    Duration::from_millis(n % max_ms.max(1))
}

impl Client {
    pub fn new(cfg: OpenBaoConfig) -> Result<Client, StoreError> {
        if !(cfg.addr.starts_with("http://") || cfg.addr.starts_with("https://")) {
            return Err(StoreError::Unavailable {
                backend: NAME,
                reason: format!("the OpenBao address '{}' is not an http(s) URL", cfg.addr),
                hint: "set BAO_ADDR (or VAULT_ADDR), e.g. https://bao.example:8200".into(),
            });
        }
        let mut builder = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(cfg.deadline.max(Duration::from_secs(5))))
            .http_status_as_error(false)
            // Redirects are followed here, to the same token header only on purpose.
            .max_redirects(0)
            .user_agent(format!("tokenvault/{}", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &cfg.ca_cert {
            let pem = std::fs::read(path).map_err(|e| StoreError::io("reading", path, e))?;
            let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(StoreError::Unavailable {
                    backend: NAME,
                    reason: format!("{} holds no PEM certificate", path.display()),
                    hint: "point BAO_CACERT (or VAULT_CACERT) at the CA certificate of the server"
                        .into(),
                });
            }
            builder = builder.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                    .build(),
            );
        }
        Ok(Client {
            agent: builder.build().into(),
            cfg,
        })
    }

    pub fn config(&self) -> &OpenBaoConfig {
        &self.cfg
    }

    /// Sends one request to `path` (under `/v1/`), following standby redirects and retrying a
    /// busy, sealed or unreachable server until the deadline. Any status is returned as a
    /// [`Reply`]; only a server that never answered (or stayed sealed/busy) is an error.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        token: Option<&Secret>,
    ) -> Result<Reply, StoreError> {
        self.call_with(method, path, body, token, &[])
    }

    /// [`Client::call`] with extra headers (e.g. `X-Vault-Wrap-TTL`).
    pub fn call_with(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        token: Option<&Secret>,
        extra: &[(&str, &str)],
    ) -> Result<Reply, StoreError> {
        let deadline = Instant::now() + self.cfg.deadline;
        let body = body.map(|b| Zeroizing::new(b.to_string().into_bytes()));
        let start = format!("{}/v1/{}", self.cfg.addr, path);
        let mut url = start.clone();
        let mut redirects = 0;
        let mut backoff = Duration::from_millis(100);
        let shown = path.split('?').next().unwrap_or(path).to_owned();
        loop {
            let outcome =
                self.send_once(method, &url, body.as_deref().map(|b| &b[..]), token, extra);
            let retry_why = match outcome {
                Ok((status, location, reply)) => {
                    if matches!(status, 301 | 302 | 307 | 308) {
                        if let Some(loc) = location {
                            redirects += 1;
                            if redirects > MAX_REDIRECTS {
                                return Err(backend_error(format!(
                                    "{method} {shown}: more than {MAX_REDIRECTS} redirects (standby nodes pointing at each other?)"
                                )));
                            }
                            let next = self.absolute(&loc);
                            // The token goes along: never from TLS to cleartext.
                            if url.starts_with("https://") && !next.starts_with("https://") {
                                return Err(backend_error(format!(
                                    "{method} {shown}: refused a redirect from TLS to cleartext ({})",
                                    next.split('/').take(3).collect::<Vec<_>>().join("/")
                                )));
                            }
                            url = next;
                            continue;
                        }
                    }
                    let reply = Reply {
                        status,
                        body: reply,
                    };
                    // A KV v2 mount on a node that just became the leader answers 400 "Waiting
                    // for the primary to upgrade …" until it has loaded: transient, like a 503.
                    let settling = status == 400
                        && reply
                            .errors()
                            .contains("upgrade from non-versioned to versioned");
                    if settling || matches!(status, 429 | 500 | 502 | 503 | 504) {
                        Some(Err(reply))
                    } else {
                        return Ok(reply);
                    }
                }
                Err((true, why)) => Some(Ok(why)),
                Err((false, why)) => {
                    return Err(backend_error(format!("{method} {shown}: {why}")));
                }
            };
            let Some(why) = retry_why else { continue };
            if Instant::now() + backoff >= deadline {
                return Err(match why {
                    Ok(transport) => StoreError::Unavailable {
                        backend: NAME,
                        reason: format!(
                            "OpenBao at {} is unreachable ({transport})",
                            self.cfg.addr
                        ),
                        hint: "check BAO_ADDR (or VAULT_ADDR) and that the server runs; nothing was changed".into(),
                    },
                    Err(reply) => self.final_error(method, &shown, &reply),
                });
            }
            std::thread::sleep(backoff + jitter(backoff.as_millis() as u64 / 2 + 1));
            // Start again at the configured node: a redirect may have pointed at a leader that
            // has since died, and the node we were given knows the new one.
            url = start.clone();
            redirects = 0;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    fn final_error(&self, method: &str, path: &str, reply: &Reply) -> StoreError {
        let said = reply.errors();
        if reply.status == 503 && said.to_ascii_lowercase().contains("sealed") {
            return StoreError::Unavailable {
                backend: NAME,
                reason: format!("OpenBao at {} is sealed", self.cfg.addr),
                hint: "an operator must unseal it (`bao operator unseal`); nothing was changed"
                    .into(),
            };
        }
        backend_error(format!(
            "{method} {path}: the server kept answering {} until the retry deadline ({}s){}",
            reply.status,
            self.cfg.deadline.as_secs(),
            if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            }
        ))
    }

    /// A redirect's target: absolute, or a path on the same server.
    fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else {
            format!("{}{}", self.cfg.addr, location)
        }
    }

    /// One request; `Err` is a transport failure (to retry), described without the request.
    fn send_once(
        &self,
        method: &str,
        url: &str,
        body: Option<&[u8]>,
        token: Option<&Secret>,
        extra: &[(&str, &str)],
    ) -> Result<(u16, Option<String>, Value), (bool, String)> {
        let fatal = |s: &str| (false, s.to_owned());
        let uri: ureq::http::Uri = url
            .parse()
            .map_err(|_| fatal("the OpenBao address is not a valid URL"))?;
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(uri)
            .header("X-Vault-Request", "true");
        if let Some(t) = token {
            builder = builder.header(
                "X-Vault-Token",
                sensitive(t.expose_secret()).map_err(|e| (false, e.to_string()))?,
            );
        }
        if let Some(ns) = &self.cfg.namespace {
            builder = builder.header("X-Vault-Namespace", ns.as_str());
        }
        for (k, v) in extra {
            builder = builder.header(*k, *v);
        }
        let typed = extra
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        let response = match body {
            Some(b) => if typed {
                builder
            } else {
                builder.header("Content-Type", "application/json")
            }
            .body(b.to_vec())
            .map_err(|_| fatal("the request could not be built"))
            .and_then(|r| self.agent.run(r).map_err(describe)),
            None => builder
                .body(())
                .map_err(|_| fatal("the request could not be built"))
                .and_then(|r| self.agent.run(r).map_err(describe)),
        };
        let mut response = response?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = Zeroizing::new(
            response
                .body_mut()
                .with_config()
                .limit(MAX_BODY)
                .read_to_string()
                .map_err(describe)?,
        );
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        Ok((status, location, body))
    }
}

/// A transport failure in a few words (ureq's errors never carry request headers).
fn describe(e: ureq::Error) -> (bool, String) {
    use std::io::ErrorKind;
    let retry = matches!(
        &e,
        ureq::Error::Timeout(_) | ureq::Error::ConnectionFailed | ureq::Error::Io(_)
    );
    let text = match e {
        ureq::Error::Timeout(_) => "timed out".into(),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        ureq::Error::Tls(why) => format!("TLS: {why}"),
        ureq::Error::Rustls(why) => format!("TLS: {why}"),
        ureq::Error::Io(io) => match io.kind() {
            ErrorKind::ConnectionRefused => "connection refused".into(),
            ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::UnexpectedEof => "the connection was closed before an answer".into(),
            ErrorKind::TimedOut | ErrorKind::WouldBlock => "timed out".into(),
            k => k.to_string(),
        },
        other => other.to_string(),
    };
    (retry, text)
}

/// An item's secret: its keys and their values.
type Data = BTreeMap<String, Zeroizing<String>>;

/// One item's secret as read: its keys and the version they are (0: none yet).
struct Read {
    data: Data,
    version: u64,
}

/// The OpenBao store: a [`Client`] and the token it acts with.
pub struct OpenBaoStore {
    client: Client,
    token: Secret,
}

impl OpenBaoStore {
    pub fn new(cfg: OpenBaoConfig, token: Secret) -> Result<OpenBaoStore, StoreError> {
        Ok(OpenBaoStore {
            client: Client::new(cfg)?,
            token,
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn token(&self) -> &Secret {
        &self.token
    }

    fn cfg(&self) -> &OpenBaoConfig {
        &self.client.cfg
    }

    /// `<mount>/<kind>/<prefix><name>`.
    fn path(&self, kind: &str, name: &str) -> String {
        format!(
            "{}/{kind}/{}{name}",
            self.cfg().mount.trim_matches('/'),
            self.cfg().prefix
        )
    }

    /// The error of an answer that is not what a request wanted: 403 names the path and the
    /// capability the token's policy lacks.
    fn refused(&self, method: &str, path: &str, capability: &str, reply: &Reply) -> StoreError {
        match reply.status {
            403 => StoreError::Denied {
                backend: NAME,
                path: path.to_owned(),
                capability: capability.to_owned(),
            },
            401 => StoreError::Locked {
                what: "the OpenBao login".into(),
                hint: "log in again: tokenvault backend login openbao".into(),
            },
            404 if reply.errors().contains("no handler for route") => backend_error(format!(
                "{path}: there is no KV v2 engine at mount '{}' (check `[openbao] mount` in the config)",
                self.cfg().mount
            )),
            s => backend_error(format!("{method} {path}: status {s}: {}", reply.errors())),
        }
    }

    fn not_kv2(&self) -> StoreError {
        StoreError::Unavailable {
            backend: NAME,
            reason: format!(
                "the mount '{}' is not a KV version 2 engine (no versions, no check-and-set)",
                self.cfg().mount
            ),
            hint: format!(
                "set `mount` under [openbao] to a KV v2 mount, or enable one: `bao secrets enable -path={} kv-v2`",
                self.cfg().mount
            ),
        }
    }

    fn read_item(&self, name: &str, version: Option<u64>) -> Result<Read, StoreError> {
        let path = self.path("data", name);
        let url = match version {
            Some(v) => format!("{path}?version={v}"),
            None => path.clone(),
        };
        let reply = self.client.call("GET", &url, None, Some(&self.token))?;
        let meta_version = |body: &Value| {
            body.pointer("/data/metadata/version")
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        match reply.status {
            200 if reply.body.pointer("/data/metadata").is_none() => Err(self.not_kv2()),
            200 => {
                let mut data = BTreeMap::new();
                if let Some(obj) = reply.body.pointer("/data/data").and_then(Value::as_object) {
                    for (k, v) in obj {
                        if let Some(s) = v.as_str() {
                            data.insert(k.clone(), Zeroizing::new(s.to_owned()));
                        }
                    }
                }
                Ok(Read {
                    data,
                    version: meta_version(&reply.body),
                })
            }
            // Nothing there, or its latest version is deleted (the version still counts for CAS).
            404 if !reply.errors().contains("no handler for route") => Ok(Read {
                data: BTreeMap::new(),
                version: meta_version(&reply.body),
            }),
            _ => Err(self.refused("GET", &path, "read", &reply)),
        }
    }

    /// Writes `data` as the next version of `name` if its latest version is still `version`;
    /// `Ok(false)` on a check-and-set conflict.
    fn write_item(&self, name: &str, data: &Data, version: u64) -> Result<Option<u64>, StoreError> {
        let path = self.path("data", name);
        let mut map = Map::new();
        for (k, v) in data {
            map.insert(k.clone(), Value::String(v.to_string()));
        }
        let body = json!({"options": {"cas": version}, "data": Value::Object(map)});
        let reply = self
            .client
            .call("POST", &path, Some(&body), Some(&self.token));
        drop(body);
        let reply = reply?;
        match reply.status {
            // A KV v1 engine takes the same request as a plain value, and no check-and-set.
            200 | 204 => match reply.body.pointer("/data/version").and_then(Value::as_u64) {
                Some(v) => Ok(Some(v)),
                None => Err(self.not_kv2()),
            },
            400 if reply.errors().contains("check-and-set") => Ok(None),
            _ => Err(self.refused("POST", &path, "update", &reply)),
        }
    }

    /// Records which fields `version` of `name` has (names only), for `list`.
    fn write_field_names(&self, name: &str, data: &Data, version: u64) {
        let fields: Vec<&str> = data.keys().map(String::as_str).collect();
        let mut map = Map::new();
        map.insert(META_FIELDS.into(), Value::String(fields.join(",")));
        map.insert(META_VERSION.into(), Value::String(version.to_string()));
        // Best effort: `list` reads the data when the names are missing or stale.
        let _ = self.patch_metadata(name, map);
    }

    /// Merges `entries` into the item's `custom_metadata` (JSON merge patch: other keys stay).
    fn patch_metadata(&self, name: &str, entries: Map<String, Value>) -> Result<(), StoreError> {
        let path = self.path("metadata", name);
        let body = json!({ "custom_metadata": Value::Object(entries) });
        let reply = self.client.call_with(
            "PATCH",
            &path,
            Some(&body),
            Some(&self.token),
            &[("Content-Type", "application/merge-patch+json")],
        )?;
        match reply.status {
            200 | 204 => Ok(()),
            _ => Err(self.refused("PATCH", &path, "patch", &reply)),
        }
    }

    /// Soft-deletes `version` of `name` (only that version: a newer one written meanwhile stays).
    fn delete_version(&self, name: &str, version: u64) -> Result<(), StoreError> {
        let path = self.path("delete", name);
        let reply = self.client.call(
            "POST",
            &path,
            Some(&json!({"versions": [version]})),
            Some(&self.token),
        )?;
        match reply.status {
            200 | 204 => Ok(()),
            _ => Err(self.refused("POST", &path, "update", &reply)),
        }
    }

    /// Changes one item: read, change, write with check-and-set, retried on fresh data.
    fn change_item(&self, name: &str, f: &dyn Fn(&mut Data)) -> Result<(), StoreError> {
        for attempt in 0..CAS_ATTEMPTS {
            let read = self.read_item(name, None)?;
            let mut data = read.data.clone();
            f(&mut data);
            if data == read.data {
                return Ok(());
            }
            if data.is_empty() {
                // Nothing left: the item is soft-deleted (recoverable with `bao kv undelete`).
                // Only the version read is deleted; if another writer made a newer one, it stays.
                return self.delete_version(name, read.version);
            }
            if let Some(v) = self.write_item(name, &data, read.version)? {
                self.write_field_names(name, &data, v);
                return Ok(());
            }
            std::thread::sleep(jitter(20 + 10 * u64::from(attempt.min(20))));
        }
        Err(backend_error(format!(
            "{}: another writer changed it {CAS_ATTEMPTS} times while this change was being made; nothing was overwritten, run the command again",
            self.path("data", name)
        )))
    }

    /// The value of `field` in the version before the latest of `item` (what `rotate` replaced),
    /// with that version's number; `None` when there is no earlier version holding it.
    pub fn prior_version(
        &self,
        item: &str,
        field: &str,
    ) -> Result<Option<(u64, Secret)>, StoreError> {
        let latest = self.read_item(item, None)?;
        if latest.version < 2 {
            return Ok(None);
        }
        let prior = latest.version - 1;
        let read = self.read_item(item, Some(prior))?;
        Ok(read
            .data
            .get(field)
            .map(|v| (prior, Secret::new(v.to_string()))))
    }

    /// Destroys every version of `item` (nothing can bring it back), with its metadata.
    pub fn destroy_item(&self, item: &str) -> Result<bool, StoreError> {
        let path = self.path("metadata", item);
        let reply = self.client.call("DELETE", &path, None, Some(&self.token))?;
        match reply.status {
            200 | 204 => Ok(true),
            404 => Ok(false),
            _ => Err(self.refused("DELETE", &path, "delete", &reply)),
        }
    }

    /// Destroys every version of `item` but the latest (the history of a deleted field).
    pub fn destroy_history_of(&self, item: &str) -> Result<usize, StoreError> {
        let read = self.read_item(item, None)?;
        if read.version < 2 {
            return Ok(0);
        }
        let versions: Vec<u64> = (1..read.version).collect();
        let path = self.path("destroy", item);
        let reply = self.client.call(
            "POST",
            &path,
            Some(&json!({ "versions": versions })),
            Some(&self.token),
        )?;
        match reply.status {
            200 | 204 => Ok(versions.len()),
            _ => Err(self.refused("POST", &path, "update", &reply)),
        }
    }

    /// The item names under the prefix.
    fn item_names(&self) -> Result<Vec<String>, StoreError> {
        let path = self.path("metadata", "");
        // `LIST` as `GET ?list=true` (the HTTP client speaks only standard methods).
        let reply =
            self.client
                .call("GET", &format!("{path}?list=true"), None, Some(&self.token))?;
        match reply.status {
            200 => Ok(reply
                .body
                .pointer("/data/keys")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .filter(|k| !k.ends_with('/') && ItemName::new(k).is_ok())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()),
            404 => Ok(Vec::new()),
            _ => Err(self.refused("LIST", &path, "list", &reply)),
        }
    }

    /// The field names of `item` from its metadata when they describe its latest version; else
    /// from its data.
    fn field_names(&self, item: &str) -> Result<Vec<String>, StoreError> {
        let path = self.path("metadata", item);
        let reply = self.client.call("GET", &path, None, Some(&self.token))?;
        if reply.status == 200 {
            let current = reply
                .body
                .pointer("/data/current_version")
                .and_then(Value::as_u64);
            let deleted = current.and_then(|v| {
                reply
                    .body
                    .pointer(&format!("/data/versions/{v}/deletion_time"))
                    .and_then(Value::as_str)
                    .map(|t| !t.is_empty())
            });
            if deleted == Some(true) {
                return Ok(Vec::new());
            }
            let meta = reply.body.pointer("/data/custom_metadata");
            let recorded = meta
                .and_then(|m| m.get(META_VERSION))
                .and_then(Value::as_str)
                .and_then(|v| v.parse::<u64>().ok());
            if recorded.is_some() && recorded == current {
                if let Some(fields) = meta
                    .and_then(|m| m.get(META_FIELDS))
                    .and_then(Value::as_str)
                {
                    return Ok(fields
                        .split(',')
                        .filter(|f| !f.is_empty())
                        .map(str::to_owned)
                        .collect());
                }
            }
        } else if reply.status == 404 {
            return Ok(Vec::new());
        } else if reply.status == 403 {
            // May read values but not metadata: fall back to the data.
        } else {
            return Err(self.refused("GET", &path, "read", &reply));
        }
        Ok(self.read_item(item, None)?.data.into_keys().collect())
    }
}

/// The key of `key` inside its item's secret.
fn data_key(key: &Key) -> String {
    match key.slot {
        Slot::Current => key.field.as_str().to_owned(),
        Slot::Previous => format!("{}{PREVIOUS_SUFFIX}", key.field),
    }
}

/// The key a secret's key names, if it is one of ours.
fn key_of(item: &ItemName, data_key: &str) -> Option<Key> {
    let (field, slot) = match data_key.strip_suffix(PREVIOUS_SUFFIX) {
        Some(f) => (f, Slot::Previous),
        None => (data_key, Slot::Current),
    };
    let field = FieldName::new(field).ok()?;
    Some(Key {
        item: item.clone(),
        field,
        slot,
    })
}

impl Store for OpenBaoStore {
    fn kind(&self) -> BackendKind {
        BackendKind::OpenBao
    }

    fn describe(&self) -> String {
        format!(
            "OpenBao KV v2 at {} (mount '{}', prefix '{}'{})",
            self.cfg().addr,
            self.cfg().mount,
            self.cfg().prefix,
            self.cfg()
                .namespace
                .as_deref()
                .map(|n| format!(", namespace '{n}'"))
                .unwrap_or_default()
        )
    }

    fn get(&self, key: &Key) -> Result<Option<Secret>, StoreError> {
        let read = self.read_item(key.item.as_str(), None)?;
        Ok(read
            .data
            .get(&data_key(key))
            .map(|v| Secret::new(v.to_string())))
    }

    fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Secret>>, StoreError> {
        // One read per item, however many of its fields are asked for.
        let mut items: BTreeMap<&str, Read> = BTreeMap::new();
        for k in keys {
            if !items.contains_key(k.item.as_str()) {
                items.insert(k.item.as_str(), self.read_item(k.item.as_str(), None)?);
            }
        }
        Ok(keys
            .iter()
            .map(|k| {
                items
                    .get(k.item.as_str())
                    .and_then(|r| r.data.get(&data_key(k)))
                    .map(|v| Secret::new(v.to_string()))
            })
            .collect())
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        let mut by_item: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
        for c in changes {
            let (Change::Set(k, _) | Change::Delete(k)) = c;
            by_item.entry(k.item.as_str()).or_default().push(c);
        }
        for (item, changes) in by_item {
            self.change_item(item, &|data| {
                for c in &changes {
                    match c {
                        Change::Set(k, v) => {
                            data.insert(data_key(k), Zeroizing::new(v.expose_secret().to_owned()));
                        }
                        Change::Delete(k) => {
                            data.remove(&data_key(k));
                        }
                    }
                }
            })?;
        }
        Ok(())
    }

    fn list(&self) -> Result<Option<Vec<Key>>, StoreError> {
        let mut keys = Vec::new();
        for name in self.item_names()? {
            let Ok(item) = ItemName::new(&name) else {
                continue;
            };
            let fields: BTreeSet<String> = self.field_names(&name)?.into_iter().collect();
            keys.extend(fields.iter().filter_map(|f| key_of(&item, f)));
        }
        keys.sort();
        Ok(Some(keys))
    }

    fn state_key(&self, create: bool) -> Result<Option<StateKey>, StoreError> {
        for _ in 0..CAS_ATTEMPTS {
            let read = self.read_item(STATE_NAME, None)?;
            if let Some(text) = read.data.get("key") {
                return StateKey::parse(BackendKind::OpenBao, text)
                    .map(Some)
                    .ok_or_else(|| {
                        backend_error(format!(
                            "{}: the state key is damaged (not 64 hex digits)",
                            self.path("data", STATE_NAME)
                        ))
                    });
            }
            if !create {
                return Ok(None);
            }
            let made = StateKey::generate(BackendKind::OpenBao)?;
            let mut data = BTreeMap::new();
            data.insert(
                "key".to_owned(),
                Zeroizing::new(made.to_secret().expose_secret().to_owned()),
            );
            // Only if there is still none: two homes making one at once keep the first.
            if self.write_item(STATE_NAME, &data, read.version)?.is_some() {
                return Ok(Some(made));
            }
        }
        Err(backend_error(
            "the state key kept changing while it was being made".into(),
        ))
    }

    fn annotate(&self, item: &ItemName, notes: &[(String, String)]) -> Result<(), StoreError> {
        let mut map = Map::new();
        for (k, v) in notes {
            map.insert(format!("tokenvault_{k}"), Value::String(v.clone()));
        }
        self.patch_metadata(item.as_str(), map)
    }

    fn destroy_history(&self, item: &ItemName, whole: bool) -> Result<Option<usize>, StoreError> {
        if whole {
            return self
                .destroy_item(item.as_str())
                .map(|d| Some(usize::from(d)));
        }
        self.destroy_history_of(item.as_str()).map(Some)
    }
}

/// Logins and response wrapping: what the binary does with a [`Client`] beside the KV store.
impl Client {
    /// Logs in at `auth/<mount>/login[/<user>]` with `body`; the client token and its TTL.
    pub fn login(&self, path: &str, body: &Value) -> Result<(Secret, u64), StoreError> {
        let reply = self.call("POST", path, Some(body), None)?;
        match reply.status {
            200 => auth_of(&reply).ok_or_else(|| {
                backend_error(format!("POST {path}: the answer holds no client token"))
            }),
            400 | 401 | 403 => Err(backend_error(format!(
                "login at {path} was refused (status {}): {}",
                reply.status,
                reply.errors()
            ))),
            s => Err(backend_error(format!(
                "POST {path}: status {s}: {}",
                reply.errors()
            ))),
        }
    }

    /// The token's remaining TTL in seconds (0: never expires) and whether it is renewable.
    pub fn lookup_self(&self, token: &Secret) -> Result<(u64, bool), StoreError> {
        let path = "auth/token/lookup-self";
        let reply = self.call("GET", path, None, Some(token))?;
        match reply.status {
            200 => Ok((
                reply.body.pointer("/data/ttl").and_then(Value::as_u64).unwrap_or(0),
                reply
                    .body
                    .pointer("/data/renewable")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            )),
            401 | 403 => Err(StoreError::Locked {
                what: "the OpenBao login".into(),
                hint: "the stored OpenBao token is expired or revoked; log in again: tokenvault backend login openbao".into(),
            }),
            s => Err(backend_error(format!("GET {path}: status {s}: {}", reply.errors()))),
        }
    }

    /// Renews the token (`auth/token/renew-self`); its new TTL.
    pub fn renew_self(&self, token: &Secret) -> Result<u64, StoreError> {
        let path = "auth/token/renew-self";
        let reply = self.call("POST", path, Some(&json!({})), Some(token))?;
        match reply.status {
            200 => Ok(reply
                .body
                .pointer("/auth/lease_duration")
                .and_then(Value::as_u64)
                .unwrap_or(0)),
            s => Err(backend_error(format!(
                "POST {path}: status {s}: {}",
                reply.errors()
            ))),
        }
    }

    /// Wraps `data` in a single-use response-wrapping token valid for `ttl` (`sys/wrapping/wrap`).
    pub fn wrap(
        &self,
        token: &Secret,
        data: &Value,
        ttl: &str,
    ) -> Result<(Secret, String), StoreError> {
        let path = "sys/wrapping/wrap";
        let reply = self.call_with(
            "POST",
            path,
            Some(data),
            Some(token),
            &[("X-Vault-Wrap-TTL", ttl)],
        )?;
        match reply.status {
            200 => {
                let info = reply.body.get("wrap_info");
                let t = info.and_then(|i| i.get("token")).and_then(Value::as_str);
                let expires = info
                    .and_then(|i| i.get("creation_time"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                t.map(|t| (Secret::new(t.to_owned()), expires))
                    .ok_or_else(|| {
                        backend_error(format!("POST {path}: the answer holds no wrapping token"))
                    })
            }
            403 => Err(StoreError::Denied {
                backend: NAME,
                path: path.into(),
                capability: "update".into(),
            }),
            s => Err(backend_error(format!(
                "POST {path}: status {s}: {}",
                reply.errors()
            ))),
        }
    }

    /// Unwraps a response-wrapping token (`sys/wrapping/unwrap`, the wrapping token as the
    /// request's token). `Ok(None)` when it was already used or is unknown: someone else may
    /// have unwrapped it first.
    pub fn unwrap(&self, wrapping: &Secret) -> Result<Option<Map<String, Value>>, StoreError> {
        let path = "sys/wrapping/unwrap";
        let reply = self.call("POST", path, Some(&json!({})), Some(wrapping))?;
        match reply.status {
            200 => Ok(Some(
                reply
                    .body
                    .get("data")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
            )),
            400 | 403 => Ok(None),
            s => Err(backend_error(format!(
                "POST {path}: status {s}: {}",
                reply.errors()
            ))),
        }
    }
}

fn auth_of(reply: &Reply) -> Option<(Secret, u64)> {
    let auth = reply.body.get("auth")?;
    let token = auth.get("client_token")?.as_str()?;
    let ttl = auth
        .get("lease_duration")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Some((Secret::new(token.to_owned()), ttl))
}
