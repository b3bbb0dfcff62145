//! What a server entry is, whatever the client calls its keys: a local program (stdio) or a
//! remote URL, and whether tokenvault already launches it.

use super::clients::ClientId;
use serde_json::Value;

/// A server launched as a local process.
#[derive(Debug, Clone, PartialEq)]
pub struct Stdio {
    pub command: String,
    pub args: Vec<String>,
    /// String-valued `env` members, in file order.
    pub env: Vec<(String, String)>,
    /// Where `command`/`args`/`env` sit inside the entry: `[]`, or `["command"]` for Zed's older
    /// `"command": {"path": …, "args": …, "env": …}` form.
    pub base: Vec<String>,
    /// `command`, or `path` in Zed's older form.
    pub command_key: &'static str,
}

/// A server reached over HTTP.
#[derive(Debug, Clone, PartialEq)]
pub struct Remote {
    /// `url`, `serverUrl` (Windsurf) or `httpUrl` (Gemini CLI).
    pub url_key: &'static str,
    pub url: String,
    /// `headers`, or `http_headers` (Codex).
    pub headers_key: &'static str,
    pub headers: Vec<(String, String)>,
    /// Claude Code's `headersHelper` command, when set.
    pub headers_helper: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Transport {
    Stdio(Stdio),
    Remote(Remote),
    /// Neither a command nor a URL: left alone, with the reason for `mcp list`.
    Unknown(String),
}

/// How tokenvault already takes part in launching a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secured {
    /// `tokenvault run … -- CMD`.
    Run,
    /// `tokenvault mcp proxy …`.
    Proxy,
    /// Claude Code's `headersHelper` runs `tokenvault mcp headers`.
    HeadersHelper,
}

fn string_pairs(v: Option<&Value>) -> Vec<(String, String)> {
    match v {
        Some(Value::Object(map)) => map
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
            .collect(),
        _ => Vec::new(),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The shape of `value`, a server entry of `client`.
pub fn transport(client: ClientId, value: &Value) -> Transport {
    let Value::Object(obj) = value else {
        return Transport::Unknown("the entry is not an object".into());
    };
    // Zed's older form nests the command.
    if let Some(Value::Object(cmd)) = obj.get("command") {
        return match cmd.get("path").and_then(Value::as_str) {
            Some(path) => Transport::Stdio(Stdio {
                command: path.to_owned(),
                args: strings(cmd.get("args")),
                env: string_pairs(cmd.get("env")),
                base: vec!["command".to_owned()],
                command_key: "path",
            }),
            None => Transport::Unknown("'command' is an object without 'path'".into()),
        };
    }
    if let Some(command) = obj.get("command").and_then(Value::as_str) {
        return Transport::Stdio(Stdio {
            command: command.to_owned(),
            args: strings(obj.get("args")),
            env: string_pairs(obj.get("env")),
            base: Vec::new(),
            command_key: "command",
        });
    }
    for key in ["url", "serverUrl", "httpUrl"] {
        if let Some(url) = obj.get(key).and_then(Value::as_str) {
            let headers_key = if client == ClientId::Codex {
                "http_headers"
            } else {
                "headers"
            };
            let url_key = match key {
                "serverUrl" => "serverUrl",
                "httpUrl" => "httpUrl",
                _ => "url",
            };
            return Transport::Remote(Remote {
                url_key,
                url: url.to_owned(),
                headers_key,
                headers: string_pairs(obj.get(headers_key)),
                headers_helper: obj
                    .get("headersHelper")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            });
        }
    }
    Transport::Unknown("neither 'command' nor 'url'".into())
}

/// Whether `command` is a tokenvault binary (any directory, `.exe` on Windows).
pub fn is_tokenvault(command: &str) -> bool {
    let file = command.rsplit(['/', '\\']).next().unwrap_or(command);
    let stem = file.strip_suffix(".exe").unwrap_or(file);
    stem == "tokenvault"
}

/// How tokenvault already takes part in this server, if it does.
pub fn secured(t: &Transport) -> Option<Secured> {
    match t {
        Transport::Stdio(s) if is_tokenvault(&s.command) => {
            match s.args.first().map(String::as_str) {
                Some("run") => Some(Secured::Run),
                Some("mcp") if s.args.get(1).map(String::as_str) == Some("proxy") => {
                    Some(Secured::Proxy)
                }
                _ => None,
            }
        }
        Transport::Remote(r) => r
            .headers_helper
            .as_deref()
            .filter(|h| h.contains("tokenvault") && h.contains("mcp headers"))
            .map(|_| Secured::HeadersHelper),
        _ => None,
    }
}

/// Something a command line of `tokenvault run` (or a server launched through tokenvault) takes
/// from the vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultUse {
    /// A reference, and where it is named: the variable (`HF_TOKEN`) or the header
    /// (`header Authorization`).
    Reference {
        place: String,
        reference: crate::Reference,
    },
    /// `-p PROFILE`: the profile's references.
    Profile(String),
    /// `--env-file FILE`: the file's `tv://` values.
    EnvFile(String),
}

/// What the options of `tokenvault run` (the arguments after `run`, up to `--`) take from the
/// vault. An option this does not know is skipped; a pair that does not parse names nothing.
pub fn run_options(args: &[String]) -> Vec<VaultUse> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        if arg == "--" {
            break;
        }
        let next = || args.get(i + 1).cloned();
        let (kind, value, used) = match arg {
            "-e" | "--env" => ("env", next(), 2),
            "-p" | "--profile" => ("profile", next(), 2),
            "--env-file" => ("file", next(), 2),
            _ => {
                if let Some(v) = arg.strip_prefix("--env=") {
                    ("env", Some(v.to_owned()), 1)
                } else if let Some(v) = arg.strip_prefix("--profile=") {
                    ("profile", Some(v.to_owned()), 1)
                } else if let Some(v) = arg.strip_prefix("--env-file=") {
                    ("file", Some(v.to_owned()), 1)
                } else if let Some(v) = arg.strip_prefix("-e").filter(|v| !v.is_empty()) {
                    ("env", Some(v.to_owned()), 1)
                } else if let Some(v) = arg
                    .strip_prefix("-p")
                    .filter(|v| !v.is_empty() && !arg.starts_with("--"))
                {
                    ("profile", Some(v.to_owned()), 1)
                } else {
                    ("", None, 1)
                }
            }
        };
        match (kind, value) {
            ("env", Some(pair)) => {
                if let Ok((var, reference)) = crate::envplan::parse_assignment(&pair) {
                    out.push(VaultUse::Reference {
                        place: var,
                        reference,
                    });
                }
            }
            ("profile", Some(name)) => out.push(VaultUse::Profile(name)),
            ("file", Some(path)) => out.push(VaultUse::EnvFile(path)),
            _ => {}
        }
        i += used;
    }
    out
}

/// The `{{ tv://… }}` references of a `Name: value` header (or any text), each with `place`.
fn template_uses(text: &str, place: &str, out: &mut Vec<VaultUse>) {
    if let Ok(segments) = crate::template::parse(text) {
        for r in crate::template::references(&segments) {
            out.push(VaultUse::Reference {
                place: place.to_owned(),
                reference: r.clone(),
            });
        }
    }
}

/// What a server launched through tokenvault takes from the vault: the options of its `tokenvault
/// run`, the header templates of its `mcp proxy`, those of its `headersHelper`. A server tokenvault
/// does not launch takes nothing (a `tv://` written elsewhere in it is not resolved: see
/// [`super::detect::find_unresolved`]).
pub fn vault_uses(t: &Transport) -> Vec<VaultUse> {
    let mut out = Vec::new();
    match (secured(t), t) {
        (Some(Secured::Run), Transport::Stdio(s)) => out = run_options(&s.args[1..]),
        (Some(Secured::Proxy), Transport::Stdio(s)) => {
            let mut i = 2;
            while i < s.args.len() {
                let a = &s.args[i];
                let header = if a == "--header" {
                    i += 1;
                    s.args.get(i).map(String::as_str)
                } else {
                    a.strip_prefix("--header=")
                };
                if let Some(h) = header {
                    let name = h.split_once(':').map_or(h, |(n, _)| n).trim();
                    template_uses(h, &format!("header {name}"), &mut out);
                }
                // `--oauth NAME`: the login `mcp login` stored as the item `mcp-oauth-NAME`.
                let login = if a == "--oauth" {
                    i += 1;
                    s.args.get(i).map(String::as_str)
                } else {
                    a.strip_prefix("--oauth=")
                };
                if let Some(Ok(reference)) = login.map(|n| {
                    crate::Reference::parse(&format!(
                        "tv://{}{n}/{}",
                        crate::oauth::LOGIN_ITEM_PREFIX,
                        crate::oauth::LOGIN_FIELD
                    ))
                }) {
                    out.push(VaultUse::Reference {
                        place: "OAuth login".into(),
                        reference,
                    });
                }
                i += 1;
            }
        }
        (Some(Secured::HeadersHelper), Transport::Remote(r)) => {
            if let Some(helper) = &r.headers_helper {
                template_uses(helper, "headersHelper", &mut out);
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_of_every_client_are_recognised() {
        let t = transport(
            ClientId::Cursor,
            &json!({"command": "npx", "args": ["-y", 3], "env": {"A": "1", "N": 2}}),
        );
        let Transport::Stdio(s) = t else {
            panic!("{t:?}")
        };
        assert_eq!(s.args, ["-y", "3"]);
        assert_eq!(s.env, [("A".to_owned(), "1".to_owned())]);

        let t = transport(
            ClientId::Zed,
            &json!({"command": {"path": "uvx", "args": ["srv"], "env": {"K": "v"}}, "settings": {}}),
        );
        let Transport::Stdio(s) = t else {
            panic!("{t:?}")
        };
        assert_eq!((s.command.as_str(), s.command_key), ("uvx", "path"));
        assert_eq!(s.base, ["command"]);

        let t = transport(
            ClientId::Windsurf,
            &json!({"serverUrl": "https://x/mcp", "headers": {"Authorization": "Bearer a"}}),
        );
        let Transport::Remote(r) = t else {
            panic!("{t:?}")
        };
        assert_eq!((r.url_key, r.headers.len()), ("serverUrl", 1));
        let t = transport(
            ClientId::Codex,
            &json!({"url": "https://x/mcp", "http_headers": {"X": "y"}}),
        );
        let Transport::Remote(r) = t else {
            panic!("{t:?}")
        };
        assert_eq!(r.headers_key, "http_headers");
        assert!(matches!(
            transport(ClientId::Cursor, &json!({"disabled": true})),
            Transport::Unknown(_)
        ));
        assert!(matches!(
            transport(ClientId::Cursor, &json!("npx")),
            Transport::Unknown(_)
        ));
    }

    #[test]
    fn what_a_secured_server_takes_from_the_vault() {
        let r = |s: &str| crate::Reference::parse(s).unwrap();
        let run = transport(
            ClientId::Cursor,
            &json!({"command": "/bin/tokenvault", "args": [
                "run", "-e", "HF_TOKEN=tv://huggingface/token", "--env=GH=github", "-p", "work",
                "--env-file", "/x/.env", "--", "npx", "-e", "X=tv://not/ours"
            ]}),
        );
        assert_eq!(
            vault_uses(&run),
            [
                VaultUse::Reference {
                    place: "HF_TOKEN".into(),
                    reference: r("tv://huggingface/token")
                },
                VaultUse::Reference {
                    place: "GH".into(),
                    reference: r("github")
                },
                VaultUse::Profile("work".into()),
                VaultUse::EnvFile("/x/.env".into()),
            ]
        );
        let proxy = transport(
            ClientId::Cursor,
            &json!({"command": "tokenvault", "args": [
                "mcp", "proxy", "--url", "https://x/mcp", "--header", "Authorization: Bearer {{ tv://huggingface/token }}"
            ]}),
        );
        assert_eq!(
            vault_uses(&proxy),
            [VaultUse::Reference {
                place: "header Authorization".into(),
                reference: r("tv://huggingface/token")
            }]
        );
        let oauth = transport(
            ClientId::Cursor,
            &json!({"command": "tokenvault", "args": ["mcp", "proxy", "--oauth", "hub"]}),
        );
        assert_eq!(
            vault_uses(&oauth),
            [VaultUse::Reference {
                place: "OAuth login".into(),
                reference: r("tv://mcp-oauth-hub/access_token")
            }]
        );
        let plain = transport(
            ClientId::Cursor,
            &json!({"command": "npx", "env": {"HF_TOKEN": "tv://huggingface/token"}}),
        );
        assert!(vault_uses(&plain).is_empty());
    }

    #[test]
    fn tokenvault_launches_are_recognised() {
        let run = transport(
            ClientId::Cursor,
            &json!({"command": "/usr/local/bin/tokenvault", "args": ["run", "--", "x"]}),
        );
        assert_eq!(secured(&run), Some(Secured::Run));
        let proxy = transport(
            ClientId::Cursor,
            &json!({"command": "C:\\bin\\tokenvault.exe", "args": ["mcp", "proxy"]}),
        );
        assert_eq!(secured(&proxy), Some(Secured::Proxy));
        let other = transport(
            ClientId::Cursor,
            &json!({"command": "/bin/tokenvault-other", "args": ["run"]}),
        );
        assert_eq!(secured(&other), None);
    }
}
