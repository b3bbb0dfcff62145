//! Docker's credential-helper protocol, as `docker-credential-tokenvault` speaks it (pure).
//!
//! Docker runs `docker-credential-<credsStore> get|store|erase|list` and talks JSON on its
//! standard streams: `get` receives a server URL and answers
//! `{"ServerURL": …, "Username": …, "Secret": …}`, `store` receives that object, `erase` a server
//! URL, `list` answers `{"<server URL>": "<username>"}`. A missing entry is the text
//! `credentials not found in native keychain` and a non-zero exit. Each registry is one vault item
//! `docker-<host>` with the fields `server`, `username` and `secret`.

use crate::Secret;
use base64::Engine;

/// What Docker expects on standard output when a server has no credentials.
pub const NOT_FOUND: &str = "credentials not found in native keychain";

/// The item that holds `server`'s credentials: `docker-` and the host (and port, path) in the
/// characters an item name allows. `https://index.docker.io/v1/` → `docker-index.docker.io-v1`.
pub fn item_for(server: &str) -> String {
    let s = server.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let mut out = String::from("docker-");
    let mut dash = false;
    for c in s.trim_end_matches('/').chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            out.push(c);
            dash = false;
        } else if !dash {
            out.push('-');
            dash = true;
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// One registry's credentials.
pub struct Credentials {
    pub server: String,
    pub username: String,
    pub secret: Secret,
}

/// Parses what `store` receives. The error never repeats the input (it holds a secret).
pub fn parse_store(input: &[u8]) -> Result<Credentials, String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Stored {
        #[serde(rename = "ServerURL")]
        server_url: String,
        username: String,
        secret: String,
    }
    let mut stored: Stored = serde_json::from_slice(input).map_err(|e| {
        format!(
            "expected {{\"ServerURL\", \"Username\", \"Secret\"}} (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    if stored.server_url.trim().is_empty() {
        return Err("ServerURL is empty".into());
    }
    let secret = Secret::from_str_copy(&stored.secret);
    zeroize::Zeroize::zeroize(&mut stored.secret);
    Ok(Credentials {
        server: stored.server_url.trim().to_owned(),
        username: stored.username,
        secret,
    })
}

/// The answer to `get`, as JSON text (it holds the secret: hand it only to Docker).
pub fn answer(c: &Credentials) -> zeroize::Zeroizing<String> {
    zeroize::Zeroizing::new(
        serde_json::json!({
            "ServerURL": c.server,
            "Username": c.username,
            "Secret": c.secret.expose_secret(),
        })
        .to_string(),
    )
}

/// The `auth` of a `~/.docker/config.json` entry: base64 of `user:password`.
pub fn decode_auth(auth: &str) -> Option<(String, Secret)> {
    let bytes = zeroize::Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .ok()?,
    );
    let text = std::str::from_utf8(&bytes).ok()?;
    let (user, pass) = text.split_once(':')?;
    (!pass.is_empty()).then(|| (user.to_owned(), Secret::from_str_copy(pass)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_become_item_names() {
        assert_eq!(
            item_for("https://index.docker.io/v1/"),
            "docker-index.docker.io-v1"
        );
        assert_eq!(item_for("ghcr.io"), "docker-ghcr.io");
        assert_eq!(
            item_for("registry.example.com:5000"),
            "docker-registry.example.com-5000"
        );
        assert!(crate::ItemName::new(&item_for("https://Reg.Example.com:443/x/")).is_ok());
    }

    #[test]
    fn store_input_is_parsed_and_errors_do_not_repeat_it() {
        let c = parse_store(br#"{"ServerURL":"ghcr.io","Username":"me","Secret":"ghp_abc"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((c.server.as_str(), c.username.as_str()), ("ghcr.io", "me"));
        assert_eq!(c.secret.expose_secret(), "ghp_abc");
        let err = parse_store(br#"{"ServerURL":"ghcr.io","Secret":"ghp_hidden""#)
            .err()
            .unwrap_or_default();
        assert!(!err.contains("ghp_hidden"), "{err}");
        let back = answer(&c);
        let v: serde_json::Value = serde_json::from_str(&back).unwrap_or_default();
        assert_eq!(v["Secret"], "ghp_abc");
        assert_eq!(v["ServerURL"], "ghcr.io");
    }

    #[test]
    fn config_auth_entries_decode() {
        let (u, p) = decode_auth("bWU6Z2hwX3NlY3JldA==").unwrap_or_else(|| panic!("decodes"));
        assert_eq!((u.as_str(), p.expose_secret()), ("me", "ghp_secret"));
        assert!(decode_auth("bm9jb2xvbg==").is_none()); // "nocolon"
        assert!(decode_auth("not base64!").is_none());
    }
}
