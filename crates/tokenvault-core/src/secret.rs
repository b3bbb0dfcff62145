//! A secret value that cannot leak by accident.
//!
//! `Secret` never prints its value: `Debug` and `Display` are redacted, so a secret that ends up in
//! an error, a log line or a panic message shows `<redacted>`. Its buffer is zeroized on drop.
//! The only way to the bytes is [`Secret::expose_secret`], and every call site of it is a place where
//! bytes deliberately leave the process (child environment, HTTP header, keychain write, `get`).

use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// A secret string. Clone copies the value into a new zeroizing buffer.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a value. The caller's `String` is moved in, not copied.
    pub fn new(value: String) -> Self {
        Secret(Zeroizing::new(value))
    }

    /// Copies a borrowed value into a new secret.
    pub fn from_str_copy(value: &str) -> Self {
        Secret(Zeroizing::new(value.to_owned()))
    }

    /// Takes a value read from a stream: strips one trailing `\n` (and a `\r` before it),
    /// as `set --stdin` promises, and zeroizes whatever was removed.
    pub fn from_input(mut value: String) -> Self {
        if value.ends_with('\n') {
            value.pop();
            if value.ends_with('\r') {
                value.pop();
            }
        }
        Secret::new(value)
    }

    /// The value itself. Call only where the bytes must leave the process.
    pub fn expose_secret(&self) -> &str {
        self.0.as_str()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `Secret` deliberately does not implement `Serialize`: serialising would expose the value without
/// a visible `expose_secret()`. A type that must write a value (the encrypted vault document) says
/// so with `#[serde(serialize_with = "tokenvault_core::secret::serialize_exposed")]`, one reviewed
/// call site like every other exposure.
pub fn serialize_exposed<S: serde::Serializer>(
    secret: &Secret,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut s = String::deserialize(deserializer)?;
        let secret = Secret::from_str_copy(&s);
        s.zeroize();
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::from_str_copy("hf_abcdefghijklmnopqrstuvwxyz01234567");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(format!("{s}"), "<redacted>");
        let nested = Some(vec![s.clone()]);
        assert!(!format!("{nested:?}").contains("hf_"));
        assert_eq!(s.expose_secret(), "hf_abcdefghijklmnopqrstuvwxyz01234567");
    }

    #[test]
    fn input_strips_exactly_one_trailing_newline() {
        assert_eq!(Secret::from_input("abc\n".into()).expose_secret(), "abc");
        assert_eq!(Secret::from_input("abc\r\n".into()).expose_secret(), "abc");
        assert_eq!(
            Secret::from_input("abc\n\n".into()).expose_secret(),
            "abc\n"
        );
        assert_eq!(Secret::from_input("abc".into()).expose_secret(), "abc");
    }

    #[test]
    fn serde_round_trip_only_through_the_explicit_serializer() {
        #[derive(serde::Serialize)]
        struct Doc {
            #[serde(serialize_with = "serialize_exposed")]
            v: Secret,
        }
        let s = Secret::from_str_copy("v");
        let doc = serde_json::to_string(&Doc { v: s.clone() }).unwrap();
        assert_eq!(doc, "{\"v\":\"v\"}");
        let json = serde_json::to_string(s.expose_secret()).unwrap();
        assert_eq!(json, "\"v\"");
        let back: Secret = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }
}
