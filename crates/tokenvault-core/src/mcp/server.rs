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
