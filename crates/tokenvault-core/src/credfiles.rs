//! Reading the credential files other tools keep in the home directory — `~/.netrc`, `~/.pypirc`,
//! `~/.npmrc` — as spans of their own text, so that `scan --home --fix` can move a value into the
//! vault and then remove exactly its bytes (or its entry), keeping every other byte of the file.
//! Pure: text in, spans out; the value is never copied here (callers slice it from their text).
//!
//! The formats are read as their tools read them: netrc as whitespace-separated tokens
//! (`machine HOST login USER password PASS`, `default`, `macdef NAME` up to a blank line), as
//! curl and Python's `netrc` do; `.pypirc` as `configparser` INI (twine's reader); `.npmrc` as
//! npm's `key=value` ini lines, with `${VAR}` expanded by npm itself.

use std::ops::Range;

/// One `machine` entry of a netrc file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetrcEntry {
    pub machine: String,
    pub login: Option<String>,
    /// Where the password token is in the text.
    pub password: Option<Range<usize>>,
    /// The bytes that go when the entry is removed: from `machine` up to the next entry (or the
    /// end), so that the next entry starts where this one did.
    pub span: Range<usize>,
}

/// Whitespace-separated tokens with their byte ranges.
fn tokens(text: &str) -> Vec<(Range<usize>, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                out.push((s..i, &text[s..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((s..text.len(), &text[s..]));
    }
    out
}

/// The `machine` entries of a netrc file (the `default` entry and macros are not credentials of
/// a host: they are left out, and their bytes are never part of an entry's span).
pub fn netrc_entries(text: &str) -> Vec<NetrcEntry> {
    let toks = tokens(text);
    let mut out: Vec<NetrcEntry> = Vec::new();
    // Index of the entry being read, if the current one is a `machine`.
    let mut current: Option<usize> = None;
    let mut i = 0;
    while i < toks.len() {
        let (range, word) = (&toks[i].0, toks[i].1);
        match word {
            "machine" | "default" | "macdef" => {
                if let Some(c) = current.take() {
                    out[c].span.end = range.start;
                }
                if word == "machine" {
                    if let Some((_, host)) = toks.get(i + 1) {
                        out.push(NetrcEntry {
                            machine: (*host).to_owned(),
                            login: None,
                            password: None,
                            span: range.start..text.len(),
                        });
                        current = Some(out.len() - 1);
                    }
                    i += 2;
                    continue;
                }
                if word == "macdef" {
                    // The macro's body runs to the first empty line.
                    let body_end = text[range.end..]
                        .find("\n\n")
                        .map_or(text.len(), |p| range.end + p + 2);
                    while i < toks.len() && toks[i].0.start < body_end {
                        i += 1;
                    }
                    continue;
                }
                i += 1;
            }
            "login" | "password" | "account" => {
                if let (Some(c), Some((vr, v))) = (current, toks.get(i + 1)) {
                    match word {
                        "login" => out[c].login = Some((*v).to_owned()),
                        "password" => out[c].password = Some(vr.clone()),
                        _ => {}
                    }
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    out
}

/// A section of `~/.pypirc` that holds a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PypircSection {
    pub name: String,
    pub username: Option<String>,
    /// The repository URL: the section's `repository`, else PyPI's or TestPyPI's upload URL for
    /// those sections (as twine assumes).
    pub repository: Option<String>,
    /// The password's value in the text.
    pub password: Range<usize>,
    /// The whole `password = …` line, its line break included.
    pub line: Range<usize>,
    /// 1-based line number.
    pub line_no: u64,
}

/// PyPI's upload URL, which twine uses for a `[pypi]` section without `repository`.
pub const PYPI_UPLOAD: &str = "https://upload.pypi.org/legacy/";
/// TestPyPI's.
pub const TESTPYPI_UPLOAD: &str = "https://test.pypi.org/legacy/";

/// The sections of a `.pypirc` that hold a `password`.
pub fn pypirc_sections(text: &str) -> Vec<PypircSection> {
    struct Cur {
        name: String,
        username: Option<String>,
        repository: Option<String>,
        password: Option<(Range<usize>, Range<usize>, u64)>,
    }
    let mut out = Vec::new();
    let mut cur: Option<Cur> = None;
    let finish = |c: Cur, out: &mut Vec<PypircSection>| {
        if let Some((password, line, line_no)) = c.password {
            let repository = c.repository.or_else(|| match c.name.as_str() {
                "pypi" => Some(PYPI_UPLOAD.to_owned()),
                "testpypi" => Some(TESTPYPI_UPLOAD.to_owned()),
                _ => None,
            });
            out.push(PypircSection {
                name: c.name,
                username: c.username,
                repository,
                password,
                line,
                line_no,
            });
        }
    };
    let mut at = 0;
    for (n, raw) in text.split_inclusive('\n').enumerate() {
        let line_range = at..at + raw.len();
        at += raw.len();
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            if let Some(c) = cur.take() {
                finish(c, &mut out);
            }
            cur = Some(Cur {
                name: name.trim().to_owned(),
                username: None,
                repository: None,
                password: None,
            });
            continue;
        }
        let Some(c) = cur.as_mut() else { continue };
        let Some(sep) = raw.find(['=', ':']) else {
            continue;
        };
        let key = raw[..sep].trim().to_ascii_lowercase();
        let value = raw[sep + 1..].trim();
        if value.is_empty() {
            continue;
        }
        // The value's own range: after the separator and its leading spaces.
        let lead = raw[sep + 1..].len() - raw[sep + 1..].trim_start().len();
        let vstart = line_range.start + sep + 1 + lead;
        let vrange = vstart..vstart + value.len();
        match key.as_str() {
            "username" => c.username = Some(value.to_owned()),
            "repository" => c.repository = Some(value.to_owned()),
            "password" => c.password = Some((vrange, line_range.clone(), n as u64 + 1)),
            _ => {}
        }
    }
    if let Some(c) = cur.take() {
        finish(c, &mut out);
    }
    out
}

/// An `_authToken` line of `~/.npmrc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpmToken {
    /// The registry the token is for (`registry.npmjs.org` for a bare `_authToken`).
    pub registry: String,
    /// The token's value in the text.
    pub value: Range<usize>,
    /// 1-based line number.
    pub line_no: u64,
}

/// npm's public registry.
pub const NPM_REGISTRY: &str = "registry.npmjs.org";

/// The `_authToken` values of an `.npmrc` (a value that is already `${VAR}` is not one).
pub fn npmrc_tokens(text: &str) -> Vec<NpmToken> {
    let mut out = Vec::new();
    let mut at = 0;
    for (n, raw) in text.split_inclusive('\n').enumerate() {
        let start = at;
        at += raw.len();
        let t = raw.trim_start();
        if t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        let Some(eq) = raw.find('=') else { continue };
        let key = raw[..eq].trim();
        let Some(scope) = key.strip_suffix("_authToken") else {
            continue;
        };
        let registry = match scope.strip_suffix(':') {
            Some(s) => s
                .trim_start_matches("//")
                .split('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
            None if scope.is_empty() => NPM_REGISTRY.to_owned(),
            None => continue,
        };
        let after = &raw[eq + 1..];
        let value = after.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        if value.is_empty() || value.starts_with("${") {
            continue;
        }
        let Some(off) = after.find(value) else {
            continue;
        };
        let vstart = start + eq + 1 + off;
        out.push(NpmToken {
            registry,
            value: vstart..vstart + value.len(),
            line_no: n as u64 + 1,
        });
    }
    out
}

/// The variable npm reads a registry's token from after the fix: `NPM_TOKEN` for the public
/// registry, `NPM_TOKEN_HOST` (upper case, other characters `_`) for another.
pub fn npm_variable(registry: &str) -> String {
    if registry == NPM_REGISTRY {
        return "NPM_TOKEN".to_owned();
    }
    let host: String = registry
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("NPM_TOKEN_{host}")
}

/// An item name from `prefix` and a host or section name: lower case, other characters `-`,
/// at most 64 characters.
pub fn item_name(prefix: &str, name: &str) -> String {
    let mut s = format!("{prefix}-");
    let mut dash = true;
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            s.push(c);
            dash = false;
        } else if !dash {
            s.push('-');
            dash = true;
        }
    }
    let mut s = s.trim_end_matches('-').to_owned();
    s.truncate(64);
    s
}

/// The host of a URL (`https://user@host:port/path` → `host:port`), or the text itself when it
/// is a bare host.
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority.rsplit_once('@').map_or(authority, |(_, h)| h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netrc_entries_span_to_the_next_entry_and_skip_macros() {
        let text = "machine a.example login me password p1\nmachine b.example\n  login you\n  password p2\n\ndefault login anon password x\nmacdef init\nmachine fake password no\n\nmachine c.example password p3";
        let e = netrc_entries(text);
        let got: Vec<(&str, Option<&str>, Option<&str>)> = e
            .iter()
            .map(|e| {
                (
                    e.machine.as_str(),
                    e.login.as_deref(),
                    e.password.clone().map(|r| &text[r]),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("a.example", Some("me"), Some("p1")),
                ("b.example", Some("you"), Some("p2")),
                ("c.example", None, Some("p3")),
            ]
        );
        assert_eq!(
            &text[e[0].span.clone()],
            "machine a.example login me password p1\n"
        );
        assert_eq!(
            &text[e[1].span.clone()],
            "machine b.example\n  login you\n  password p2\n\n"
        );
        assert_eq!(&text[e[2].span.clone()], "machine c.example password p3");
    }

    #[test]
    fn pypirc_sections_with_passwords_and_their_lines() {
        let text = "[distutils]\nindex-servers =\n    pypi\n    private\n\n[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmc\n\n[private]\nrepository: https://pkgs.example.com/simple/\nusername: bob\npassword:hunter22\n[nopass]\nusername = x\n";
        let s = pypirc_sections(text);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "pypi");
        assert_eq!(s[0].username.as_deref(), Some("__token__"));
        assert_eq!(s[0].repository.as_deref(), Some(PYPI_UPLOAD));
        assert_eq!(&text[s[0].password.clone()], "pypi-AgEIcHlwaS5vcmc");
        assert_eq!(
            &text[s[0].line.clone()],
            "password = pypi-AgEIcHlwaS5vcmc\n"
        );
        assert_eq!(s[0].line_no, 8);
        assert_eq!(
            s[1].repository.as_deref(),
            Some("https://pkgs.example.com/simple/")
        );
        assert_eq!(&text[s[1].password.clone()], "hunter22");
    }

    #[test]
    fn npmrc_tokens_by_registry_and_variables() {
        let text = "registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=npm_abc123\n//npm.pkg.github.com/:_authToken = \"ghp_x\"\n//r.example/:_authToken=${R_TOKEN}\n; //x/:_authToken=commented\n_authToken=bare1\n";
        let t = npmrc_tokens(text);
        let got: Vec<(&str, &str, u64)> = t
            .iter()
            .map(|t| (t.registry.as_str(), &text[t.value.clone()], t.line_no))
            .collect();
        assert_eq!(
            got,
            vec![
                ("registry.npmjs.org", "npm_abc123", 2),
                ("npm.pkg.github.com", "ghp_x", 3),
                ("registry.npmjs.org", "bare1", 6),
            ]
        );
        assert_eq!(npm_variable("registry.npmjs.org"), "NPM_TOKEN");
        assert_eq!(
            npm_variable("npm.pkg.github.com"),
            "NPM_TOKEN_NPM_PKG_GITHUB_COM"
        );
    }

    #[test]
    fn names_and_hosts() {
        assert_eq!(
            item_name("netrc", "API.Example.com:8443"),
            "netrc-api.example.com-8443"
        );
        assert_eq!(
            url_host("https://__token__@127.0.0.1:8080/simple/"),
            "127.0.0.1:8080"
        );
        assert_eq!(url_host("upload.pypi.org"), "upload.pypi.org");
    }
}
