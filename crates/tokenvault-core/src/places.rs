//! The catalogue of places: where plaintext copies of tokens pile up in a home directory (shell
//! histories, rc files, MCP client logs, agent transcripts, notebooks, credential files, crontabs),
//! what each place is, and how a finding there is fixed.
//!
//! Like the provider catalogue it is data (`rules/places.toml`, embedded in the binary), parsed
//! here without I/O; `tokenvault scan --home` and `doctor` read it. Paths are `/`-separated globs
//! under the home directory, per OS; [`Pattern`] splits one into the literal directory a walk
//! starts from and the segments that must match below it, so a scan reads only the files the
//! catalogue names and walks only the directories it must.

use serde::Deserialize;

pub const BUILTIN_TOML: &str = include_str!("../../../rules/places.toml");

/// What kind of place it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlaceKind {
    History,
    RcFile,
    ClientLog,
    Transcript,
    Notebook,
    CredentialFile,
    Crontab,
}

impl PlaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PlaceKind::History => "history",
            PlaceKind::RcFile => "rc-file",
            PlaceKind::ClientLog => "client-log",
            PlaceKind::Transcript => "transcript",
            PlaceKind::Notebook => "notebook",
            PlaceKind::CredentialFile => "credential-file",
            PlaceKind::Crontab => "crontab",
        }
    }
}

/// How a finding in a place is fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fix {
    /// Replace the value in place: the copy is useless to keep.
    Redact,
    /// Move the value into the vault and point the tool reading the file at tokenvault.
    ImportAndHelper,
    /// The copy may have left the machine: rotate the token at the provider.
    RotateAdvice,
}

impl Fix {
    pub fn as_str(self) -> &'static str {
        match self {
            Fix::Redact => "redact",
            Fix::ImportAndHelper => "import-and-helper",
            Fix::RotateAdvice => "rotate-advice",
        }
    }
}

/// An operating system the catalogue has paths for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    Macos,
    Windows,
}

impl Os {
    /// `std::env::consts::OS` as one of ours (other Unixes read the Linux paths).
    pub fn from_consts(os: &str) -> Os {
        match os {
            "macos" => Os::Macos,
            "windows" => Os::Windows,
            _ => Os::Linux,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    pub id: String,
    pub name: String,
    pub kind: PlaceKind,
    pub fix: Fix,
    #[serde(default)]
    pub leaves_machine: bool,
    #[serde(default)]
    pub linux: Vec<String>,
    #[serde(default)]
    pub macos: Vec<String>,
    #[serde(default)]
    pub windows: Vec<String>,
    /// A program whose output is the place (`["crontab", "-l"]`).
    #[serde(default)]
    pub command: Vec<String>,
    pub tool: Option<String>,
    pub helper: Option<String>,
}

impl Place {
    pub fn paths(&self, os: Os) -> &[String] {
        match os {
            Os::Linux => &self.linux,
            Os::Macos => &self.macos,
            Os::Windows => &self.windows,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Places {
    /// Directories a `**` does not enter (`node_modules`, virtualenvs, caches).
    #[serde(default)]
    pub skip_dirs: Vec<String>,
    #[serde(rename = "place")]
    pub places: Vec<Place>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlacesError {
    #[error("{origin}: {message}")]
    Toml { origin: String, message: String },
    #[error("{origin}: place '{id}': {message}")]
    Place {
        origin: String,
        id: String,
        message: String,
    },
}

impl Places {
    /// The built-in catalogue. It is checked by a unit test, so this cannot fail in a release.
    pub fn builtin() -> Places {
        Places::parse(BUILTIN_TOML, "rules/places.toml").unwrap_or(Places {
            skip_dirs: Vec::new(),
            places: Vec::new(),
        })
    }

    pub fn parse(text: &str, origin: &str) -> Result<Places, PlacesError> {
        let places: Places = toml::from_str(text).map_err(|e| PlacesError::Toml {
            origin: origin.to_owned(),
            message: e.to_string(),
        })?;
        let mut seen = std::collections::HashSet::new();
        for p in &places.places {
            let err = |message: &str| PlacesError::Place {
                origin: origin.to_owned(),
                id: p.id.clone(),
                message: message.to_owned(),
            };
            if !seen.insert(p.id.as_str()) {
                return Err(err("listed twice"));
            }
            for path in p.linux.iter().chain(&p.macos).chain(&p.windows) {
                Pattern::new(path).map_err(|m| err(&format!("path '{path}': {m}")))?;
            }
            if p.kind == PlaceKind::CredentialFile && (p.tool.is_none() || p.helper.is_none()) {
                return Err(err("a credential file needs `tool` and `helper`"));
            }
        }
        Ok(places)
    }

    pub fn get(&self, id: &str) -> Option<&Place> {
        self.places.iter().find(|p| p.id == id)
    }
}

/// A path glob split for walking: the literal directories to start from, then the segments that
/// must match below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// Literal leading segments (a directory, or the whole path when nothing is a glob).
    pub base: Vec<String>,
    /// Glob segments after `base`; empty for a literal path.
    pub rest: Vec<String>,
}

fn is_glob(segment: &str) -> bool {
    segment.contains(['*', '?'])
}

impl Pattern {
    pub fn new(path: &str) -> Result<Pattern, &'static str> {
        if path.is_empty() {
            return Err("empty");
        }
        if path.starts_with('/') || path.contains('\\') {
            return Err("must be relative to the home directory, '/'-separated");
        }
        let segments: Vec<&str> = path.split('/').collect();
        if segments
            .iter()
            .any(|s| s.is_empty() || *s == "." || *s == "..")
        {
            return Err("no empty, '.' or '..' segments");
        }
        if segments.last().is_some_and(|s| *s == "**") {
            return Err("must end with a file name pattern, not '**'");
        }
        if segments.iter().any(|s| s.contains("**") && *s != "**") {
            return Err("'**' must be a whole segment");
        }
        let split = segments
            .iter()
            .position(|s| is_glob(s))
            .unwrap_or(segments.len());
        Ok(Pattern {
            base: segments[..split].iter().map(|s| (*s).to_owned()).collect(),
            rest: segments[split..].iter().map(|s| (*s).to_owned()).collect(),
        })
    }

    /// Whether `rel` (the segments below `base`) matches the glob part.
    pub fn matches(&self, rel: &[&str]) -> bool {
        let rest: Vec<&str> = self.rest.iter().map(String::as_str).collect();
        segments_match(&rest, rel)
    }

    /// Whether a directory at `rel` (below `base`) can hold a match: where a walk must go on.
    pub fn may_descend(&self, rel: &[&str]) -> bool {
        prefix_may_match(
            &self.rest.iter().map(String::as_str).collect::<Vec<_>>(),
            rel,
        )
    }

    /// Whether the glob part has a `**` (a walk of any depth).
    pub fn recursive(&self) -> bool {
        self.rest.iter().any(|s| s == "**")
    }
}

fn segments_match(pat: &[&str], path: &[&str]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|i| segments_match(rest, &path[i..])),
        Some((p, rest)) => match path.split_first() {
            Some((s, tail)) => name_matches(p, s) && segments_match(rest, tail),
            None => false,
        },
    }
}

/// Whether some path starting with the directories `dirs` can match `pat`.
fn prefix_may_match(pat: &[&str], dirs: &[&str]) -> bool {
    let Some((d, dtail)) = dirs.split_first() else {
        // The file name (last segment) must still be left to match.
        return !pat.is_empty();
    };
    match pat.split_first() {
        None => false,
        Some((&"**", rest)) => {
            prefix_may_match(pat, dtail) || prefix_may_match(rest, dirs) || rest.is_empty()
        }
        Some((p, rest)) => name_matches(p, d) && prefix_may_match(rest, dtail),
    }
}

/// `*` any run of characters, `?` one character; within one name.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_parses_and_names_every_kind() {
        let places = Places::parse(BUILTIN_TOML, "rules/places.toml").unwrap();
        for kind in [
            PlaceKind::History,
            PlaceKind::RcFile,
            PlaceKind::ClientLog,
            PlaceKind::Transcript,
            PlaceKind::Notebook,
            PlaceKind::CredentialFile,
            PlaceKind::Crontab,
        ] {
            assert!(
                places.places.iter().any(|p| p.kind == kind),
                "{}",
                kind.as_str()
            );
        }
        for p in &places.places {
            assert!(
                !p.linux.is_empty() || !p.command.is_empty(),
                "{} has no Linux path",
                p.id
            );
        }
    }

    #[test]
    fn bad_places_are_refused() {
        let bad = |paths: &str| {
            Places::parse(
                &format!(
                    "[[place]]\nid='x'\nname='x'\nkind='history'\nfix='redact'\nlinux=[{paths}]\n"
                ),
                "t",
            )
            .is_err()
        };
        assert!(bad("'/etc/passwd'"));
        assert!(bad("'../x'"));
        assert!(bad("'a/**'"));
        assert!(bad("'a/b**/c'"));
        assert!(!bad("'a/**/c'"));
        assert!(Places::parse(
            "[[place]]\nid='x'\nname='x'\nkind='credential-file'\nfix='redact'\nlinux=['a']\n",
            "t"
        )
        .is_err());
    }

    #[test]
    fn patterns_split_and_match() {
        let p = Pattern::new(".config/Cursor/logs/**/*.log").unwrap();
        assert_eq!(p.base, vec![".config", "Cursor", "logs"]);
        assert!(p.matches(&["a.log"]));
        assert!(p.matches(&["2026", "window1", "exthost.log"]));
        assert!(!p.matches(&["a.txt"]));
        assert!(p.may_descend(&["2026"]));
        let q = Pattern::new(".gemini/tmp/*/logs.json").unwrap();
        assert!(q.matches(&["abc", "logs.json"]));
        assert!(!q.matches(&["abc", "def", "logs.json"]));
        assert!(q.may_descend(&["abc"]));
        assert!(!q.may_descend(&["abc", "def"]));
        let lit = Pattern::new(".bash_history").unwrap();
        assert!(lit.rest.is_empty() && lit.matches(&[]));
        assert!(name_matches("*.history*", "abc.historynew"));
        assert!(name_matches("state.vscdb", "state.vscdb"));
        assert!(!name_matches("*.log", "log"));
        assert!(name_matches("?ab", "xab"));
    }
}
