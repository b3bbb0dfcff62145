//! Item and field name rules (SPEC §1).
//!
//! Names appear in references, keychain attributes, file names of nothing and shell scripts, so they
//! are deliberately narrow: lowercase ASCII letters, digits, `.`, `_`, `-`, starting with a letter or
//! digit, at most 64 characters. Nothing that needs quoting in a shell or a URL.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("{kind} name is empty")]
    Empty { kind: &'static str },
    #[error("{kind} name '{name}' is longer than 64 characters")]
    TooLong { kind: &'static str, name: String },
    #[error("{kind} name '{name}' must start with a lowercase letter or a digit")]
    BadStart { kind: &'static str, name: String },
    #[error(
        "{kind} name '{name}' contains '{ch}': use lowercase letters, digits, '.', '_' or '-'"
    )]
    BadChar {
        kind: &'static str,
        name: String,
        ch: char,
    },
}

fn check(kind: &'static str, name: &str) -> Result<(), NameError> {
    // Names are user input that may be a mistyped token: never echo more than 64 chars of it.
    let shown = || name.chars().take(64).collect::<String>();
    let first = name.chars().next().ok_or(NameError::Empty { kind })?;
    if name.chars().count() > 64 {
        return Err(NameError::TooLong {
            kind,
            name: shown(),
        });
    }
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return Err(NameError::BadStart {
            kind,
            name: shown(),
        });
    }
    if let Some(ch) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        return Err(NameError::BadChar {
            kind,
            name: shown(),
            ch,
        });
    }
    Ok(())
}

macro_rules! name_type {
    ($ty:ident, $kind:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $ty(String);

        impl $ty {
            pub fn new(name: &str) -> Result<Self, NameError> {
                check($kind, name)?;
                Ok($ty(name.to_owned()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $ty {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::new(s)
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $ty::new(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

name_type!(ItemName, "item");
name_type!(FieldName, "field");

impl ItemName {
    /// The provider an item belongs to by default: its name up to the first `-`
    /// (`huggingface-work` → `huggingface`).
    pub fn provider_hint(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_spec_examples() {
        for n in [
            "huggingface",
            "huggingface-work",
            "aws-prod",
            "a",
            "0x.y_z-1",
        ] {
            ItemName::new(n).unwrap();
        }
        ItemName::new(&"a".repeat(64)).unwrap();
    }

    #[test]
    fn rejects_with_a_reason() {
        assert!(matches!(ItemName::new(""), Err(NameError::Empty { .. })));
        assert!(matches!(
            ItemName::new(&"a".repeat(65)),
            Err(NameError::TooLong { .. })
        ));
        assert!(matches!(
            ItemName::new("-x"),
            Err(NameError::BadStart { .. })
        ));
        assert!(matches!(
            ItemName::new("Hugging"),
            Err(NameError::BadStart { .. })
        ));
        let e = ItemName::new("hug ging").unwrap_err();
        assert!(e.to_string().contains("' '"), "{e}");
        assert!(matches!(
            FieldName::new("a/b"),
            Err(NameError::BadChar { ch: '/', .. })
        ));
    }

    #[test]
    fn provider_hint_is_first_segment() {
        assert_eq!(
            ItemName::new("huggingface-work").unwrap().provider_hint(),
            "huggingface"
        );
        assert_eq!(ItemName::new("aws").unwrap().provider_hint(), "aws");
    }
}
