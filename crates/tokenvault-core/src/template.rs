//! `{{ tv://ITEM/FIELD }}` placeholders in any text (job specs, configs, `secrets:` blocks).
//!
//! Only double-brace blocks whose content starts with `tv://` are placeholders; other `{{ … }}`
//! (Jinja, Helm, GitHub Actions) pass through untouched. Parsing reports every malformed
//! placeholder with its line, and rendering takes the values from the caller, so the caller can
//! report every unknown reference at once.

use crate::reference::{Reference, ReferenceError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(&'a str),
    Placeholder { reference: Reference, line: usize },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {source}")]
pub struct TemplateError {
    pub line: usize,
    #[source]
    pub source: ReferenceError,
}

/// Splits `text` into literal text and placeholders; every bad placeholder is returned.
pub fn parse(text: &str) -> Result<Vec<Segment<'_>>, Vec<TemplateError>> {
    let mut segments = Vec::new();
    let mut errors = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let inner = after[..end].trim();
        if inner.starts_with(crate::reference::SCHEME) {
            let line = text[..offset + start].matches('\n').count() + 1;
            if start > 0 {
                segments.push(Segment::Text(&rest[..start]));
            }
            match Reference::parse(inner) {
                Ok(reference) => segments.push(Segment::Placeholder { reference, line }),
                Err(source) => errors.push(TemplateError { line, source }),
            }
            let consumed = start + 2 + end + 2;
            offset += consumed;
            rest = &rest[consumed..];
        } else {
            // Not ours: keep the braces as text and continue after them.
            let consumed = start + 2;
            segments.push(Segment::Text(&rest[..consumed]));
            offset += consumed;
            rest = &rest[consumed..];
        }
    }
    if !rest.is_empty() {
        segments.push(Segment::Text(rest));
    }
    if errors.is_empty() {
        Ok(segments)
    } else {
        Err(errors)
    }
}

/// The distinct references of a parsed template, in order.
pub fn references<'s>(segments: &'s [Segment<'_>]) -> Vec<&'s Reference> {
    let mut out: Vec<&Reference> = Vec::new();
    for s in segments {
        if let Segment::Placeholder { reference, .. } = s {
            if !out.contains(&reference) {
                out.push(reference);
            }
        }
    }
    out
}

/// Renders with `value_of`, which must answer every placeholder (resolve them all first).
pub fn render(
    segments: &[Segment<'_>],
    mut value_of: impl FnMut(&Reference) -> Option<String>,
) -> Option<String> {
    let mut out = String::new();
    for s in segments {
        match s {
            Segment::Text(t) => out.push_str(t),
            Segment::Placeholder { reference, .. } => out.push_str(&value_of(reference)?),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_placeholders_and_leaves_other_braces() {
        let t = "token: {{ tv://huggingface/token }}\nname: {{ .Values.name }}\nx: {{tv://aws}}{{ tv://huggingface/token }}";
        let segs = parse(t).unwrap();
        let refs = references(&segs);
        assert_eq!(refs.len(), 2);
        let out = render(&segs, |r| Some(format!("<{}>", r.item))).unwrap();
        assert_eq!(
            out,
            "token: <huggingface>\nname: {{ .Values.name }}\nx: <aws><huggingface>"
        );
    }

    #[test]
    fn malformed_placeholders_are_all_reported_with_lines() {
        let errs = parse("a {{ tv://Bad }}\nb\nc {{ tv://a/b/c }}").unwrap_err();
        assert_eq!(errs.iter().map(|e| e.line).collect::<Vec<_>>(), [1, 3]);
    }

    #[test]
    fn unterminated_braces_are_text() {
        let segs = parse("x {{ tv://a").unwrap();
        assert_eq!(render(&segs, |_| None).unwrap(), "x {{ tv://a");
    }

    #[test]
    fn line_numbers_count_from_one() {
        let segs = parse("\n\n{{ tv://a }}").unwrap();
        assert!(matches!(segs[1], Segment::Placeholder { line: 3, .. }));
    }
}
