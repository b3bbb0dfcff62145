//! Which environment variables a child gets, and from where: the plan behind `run`, `export` and
//! `wrapper`.
//!
//! Sources are applied in order — dotenv files, then profiles, then `-e` pairs — and a later source
//! wins for the same variable. A value is either a reference to resolve or, from a dotenv file, a
//! plain value that passes through. Whether an already-set variable wins over the vault is decided
//! by [`keep_existing`], so the rule lives in one place.

use crate::reference::{Reference, ReferenceError};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssignmentError {
    #[error("'{0}' is not VAR=REFERENCE (e.g. HF_TOKEN=tv://huggingface/token)")]
    NoEquals(String),
    #[error("'{0}' is not a valid environment variable name (letters, digits and '_', not starting with a digit)")]
    BadVar(String),
    #[error("{var}: {source}")]
    Reference {
        var: String,
        #[source]
        source: ReferenceError,
    },
}

/// Where a variable's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Ref(Reference),
    /// A plain value from a dotenv file: passed through as it is (not a secret we hold).
    Plain(String),
}

/// Which source set a variable (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    EnvFile {
        path: String,
        line: usize,
    },
    Profile(String),
    /// `--item ITEM`: one of the item's fields.
    Item(String),
    Flag,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::EnvFile { path, line } => write!(f, "{path}:{line}"),
            Origin::Profile(p) => write!(f, "profile {p}"),
            Origin::Item(i) => write!(f, "--item {i}"),
            Origin::Flag => f.write_str("-e"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub var: String,
    pub value: EnvValue,
    pub origin: Origin,
}

/// An ordered set of variables; adding a variable again replaces it in place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvPlan {
    entries: Vec<Entry>,
}

pub fn is_valid_var(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses `VAR=REFERENCE`.
pub fn parse_assignment(text: &str) -> Result<(String, Reference), AssignmentError> {
    let (var, reference) = text
        .split_once('=')
        .ok_or_else(|| AssignmentError::NoEquals(text.chars().take(80).collect()))?;
    assignment(var, reference)
}

/// A variable and its reference given apart (a profile's table), checked as [`parse_assignment`]
/// checks `VAR=REF`.
pub fn assignment(var: &str, reference: &str) -> Result<(String, Reference), AssignmentError> {
    if !is_valid_var(var) {
        return Err(AssignmentError::BadVar(var.chars().take(80).collect()));
    }
    let r = Reference::parse(reference).map_err(|source| AssignmentError::Reference {
        var: var.to_owned(),
        source,
    })?;
    Ok((var.to_owned(), r))
}

impl EnvPlan {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, var: String, value: EnvValue, origin: Origin) {
        match self.entries.iter_mut().find(|e| e.var == var) {
            Some(e) => {
                e.value = value;
                e.origin = origin;
            }
            None => self.entries.push(Entry { var, value, origin }),
        }
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The distinct references the plan needs, in first-use order.
    pub fn references(&self) -> Vec<&Reference> {
        let mut out: Vec<&Reference> = Vec::new();
        for e in &self.entries {
            if let EnvValue::Ref(r) = &e.value {
                if !out.contains(&r) {
                    out.push(r);
                }
            }
        }
        out
    }
}

/// An already-set, non-empty variable wins over the vault (users expect `HF_TOKEN=… cmd` to
/// override), unless `--vault-wins`.
pub fn keep_existing(existing: Option<&str>, vault_wins: bool) -> bool {
    !vault_wins && existing.is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments() {
        let (v, r) = parse_assignment("HF_TOKEN=tv://huggingface/token").unwrap();
        assert_eq!(v, "HF_TOKEN");
        assert_eq!(r.to_string(), "tv://huggingface/token");
        assert_eq!(parse_assignment("X=aws").unwrap().1.to_string(), "tv://aws");
        assert!(matches!(
            parse_assignment("HF_TOKEN"),
            Err(AssignmentError::NoEquals(_))
        ));
        assert!(matches!(
            parse_assignment("1X=a"),
            Err(AssignmentError::BadVar(_))
        ));
        assert!(matches!(
            parse_assignment("A-B=a"),
            Err(AssignmentError::BadVar(_))
        ));
        let e = parse_assignment("X=Bad/ref").unwrap_err();
        assert!(e.to_string().starts_with("X: "), "{e}");
    }

    #[test]
    fn later_sources_win_in_place() {
        let mut p = EnvPlan::new();
        p.add("A".into(), EnvValue::Plain("1".into()), Origin::Flag);
        p.add("B".into(), EnvValue::Plain("2".into()), Origin::Flag);
        p.add(
            "A".into(),
            EnvValue::Ref(Reference::parse("x").unwrap()),
            Origin::Profile("p".into()),
        );
        assert_eq!(p.entries().len(), 2);
        assert_eq!(p.entries()[0].var, "A");
        assert!(matches!(p.entries()[0].value, EnvValue::Ref(_)));
        assert_eq!(p.entries()[0].origin.to_string(), "profile p");
    }

    #[test]
    fn references_are_distinct() {
        let mut p = EnvPlan::new();
        let r = Reference::parse("huggingface").unwrap();
        p.add("HF_TOKEN".into(), EnvValue::Ref(r.clone()), Origin::Flag);
        p.add(
            "HUGGING_FACE_HUB_TOKEN".into(),
            EnvValue::Ref(r),
            Origin::Flag,
        );
        assert_eq!(p.references().len(), 1);
    }

    #[test]
    fn precedence_both_ways() {
        assert!(keep_existing(Some("set"), false));
        assert!(!keep_existing(Some("set"), true));
        assert!(!keep_existing(Some(""), false));
        assert!(!keep_existing(None, false));
    }
}
