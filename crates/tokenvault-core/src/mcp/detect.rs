//! Plaintext secrets in a server entry: `env` values, headers (`Authorization: Bearer hf_…`),
//! `-e VAR=value` in `docker run` arguments, flags such as `--token hf_…`, and tokens in URLs.
//! A value is a secret when it matches a provider's token format, or when its name looks like one
//! (`*_TOKEN`, `*_KEY`, `*SECRET*`, …). Placeholders (`${env:X}`, `${input:x}`, `${X}`, `$X`,
//! `{{ tv://… }}`, `tv://…`) are not secrets.
//!
//! Also the opposite mistake: a `tv://` reference where nothing resolves it ([`find_unresolved`]),
//! so the server gets the literal text `tv://…` as its token. `tokenvault run` resolves the `-e`
//! pairs it is given, `mcp proxy` and `mcp headers` their `--header` templates; everything else in
//! an entry reaches the server or the remote end as written.

use super::server::{secured, Secured, Transport};
use crate::audit::{known_secret_in, name_looks_secret};
use crate::{Catalogue, Reference, Secret};

/// Where in the entry a secret sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// `env.VAR`.
    Env { var: String },
    /// `args[index]` is `VAR=value` after `-e`/`--env` (or `--env=VAR=value`, with `prefix`
    /// `--env=`), as in `docker run -e GITHUB_TOKEN=ghp_… image`.
    DockerEnv {
        index: usize,
        prefix: String,
        var: String,
    },
    /// `args[index]` holds the token: after a flag that names a secret (`--token hf_…`), as
    /// `--flag=value`, or inside a URL.
    Arg { index: usize },
    /// The header's value holds the token; `prefix` is what precedes it (`Bearer `).
    Header { name: String, prefix: String },
    /// A query parameter of the server's URL.
    Url { param: String },
}

impl Place {
    /// Whether `mcp secure` can move a secret from here without changing how the server reads
    /// it. A token on a command line can only be moved by hand (the server would have to read an
    /// environment variable instead), and one in a URL needs a header instead.
    pub fn movable(&self) -> bool {
        matches!(
            self,
            Place::Env { .. } | Place::DockerEnv { .. } | Place::Header { .. }
        )
    }

    /// For messages: `env HF_TOKEN`, `header Authorization`, `args[3]`, `URL parameter key`.
    pub fn describe(&self) -> String {
        match self {
            Place::Env { var } => format!("env {var}"),
            Place::DockerEnv { var, .. } => format!("docker -e {var}"),
            Place::Arg { index } => format!("args[{index}]"),
            Place::Header { name, .. } => format!("header {name}"),
            Place::Url { param } => format!("URL parameter {param}"),
        }
    }
}

/// A plaintext secret found in a server entry.
#[derive(Debug, Clone)]
pub struct Finding {
    pub place: Place,
    pub value: Secret,
    /// The environment variable the server reads it from (env and docker places).
    pub var: Option<String>,
    /// The provider and field it belongs to, when the name or the format tells.
    pub provider: Option<(String, String)>,
}

/// Whether `value` is a reference to a secret rather than a secret.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    v.is_empty()
        || v.starts_with("${")
        || v.starts_with("tv://")
        || v.starts_with("op://")
        || v.contains("{{")
        || (v.starts_with('$')
            && v.len() > 1
            && v[1..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// A `tv://` reference in a server entry that nothing resolves: the server (or the remote end)
/// gets the literal text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub place: Place,
    /// The reference as written (`tv://huggingface/token`): only the reference, never the text
    /// around it (a URL or an argument may hold other things).
    pub text: String,
    /// The reference, when the value is exactly one (after a header's `Bearer `): launching the
    /// server through tokenvault then resolves it. `None` when it sits inside other text
    /// (`--token=tv://…`, a URL, `{{ tv://… }}` in an `env` value), which only a hand edit fixes.
    pub reference: Option<Reference>,
}

impl Unresolved {
    fn new(place: Place, value: &str, exact: &str) -> Option<Unresolved> {
        let text = reference_in(value)?;
        let exact = exact.trim();
        let reference = Reference::is_uri(exact)
            .then(|| Reference::parse(exact).ok())
            .flatten();
        Some(Unresolved {
            place,
            text: text.to_owned(),
            reference,
        })
    }
}

/// The first `tv://ITEM/FIELD` in `value`, without what surrounds it.
fn reference_in(value: &str) -> Option<&str> {
    let start = value.find(crate::reference::SCHEME)?;
    let rest = &value[start..];
    let len = crate::reference::SCHEME.len()
        + rest[crate::reference::SCHEME.len()..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || "._-/".contains(c)))
            .unwrap_or(rest.len() - crate::reference::SCHEME.len());
    Some(&rest[..len])
}

/// Every `tv://` reference in a server entry that nothing resolves, in entry order: in `env`
/// (the client passes it as it is; even under `tokenvault run` an already-set variable wins over
/// the vault), in the arguments of the server's own command (after `tokenvault run … --`), in
/// headers the client sends itself and in the URL. The arguments of `mcp proxy` are its own and
/// resolved, so a proxy entry has none.
pub fn find_unresolved(transport: &Transport) -> Vec<Unresolved> {
    let mut out = Vec::new();
    match transport {
        Transport::Stdio(s) => {
            let start = match secured(transport) {
                Some(Secured::Proxy) => return out,
                // `run`'s own options end at the first `--`.
                Some(Secured::Run) => s
                    .args
                    .iter()
                    .position(|a| a == "--")
                    .map_or(s.args.len(), |i| i + 1),
                _ => 0,
            };
            for (var, value) in &s.env {
                out.extend(Unresolved::new(
                    Place::Env { var: var.clone() },
                    value,
                    value,
                ));
            }
            let args = &s.args;
            let mut i = start;
            while i < args.len() {
                let arg = &args[i];
                let docker = docker_env_at(args, i);
                if let Some((index, prefix, pair)) = docker {
                    if let Some((var, value)) = pair.split_once('=') {
                        let place = Place::DockerEnv {
                            index,
                            prefix,
                            var: var.to_owned(),
                        };
                        out.extend(Unresolved::new(place, value, value));
                    }
                    i = index + 1;
                    continue;
                }
                // Inside other text: `--token=tv://…` is passed as written.
                out.extend(Unresolved::new(Place::Arg { index: i }, arg, ""));
                i += 1;
            }
        }
        Transport::Remote(r) => {
            for (name, value) in &r.headers {
                let (prefix, token) = split_scheme(value);
                let place = Place::Header {
                    name: name.clone(),
                    prefix: prefix.to_owned(),
                };
                out.extend(Unresolved::new(place, value, token));
            }
            if r.url.contains(crate::reference::SCHEME) {
                let query = r.url.split_once('?').map_or("", |(_, q)| q);
                let param = query
                    .split('&')
                    .find(|p| p.contains(crate::reference::SCHEME))
                    .map(|p| p.split_once('=').map_or(p, |(k, _)| k).to_owned())
                    .unwrap_or_else(|| "(path)".to_owned());
                out.extend(Unresolved::new(Place::Url { param }, &r.url, ""));
            }
        }
        Transport::Unknown(_) => {}
    }
    out
}

/// Values that a secret-sounding name may still hold without them being secrets.
fn trivially_public(value: &str) -> bool {
    let v = value.trim();
    v.len() < 4
        || matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "none" | "null" | "empty" | "changeme" | "your-token-here"
        )
        || v.chars().all(|c| c.is_ascii_digit())
        || v.starts_with('/')
        || v.starts_with("./")
        || v.starts_with("~/")
}

fn provider_of(catalogue: &Catalogue, var: Option<&str>, value: &str) -> Option<(String, String)> {
    var.and_then(|v| catalogue.detect_env(v))
        .filter(|(_, f)| f.secret)
        .or_else(|| catalogue.detect_value(value))
        .map(|(p, f)| (p.id.clone(), f.name.clone()))
}

/// A secret under a name: the name looks secret or the value has a token's format.
fn named_secret(catalogue: &Catalogue, name: &str, value: &str) -> bool {
    if is_placeholder(value) {
        return false;
    }
    let known_public = catalogue
        .detect_env(name)
        .is_some_and(|(_, field)| !field.secret);
    if known_public {
        return false;
    }
    (name_looks_secret(name) && !trivially_public(value)) || catalogue.detect_value(value).is_some()
}

/// Every plaintext secret in a server of the given shape, in entry order.
pub fn find(transport: &Transport, catalogue: &Catalogue) -> Vec<Finding> {
    let mut out = Vec::new();
    match transport {
        Transport::Stdio(s) => {
            for (var, value) in &s.env {
                if named_secret(catalogue, var, value) {
                    out.push(Finding {
                        place: Place::Env { var: var.clone() },
                        value: Secret::from_str_copy(value),
                        var: Some(var.clone()),
                        provider: provider_of(catalogue, Some(var), value),
                    });
                }
            }
            find_in_args(&s.args, catalogue, &mut out);
        }
        Transport::Remote(r) => {
            for (name, value) in &r.headers {
                if is_placeholder(value) {
                    continue;
                }
                let (prefix, token) = split_scheme(value);
                let secret = name_looks_secret(name)
                    || name.eq_ignore_ascii_case("authorization")
                    || catalogue.detect_value(token).is_some();
                if secret && !token.is_empty() && !is_placeholder(token) {
                    out.push(Finding {
                        place: Place::Header {
                            name: name.clone(),
                            prefix: prefix.to_owned(),
                        },
                        value: Secret::from_str_copy(token),
                        var: None,
                        provider: provider_of(catalogue, None, token),
                    });
                }
            }
            find_in_url(&r.url, catalogue, &mut out);
        }
        Transport::Unknown(_) => {}
    }
    out
}

/// `Bearer abc` → (`Bearer `, `abc`); a value without a scheme is all token.
fn split_scheme(value: &str) -> (&str, &str) {
    for scheme in ["Bearer ", "bearer ", "Token ", "token ", "Basic ", "Bot "] {
        if let Some(rest) = value.strip_prefix(scheme) {
            return (scheme, rest.trim());
        }
    }
    ("", value.trim())
}

/// A docker `run` environment option at `args[i]` — `-e VAR=value`, `--env VAR=value`,
/// `--env=VAR=value`, `-eVAR=value` — as (index of the argument holding the pair, the prefix
/// before the pair in that argument, the pair).
fn docker_env_at(args: &[String], i: usize) -> Option<(usize, String, &str)> {
    let arg = &args[i];
    if (arg == "-e" || arg == "--env") && i + 1 < args.len() {
        Some((i + 1, String::new(), args[i + 1].as_str()))
    } else if let Some(rest) = arg.strip_prefix("--env=") {
        Some((i, "--env=".to_owned(), rest))
    } else {
        arg.strip_prefix("-e")
            .filter(|r| r.contains('='))
            .map(|rest| (i, "-e".to_owned(), rest))
    }
}

fn find_in_args(args: &[String], catalogue: &Catalogue, out: &mut Vec<Finding>) {
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        let docker = docker_env_at(args, i);
        if let Some((index, prefix, pair)) = docker {
            if let Some((var, value)) = pair.split_once('=') {
                if named_secret(catalogue, var, value) {
                    out.push(Finding {
                        place: Place::DockerEnv {
                            index,
                            prefix,
                            var: var.to_owned(),
                        },
                        value: Secret::from_str_copy(value),
                        var: Some(var.to_owned()),
                        provider: provider_of(catalogue, Some(var), value),
                    });
                }
            }
            i = index + 1;
            continue;
        }
        // --token VALUE / --api-key=VALUE
        if let Some(flag) = arg.strip_prefix('-').map(|f| f.trim_start_matches('-')) {
            if let Some((name, value)) = flag.split_once('=') {
                if named_secret(catalogue, name, value) {
                    out.push(arg_finding(i, value, catalogue));
                }
                i += 1;
                continue;
            }
            if name_looks_secret(flag) && i + 1 < args.len() {
                let value = &args[i + 1];
                if !value.starts_with('-') && named_secret(catalogue, flag, value) {
                    out.push(arg_finding(i + 1, value, catalogue));
                    i += 2;
                    continue;
                }
            }
            i += 1;
            continue;
        }
        if let Some(token) = known_secret_in(arg, catalogue) {
            out.push(arg_finding(i, token, catalogue));
        }
        i += 1;
    }
}

fn arg_finding(index: usize, value: &str, catalogue: &Catalogue) -> Finding {
    Finding {
        place: Place::Arg { index },
        value: Secret::from_str_copy(value),
        var: None,
        provider: provider_of(catalogue, None, value),
    }
}

fn find_in_url(url: &str, catalogue: &Catalogue, out: &mut Vec<Finding>) {
    let Some((_, query)) = url.split_once('?') else {
        return;
    };
    let query = query.split('#').next().unwrap_or(query);
    for pair in query.split('&') {
        let (param, value) = pair.split_once('=').unwrap_or((pair, ""));
        if named_secret(catalogue, param, value) {
            out.push(Finding {
                place: Place::Url {
                    param: param.to_owned(),
                },
                value: Secret::from_str_copy(value),
                var: None,
                provider: provider_of(catalogue, None, value),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{server::transport, ClientId};
    use super::*;
    use serde_json::json;

    const HF: &str = "hf_abcdefghijklmnopqrstuvwxyz01234567";
    const GH: &str = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";

    fn found(v: serde_json::Value) -> Vec<Finding> {
        find(&transport(ClientId::Cursor, &v), &Catalogue::builtin())
    }

    fn places(v: serde_json::Value) -> Vec<Place> {
        found(v).into_iter().map(|f| f.place).collect()
    }

    #[test]
    fn env_secrets_by_format_and_by_name_but_not_placeholders() {
        let f = found(json!({"command": "npx", "env": {
            "HF_TOKEN": HF,
            "BRAVE_API_KEY": "BSAxyz-opaque-value",
            "LOG_LEVEL": "debug",
            "SOME_VALUE": GH,
            "GITHUB_TOKEN": "${env:GITHUB_TOKEN}",
            "OTHER_TOKEN": "${input:tok}",
            "X_KEY": "$X_KEY",
            "REF_TOKEN": "tv://hf/token",
            "KEY_FILE": "/etc/key.pem",
            "AWS_REGION": "us-east-1",
        }}));
        let vars: Vec<_> = f.iter().filter_map(|f| f.var.as_deref()).collect();
        assert_eq!(vars, ["HF_TOKEN", "BRAVE_API_KEY", "SOME_VALUE"]);
        assert_eq!(
            f[0].provider,
            Some(("huggingface".to_owned(), "token".to_owned()))
        );
        assert_eq!(f[1].provider, None);
        assert_eq!(
            f[2].provider,
            Some(("github".to_owned(), "token".to_owned()))
        );
        assert_eq!(f[0].value.expose_secret(), HF);
    }

    #[test]
    fn docker_env_flags_args_and_urls() {
        let p = places(json!({"command": "docker", "args": [
            "run", "-i", "--rm", "-e", format!("GITHUB_PERSONAL_ACCESS_TOKEN={GH}"),
            "-e", "GITHUB_TOOLSETS=repos", "--env=API_KEY=opaque-secret-1",
            "-e", "PLAIN", "ghcr.io/github/github-mcp-server"
        ]}));
        assert_eq!(
            p,
            [
                Place::DockerEnv {
                    index: 4,
                    prefix: String::new(),
                    var: "GITHUB_PERSONAL_ACCESS_TOKEN".into()
                },
                Place::DockerEnv {
                    index: 7,
                    prefix: "--env=".into(),
                    var: "API_KEY".into()
                },
            ]
        );
        let p = places(json!({"command": "srv", "args": [
            "--token", HF, "--api-key=abcdef123456", "--verbose", "--key-file", "/k.pem",
            format!("https://x.example/mcp?token={HF}")
        ]}));
        assert_eq!(
            p,
            [
                Place::Arg { index: 1 },
                Place::Arg { index: 2 },
                Place::Arg { index: 6 }
            ]
        );
    }

    #[test]
    fn remote_headers_and_url_parameters() {
        let f = found(
            json!({"url": format!("https://hf.co/mcp?login&api_key=k-123456789"), "headers": {
                "Authorization": format!("Bearer {HF}"),
                "X-Client": "me",
                "X-Api-Key": "${env:KEY}",
            }}),
        );
        assert_eq!(
            f.iter().map(|f| f.place.clone()).collect::<Vec<_>>(),
            [
                Place::Header {
                    name: "Authorization".into(),
                    prefix: "Bearer ".into()
                },
                Place::Url {
                    param: "api_key".into()
                }
            ]
        );
        assert_eq!(f[0].value.expose_secret(), HF);
        assert!(f[0].place.movable() && !f[1].place.movable());
    }

    #[test]
    fn unresolved_references_where_nothing_resolves_them() {
        let cat = |v: serde_json::Value| find_unresolved(&transport(ClientId::Cursor, &v));
        // What `mcp restore` used to leave: a reference in env of a plain server.
        let u = cat(
            json!({"command": "npx", "args": ["-y", "srv", "--key=tv://a/b"], "env": {
                "HF_TOKEN": "tv://huggingface/token", "LOG": "1", "T": "{{ tv://x/y }}"
            }}),
        );
        assert_eq!(u.len(), 3, "{u:?}");
        assert_eq!(
            u[0].place,
            Place::Env {
                var: "HF_TOKEN".into()
            }
        );
        assert_eq!(u[0].text, "tv://huggingface/token");
        assert_eq!(
            u[0].reference.as_ref().map(ToString::to_string).as_deref(),
            Some("tv://huggingface/token")
        );
        assert_eq!(
            (u[1].text.as_str(), u[1].reference.is_none()),
            ("tv://x/y", true)
        );
        assert_eq!(u[2].place, Place::Arg { index: 2 });
        assert!(u[2].reference.is_none());
        // Under `tokenvault run`: its own `-e` pairs resolve; the server's docker -e does not.
        let u = cat(json!({"command": "/bin/tokenvault", "args": [
            "run", "-e", "GH=tv://github/token", "--", "docker", "run", "-e", "GH=tv://github/token", "img"
        ]}));
        assert_eq!(
            u.iter().map(|u| u.place.clone()).collect::<Vec<_>>(),
            [Place::DockerEnv {
                index: 7,
                prefix: String::new(),
                var: "GH".into()
            }]
        );
        assert!(u[0].reference.is_some());
        // `mcp proxy` resolves its headers; a plain remote server sends them as written.
        assert!(cat(json!({"command": "tokenvault", "args": [
            "mcp", "proxy", "--url", "https://x/mcp", "--header", "A: Bearer {{ tv://x/y }}"
        ]}))
        .is_empty());
        let u = cat(json!({"url": "https://x/mcp?k=tv://q/r", "headers": {
            "Authorization": "Bearer tv://huggingface/token", "X": "{{ tv://a/b }}"
        }}));
        assert_eq!(u.len(), 3, "{u:?}");
        assert!(u[0].reference.is_some() && u[1].reference.is_none());
        assert_eq!(u[2].place, Place::Url { param: "k".into() });
        assert!(
            cat(json!({"command": "npx", "env": {"HF_TOKEN": "hf_x", "A": "tv:/x"}})).is_empty()
        );
    }

    #[test]
    fn placeholders() {
        for p in [
            "${env:A}",
            "${input:b}",
            "${A}",
            "$A_B",
            "{{ tv://x }}",
            "tv://x/y",
            "",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        for p in [HF, "$ecret-with-dollar", "abc"] {
            assert!(!is_placeholder(p), "{p}");
        }
    }
}
