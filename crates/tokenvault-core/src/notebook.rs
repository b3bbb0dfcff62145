//! Redacting a Jupyter notebook (`.ipynb`, JSON) without parsing and re-serialising it: the
//! string values of the document are located by a small JSON lexer, and a finding may be replaced
//! only when it lies wholly inside one string value (an output's text, a cell's source, a
//! metadata value), never in a key or across the document's structure. The replacement holds no
//! character JSON would escape, so the notebook stays valid JSON and every other byte is kept —
//! what `nbformat` wrote, the user's diffs, keep their shape. Pure: bytes in, ranges out.

use std::ops::Range;

/// The ranges of the string *values* (not keys) of a JSON document, between their quotes; `None`
/// when the bytes are not a JSON document this lexer can follow.
pub fn string_values(bytes: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut out = Vec::new();
    let mut i = 0;
    // For each open container, whether it is an object and the next string there is a key.
    let mut stack: Vec<(bool, bool)> = Vec::new();
    while i < bytes.len() {
        match bytes[i] {
            b'{' => {
                stack.push((true, true));
                i += 1;
            }
            b'[' => {
                stack.push((false, false));
                i += 1;
            }
            b'}' | b']' => {
                stack.pop()?;
                i += 1;
            }
            b',' => {
                if let Some(top) = stack.last_mut() {
                    top.1 = top.0;
                }
                i += 1;
            }
            b':' => {
                if let Some(top) = stack.last_mut() {
                    top.1 = false;
                }
                i += 1;
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                loop {
                    match bytes.get(j)? {
                        b'\\' => j += 2,
                        b'"' => break,
                        _ => j += 1,
                    }
                }
                let is_key = stack.last().is_some_and(|t| t.1);
                if !is_key {
                    out.push(start..j);
                }
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    stack.is_empty().then_some(out)
}

/// Whether `span` lies inside one of `values` (sorted, as [`string_values`] returns them) and
/// does not cut an escape sequence in two.
pub fn inside_a_value(bytes: &[u8], values: &[Range<usize>], span: &Range<usize>) -> bool {
    let i = values.partition_point(|v| v.end < span.end);
    let Some(v) = values.get(i) else { return false };
    if !(v.start <= span.start && span.end <= v.end) {
        return false;
    }
    // An odd run of backslashes just before the span: it starts in the middle of an escape.
    let before = bytes[v.start..span.start]
        .iter()
        .rev()
        .take_while(|b| **b == b'\\')
        .count();
    before % 2 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_not_keys_and_escapes_followed() {
        let doc = br#"{"cells": [{"source": ["a \"q\" b", "c"], "n": 1}], "k\"ey": "v"}"#;
        let v = string_values(doc).unwrap();
        let got: Vec<&str> = v
            .iter()
            .map(|r| std::str::from_utf8(&doc[r.clone()]).unwrap())
            .collect();
        assert_eq!(got, vec![r#"a \"q\" b"#, "c", "v"]);
        assert!(string_values(b"{\"a\": \"x").is_none());
    }

    #[test]
    fn a_span_must_sit_inside_one_value() {
        let doc = br#"{"text": "token hf_abc here", "hf_key": "x"}"#;
        let v = string_values(doc).unwrap();
        let s = doc.windows(6).position(|w| w == b"hf_abc").unwrap();
        assert!(inside_a_value(doc, &v, &(s..s + 6)));
        let k = doc.windows(6).position(|w| w == b"hf_key").unwrap();
        assert!(!inside_a_value(doc, &v, &(k..k + 6)));
        // Across the structure: from inside a value to past its quote.
        assert!(!inside_a_value(doc, &v, &(s..s + 20)));
    }
}
