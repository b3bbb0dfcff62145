//! What Hugging Face's `GET /api/whoami-v2` says about a token: account, organisations, the token's
//! name, role and fine-grained scopes, and whether it can write (the least-privilege warning).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The account a token belongs to, as `GET /api/whoami-v2` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhoAmI {
    /// The account name (`user` or `org` name).
    pub name: String,
    /// `user` or `org` (legacy `api_org_` tokens belong to an organisation).
    pub kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orgs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenInfo>,
}

/// The facts about the token itself (`auth.accessToken`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub role: TokenRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// A token's role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "camelCase")]
pub enum TokenRole {
    Read,
    Write,
    FineGrained {
        /// Permissions on everything the owner can reach (`global`).
        #[serde(default)]
        global: Vec<String>,
        /// Permissions per user, organisation or repository.
        #[serde(default)]
        scoped: Vec<Scope>,
    },
    /// A role this version does not know; shown as given.
    Other {
        name: String,
    },
}

/// One `fineGrained.scoped` entry: an entity and what the token may do there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// `user`, `org`, `model`, `dataset` or `space`.
    pub entity_type: String,
    pub entity_name: String,
    pub permissions: Vec<String>,
}

impl TokenRole {
    /// The role's name as the Hub spells it.
    pub fn name(&self) -> &str {
        match self {
            TokenRole::Read => "read",
            TokenRole::Write => "write",
            TokenRole::FineGrained { .. } => "fineGrained",
            TokenRole::Other { name } => name,
        }
    }

    /// Every write-like permission the token carries (`repo.write`, `inference.endpoints.write`, …),
    /// or `["write"]` for a classic write token. Empty for read tokens.
    pub fn write_permissions(&self) -> Vec<String> {
        match self {
            TokenRole::Write => vec!["write".to_owned()],
            TokenRole::FineGrained { global, scoped } => {
                let mut out: Vec<String> = global
                    .iter()
                    .filter(|p| is_write_permission(p))
                    .map(|p| format!("{p} (global)"))
                    .collect();
                for s in scoped {
                    for p in s.permissions.iter().filter(|p| is_write_permission(p)) {
                        out.push(format!("{p} on {} {}", s.entity_type, s.entity_name));
                    }
                }
                out
            }
            TokenRole::Read | TokenRole::Other { .. } => Vec::new(),
        }
    }

    /// One line: `read`, `write`, or `fineGrained: user alice: repo.content.read, …`.
    pub fn describe(&self) -> String {
        match self {
            TokenRole::FineGrained { global, scoped } => {
                let mut parts: Vec<String> = Vec::new();
                if !global.is_empty() {
                    parts.push(format!("global: {}", global.join(", ")));
                }
                for s in scoped {
                    parts.push(format!(
                        "{} {}: {}",
                        s.entity_type,
                        s.entity_name,
                        if s.permissions.is_empty() {
                            "no permissions".to_owned()
                        } else {
                            s.permissions.join(", ")
                        }
                    ));
                }
                if parts.is_empty() {
                    "fineGrained (no permissions)".to_owned()
                } else {
                    format!("fineGrained ({})", parts.join("; "))
                }
            }
            other => other.name().to_owned(),
        }
    }
}

/// Write-like permissions. `inference.serverless.write` is excluded: despite its name it only
/// allows calling Inference Providers, which is what a read-only workload does.
fn is_write_permission(p: &str) -> bool {
    (p.ends_with(".write") || p.ends_with(".manage") || p == "write")
        && p != "inference.serverless.write"
}

impl WhoAmI {
    /// One line for people: `alice (user), orgs: acme, token "laptop", role read`.
    pub fn summary(&self) -> String {
        let mut s = format!("{} ({})", self.name, self.kind);
        if !self.orgs.is_empty() {
            s.push_str(&format!(", orgs: {}", self.orgs.join(", ")));
        }
        if let Some(t) = &self.token {
            if let Some(n) = &t.display_name {
                s.push_str(&format!(", token \"{n}\""));
            }
            s.push_str(&format!(", role {}", t.role.describe()));
            if let Some(e) = &t.expires_at {
                s.push_str(&format!(", expires {e}"));
            }
        }
        s
    }

    /// The least-privilege warning for a token that can write, or `None` for a read token.
    pub fn privilege_warning(&self) -> Option<String> {
        let perms = self.token.as_ref()?.role.write_permissions();
        if perms.is_empty() {
            return None;
        }
        Some(format!(
            "this token can write ({}); downloads and inference need only a read token",
            perms.join(", ")
        ))
    }
}

/// Why a `whoami-v2` body could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the answer is not a whoami-v2 response: {0}")]
pub struct ParseError(String);

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Parses the body of a successful `GET /api/whoami-v2`. Unknown keys are ignored; only `name`
/// is required.
pub fn parse_whoami(body: &str) -> Result<WhoAmI, ParseError> {
    let v: Value = serde_json::from_str(body).map_err(|e| ParseError(format!("not JSON ({e})")))?;
    let name = str_at(&v, "name")
        .ok_or_else(|| ParseError("no account name in it".to_owned()))?
        .to_owned();
    let kind = str_at(&v, "type").unwrap_or("user").to_owned();
    let orgs = v
        .get("orgs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|o| str_at(o, "name"))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let token = v.get("auth").and_then(|a| a.get("accessToken")).map(|t| {
        let role = match str_at(t, "role").unwrap_or("") {
            "read" => TokenRole::Read,
            "write" => TokenRole::Write,
            "fineGrained" => {
                let fg = t.get("fineGrained");
                let global = strings(fg.and_then(|f| f.get("global")));
                let scoped = fg
                    .and_then(|f| f.get("scoped"))
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|s| Scope {
                                entity_type: s
                                    .get("entity")
                                    .and_then(|e| str_at(e, "type"))
                                    .unwrap_or("entity")
                                    .to_owned(),
                                entity_name: s
                                    .get("entity")
                                    .and_then(|e| str_at(e, "name"))
                                    .unwrap_or("?")
                                    .to_owned(),
                                permissions: strings(s.get("permissions")),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                TokenRole::FineGrained { global, scoped }
            }
            "" => TokenRole::Other {
                name: "unknown".to_owned(),
            },
            other => TokenRole::Other {
                name: other.to_owned(),
            },
        };
        TokenInfo {
            display_name: str_at(t, "displayName").map(str::to_owned),
            role,
            created_at: str_at(t, "createdAt").map(str::to_owned),
            expires_at: str_at(t, "expiresAt")
                .or_else(|| str_at(t, "expiration"))
                .map(str::to_owned),
        }
    });
    Ok(WhoAmI {
        name,
        kind,
        orgs,
        token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ: &str = r#"{"type":"user","id":"6","name":"alice","fullname":"Alice","email":"a@example.com",
        "orgs":[{"type":"org","name":"acme","roleInOrg":"write"},{"type":"org","name":"lab"}],
        "auth":{"type":"access_token","accessToken":{"displayName":"laptop","role":"read","createdAt":"2025-01-02T03:04:05.000Z"}}}"#;

    #[test]
    fn read_token() {
        let w = parse_whoami(READ).unwrap();
        assert_eq!(w.name, "alice");
        assert_eq!(w.orgs, vec!["acme", "lab"]);
        let t = w.token.as_ref().unwrap();
        assert_eq!(t.display_name.as_deref(), Some("laptop"));
        assert_eq!(t.role, TokenRole::Read);
        assert!(w.privilege_warning().is_none());
        assert!(w.summary().contains("role read"), "{}", w.summary());
    }

    #[test]
    fn fine_grained_scopes_and_warning() {
        let body = r#"{"type":"user","name":"bob","orgs":[],"auth":{"type":"access_token","accessToken":{
            "displayName":"ci","role":"fineGrained","expiresAt":"2030-01-01T00:00:00Z","fineGrained":{"canReadGatedRepos":true,
            "global":["discussion.write"],
            "scoped":[{"entity":{"_id":"1","type":"user","name":"bob"},"permissions":["repo.content.read","repo.write"]},
                      {"entity":{"_id":"2","type":"org","name":"acme"},"permissions":["repo.content.read"]}]}}}}"#;
        let w = parse_whoami(body).unwrap();
        let role = &w.token.as_ref().unwrap().role;
        assert_eq!(
            role.write_permissions(),
            vec!["discussion.write (global)", "repo.write on user bob"]
        );
        assert!(role.describe().contains("org acme: repo.content.read"));
        assert!(w.summary().contains("expires 2030-01-01"));
        assert!(w.privilege_warning().unwrap().contains("read token"));
        // Round-trips through the index.
        let back: WhoAmI = serde_json::from_str(&serde_json::to_string(&w).unwrap()).unwrap();
        assert_eq!(back, w);
    }

    #[test]
    fn read_only_fine_grained_is_not_warned() {
        let body = r#"{"type":"user","name":"c","auth":{"accessToken":{"role":"fineGrained","fineGrained":{"scoped":[{"entity":{"type":"model","name":"c/m"},"permissions":["repo.content.read","inference.serverless.write"]}]}}}}"#;
        // inference.serverless.write is what "make calls to Inference Providers" is called: no warning.
        assert!(parse_whoami(body).unwrap().privilege_warning().is_none());
        let body = body.replace("inference.serverless.write", "repo.write");
        assert!(parse_whoami(&body).unwrap().privilege_warning().is_some());
    }

    #[test]
    fn write_token_warns() {
        let body = READ.replace("\"read\"", "\"write\"");
        let w = parse_whoami(&body).unwrap();
        assert_eq!(w.token.as_ref().unwrap().role, TokenRole::Write);
        assert!(w.privilege_warning().is_some());
    }
}
