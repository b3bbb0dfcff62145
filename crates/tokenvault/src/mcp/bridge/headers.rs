//! `--header 'Name: value {{ tv://ITEM/FIELD }}'` for `mcp proxy` and `mcp headers`: parse every
//! header, resolve all their references with one vault read (the same template and resolution code
//! as `inject`), and hand back values that can only leave the process as HTTP headers or as
//! `mcp headers`' JSON.
//!
//! Nothing here ever quotes a header's value: errors name the header and the references, because a
//! value typed on the command line may itself be a token pasted by mistake (`argguard` refuses those
//! before parsing; the warning here stays for any other way a literal reaches this code).

use crate::audit::Subject;
use crate::context::Ctx;
use crate::error::hinted;
use crate::services::resolve::resolve_all;
use anyhow::Result;
use tokenvault_core::template::{self, Segment};
use tokenvault_core::Secret;
use ureq::http::{HeaderName, HeaderValue};
use zeroize::Zeroizing;

/// One resolved header.
pub struct Header {
    /// As the user wrote it (case kept, for `mcp headers`).
    pub name: String,
    pub value: Secret,
    /// The references its value was made from (`tv://ITEM/FIELD`), for messages.
    pub references: Vec<String>,
    /// The vault values inside `value`, so that a server quoting one back is scrubbed too.
    pub parts: Vec<Secret>,
}

impl Header {
    /// The header for ureq, marked sensitive so that no Debug output of a request shows it. The
    /// bytes live as long as the proxy: `http`'s buffers cannot be zeroized, a cost we accept in a
    /// process that disables core dumps and ptrace.
    pub fn to_http(&self) -> Result<(HeaderName, HeaderValue)> {
        let name = HeaderName::from_bytes(self.name.as_bytes()).map_err(|_| {
            hinted(
                format!("'{}' is not a valid header name", self.name),
                "header names are letters, digits and -",
            )
        })?;
        let mut value = HeaderValue::from_str(self.value.expose_secret()).map_err(|_| {
            hinted(
                format!(
                    "the value of header '{}'{} has a line break or control character and cannot be sent",
                    self.name,
                    self.sources_note()
                ),
                match self.references.first() {
                    Some(r) => format!(
                        "store it again without the line break: `tokenvault set {} --stdin`",
                        r.trim_start_matches("tv://")
                    ),
                    None => "remove the control character from the --header value".to_owned(),
                },
            )
        })?;
        value.set_sensitive(true);
        Ok((name, value))
    }

    /// " (from tv://a/b, tv://c/d)", or nothing for a literal header.
    pub fn sources_note(&self) -> String {
        if self.references.is_empty() {
            String::new()
        } else {
            format!(" (from {})", self.references.join(", "))
        }
    }
}

/// Splits `Name: value`: the name is trimmed and checked, the value keeps everything after the
/// colon but the spaces around it.
fn split(raw: &str, n: usize) -> Result<(&str, &str)> {
    let Some((name, value)) = raw.split_once(':') else {
        return Err(hinted(
            format!("--header number {n} has no ':'"),
            "write headers as 'Name: value', e.g. --header 'Authorization: Bearer {{ tv://huggingface/token }}'",
        ));
    };
    let name = name.trim();
    if name.is_empty() || HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(hinted(
            format!("--header number {n}: '{name}' is not a valid header name"),
            "header names are letters, digits and -, e.g. 'Authorization' or 'X-Api-Key'",
        ));
    }
    Ok((name, value.trim_matches([' ', '\t'])))
}

/// Parses and resolves `raw` headers. `subject` receives the references and the backend, so the
/// caller's audit line names them whether or not this succeeds. `reserved` names headers the
/// caller sets itself (compared case-insensitively).
pub fn resolve(
    ctx: &mut Ctx,
    raw: &[String],
    reserved: &[&str],
    subject: &mut Subject,
) -> Result<Vec<Header>> {
    let mut parsed: Vec<(&str, Vec<Segment<'_>>)> = Vec::with_capacity(raw.len());
    let mut malformed = Vec::new();
    for (i, h) in raw.iter().enumerate() {
        let (name, value) = split(h, i + 1)?;
        if reserved.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            return Err(hinted(
                format!("header '{name}' is set by the proxy itself"),
                "leave it out; the proxy sends it as the MCP transport requires",
            ));
        }
        if parsed.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Err(hinted(
                format!("header '{name}' is given twice"),
                "give each header once",
            ));
        }
        match template::parse(value) {
            Ok(segments) => parsed.push((name, segments)),
            Err(errs) => {
                for e in errs {
                    malformed.push(format!("header '{name}': {}", e.source));
                }
            }
        }
    }
    if !malformed.is_empty() {
        return Err(hinted(
            format!("malformed placeholders:\n  {}", malformed.join("\n  ")),
            "placeholders look like {{ tv://ITEM/FIELD }}",
        ));
    }
    let mut refs = Vec::new();
    for (_, segments) in &parsed {
        for r in template::references(segments) {
            if !refs.contains(&r) {
                refs.push(r);
            }
        }
    }
    subject.references = refs.iter().map(|r| r.to_string()).collect();
    warn_literal_tokens(ctx, &parsed);
    if refs.is_empty() {
        return render(&parsed, &Default::default());
    }
    let vault = ctx.open_vault()?;
    subject.backend = Some(vault.kind().as_str().to_owned());
    // The resolved (canonical) form, `tv://ITEM/FIELD`, for messages and the audit line.
    let canonical = refs
        .iter()
        .map(|r| vault.target_for_read(r).map(|t| t.reference()))
        .collect::<Result<Vec<_>>>()?;
    subject.references = canonical;
    let values = resolve_all(&vault, &refs)?;
    render(&parsed, &values)
}

fn render(
    parsed: &[(&str, Vec<Segment<'_>>)],
    values: &std::collections::HashMap<tokenvault_core::Reference, Secret>,
) -> Result<Vec<Header>> {
    parsed
        .iter()
        .map(|(name, segments)| {
            let value = template::render(segments, |r| {
                values.get(r).map(|s| s.expose_secret().to_owned())
            })
            .ok_or_else(|| {
                hinted(
                    "a placeholder was not resolved",
                    "this is a bug; please report it",
                )
            })?;
            Ok(Header {
                name: (*name).to_owned(),
                value: Secret::new(value),
                references: template::references(segments)
                    .iter()
                    .map(|r| r.to_string())
                    .collect(),
                parts: template::references(segments)
                    .iter()
                    .filter_map(|r| values.get(*r).cloned())
                    .collect(),
            })
        })
        .collect()
}

/// A token typed into `--header` is in the process list and shell history: say so (without
/// repeating it) and say how to keep it in the vault instead.
fn warn_literal_tokens(ctx: &Ctx, parsed: &[(&str, Vec<Segment<'_>>)]) {
    for (name, segments) in parsed {
        let literal_token = segments.iter().any(|s| match s {
            Segment::Text(t) => t
                .split(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == '=')
                .any(|w| !w.is_empty() && ctx.settings.catalogue.detect_value(w).is_some()),
            Segment::Placeholder { .. } => false,
        });
        if literal_token {
            ctx.printer.warning(&format!(
                "header '{name}' holds a token typed on the command line, visible in process listings and shell history; store it with `tokenvault set ITEM` and write {{{{ tv://ITEM/token }}}} instead"
            ));
        }
    }
}

/// `{"Name": "value", …}` in the order given, built in a buffer that is zeroized when dropped
/// (serde_json's own strings would not be).
pub fn to_json(headers: &[Header]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::from("{"));
    for (i, h) in headers.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_json_string(&mut out, &h.name);
        out.push_str(": ");
        push_json_string(&mut out, h.value.expose_secret());
    }
    out.push('}');
    out
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, value: &str) -> Header {
        Header {
            name: name.into(),
            value: Secret::new(value.into()),
            references: vec![],
            parts: vec![],
        }
    }

    #[test]
    fn split_name_and_value() {
        assert_eq!(
            split("Authorization:  Bearer {{ tv://a }} ", 1).unwrap(),
            ("Authorization", "Bearer {{ tv://a }}")
        );
        assert_eq!(split("X-A:b:c", 1).unwrap(), ("X-A", "b:c"));
        assert!(split("no colon", 1).is_err());
        assert!(split("bad name: x", 1).is_err());
        assert!(split(": x", 1).is_err());
    }

    #[test]
    fn json_is_valid_and_escaped() {
        let json = to_json(&[
            header("Authorization", "Bearer a\"b\\c"),
            header("X-K", "\u{1}é"),
        ]);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["Authorization"], "Bearer a\"b\\c");
        assert_eq!(v["X-K"], "\u{1}é");
    }

    #[test]
    fn control_characters_cannot_become_headers_and_the_error_hides_the_value() {
        let mut h = header("Authorization", "Bearer s3cr3t\nX: y");
        h.references = vec!["tv://huggingface/token".into()];
        let e = h.to_http().unwrap_err();
        let text = format!("{e:#} {}", crate::error::hint_of(&e).unwrap());
        assert!(text.contains("tv://huggingface/token"), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
        let (_, v) = header("X-K", "v").to_http().unwrap();
        assert!(v.is_sensitive());
    }
}
