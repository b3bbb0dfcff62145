//! References to stored values: `tv://ITEM/FIELD`, and on the command line `ITEM/FIELD` or `ITEM`.
//!
//! A reference without a field means the provider's default field (usually `token`); resolving that
//! needs the catalogue, so [`Reference::field`] is optional and [`Reference::resolve`] fills it in.

use crate::name::{FieldName, ItemName, NameError};
use std::fmt;

pub const SCHEME: &str = "tv://";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("reference is empty; expected tv://ITEM/FIELD, ITEM/FIELD or ITEM")]
    Empty,
    #[error("reference '{0}' has too many parts; expected tv://ITEM/FIELD, ITEM/FIELD or ITEM")]
    TooManyParts(String),
    #[error("reference '{reference}': {source}")]
    Name {
        reference: String,
        #[source]
        source: NameError,
    },
    #[error("reference '{0}' uses an unknown scheme; tokenvault references start with tv://")]
    Scheme(String),
}

/// A parsed reference. `field == None` means "the provider's default field".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    pub item: ItemName,
    pub field: Option<FieldName>,
}

/// Shortens user input before it goes into an error message: a mistyped reference may be a token
/// pasted in the wrong place, so at most a few characters of it are echoed.
fn shown(input: &str) -> String {
    const MAX: usize = 80;
    if input.chars().count() <= MAX {
        input.to_owned()
    } else {
        let mut s: String = input.chars().take(MAX).collect();
        s.push('…');
        s
    }
}

impl Reference {
    pub fn new(item: ItemName, field: Option<FieldName>) -> Self {
        Reference { item, field }
    }

    /// Parses `tv://ITEM/FIELD`, `tv://ITEM`, `ITEM/FIELD` or `ITEM`.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let body = match trimmed.strip_prefix(SCHEME) {
            Some(rest) => rest,
            None if trimmed.contains("://") => return Err(ReferenceError::Scheme(shown(trimmed))),
            None => trimmed,
        };
        let mut parts = body.split('/');
        let item = parts.next().unwrap_or_default();
        let field = parts.next();
        if parts.next().is_some() {
            return Err(ReferenceError::TooManyParts(shown(trimmed)));
        }
        let name_err = |source| ReferenceError::Name {
            reference: shown(trimmed),
            source,
        };
        let item = ItemName::new(item).map_err(name_err)?;
        let field = match field {
            None => None,
            Some(f) => Some(FieldName::new(f).map_err(name_err)?),
        };
        Ok(Reference { item, field })
    }

    /// True when the text looks like a reference written in a file (`tv://…`), as opposed to a
    /// plain value. Used by `.env` handling: plain values pass through.
    pub fn is_uri(text: &str) -> bool {
        text.trim_start().starts_with(SCHEME)
    }

    /// Fills in the default field.
    pub fn resolve(&self, default_field: &str) -> Result<(ItemName, FieldName), NameError> {
        let field = match &self.field {
            Some(f) => f.clone(),
            None => FieldName::new(default_field)?,
        };
        Ok((self.item.clone(), field))
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{SCHEME}{}/{}", self.item, field),
            None => write!(f, "{SCHEME}{}", self.item),
        }
    }
}

impl std::str::FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_three_forms() {
        let r = Reference::parse("tv://huggingface/token").unwrap();
        assert_eq!(r.item.as_str(), "huggingface");
        assert_eq!(r.field.as_ref().unwrap().as_str(), "token");
        assert_eq!(Reference::parse("huggingface/token").unwrap(), r);
        let bare = Reference::parse("huggingface-work").unwrap();
        assert!(bare.field.is_none());
        assert_eq!(bare.to_string(), "tv://huggingface-work");
        assert_eq!(r.to_string(), "tv://huggingface/token");
        assert_eq!(Reference::parse(" tv://aws ").unwrap().item.as_str(), "aws");
    }

    #[test]
    fn clear_errors() {
        assert_eq!(Reference::parse(""), Err(ReferenceError::Empty));
        assert!(matches!(
            Reference::parse("a/b/c"),
            Err(ReferenceError::TooManyParts(_))
        ));
        assert!(matches!(
            Reference::parse("op://a/b"),
            Err(ReferenceError::Scheme(_))
        ));
        let e = Reference::parse("tv://Hugging/token").unwrap_err();
        assert!(e.to_string().contains("must start with a lowercase"), "{e}");
        assert!(matches!(
            Reference::parse("tv://a/"),
            Err(ReferenceError::Name { .. })
        ));
    }

    #[test]
    fn long_input_is_shortened_in_errors() {
        let long = format!("a/b/{}", "x".repeat(500));
        let e = Reference::parse(&long).unwrap_err().to_string();
        assert!(e.len() < 200, "{e}");
    }

    #[test]
    fn resolve_uses_default_field_only_when_missing() {
        let (_, f) = Reference::parse("aws")
            .unwrap()
            .resolve("access_key_id")
            .unwrap();
        assert_eq!(f.as_str(), "access_key_id");
        let (_, f) = Reference::parse("aws/region")
            .unwrap()
            .resolve("access_key_id")
            .unwrap();
        assert_eq!(f.as_str(), "region");
    }
}
