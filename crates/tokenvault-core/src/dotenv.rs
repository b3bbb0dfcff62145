//! Reading and writing dotenv files.
//!
//! Reading accepts what people write: `KEY=value`, `export KEY=value`, `#` comments, blank lines,
//! single quotes (literal), double quotes (with `\n`, `\"`, `\\` escapes), and unquoted values with
//! a trailing ` # comment`. Every error names its line. Writing quotes every value so that any
//! value survives a round trip through a shell or a dotenv loader.

use crate::envplan::is_valid_var;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvEntry {
    pub key: String,
    pub value: String,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct DotenvError {
    pub line: usize,
    pub message: String,
}

pub fn parse(text: &str) -> Result<Vec<DotenvEntry>, DotenvError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |message: String| DotenvError { line, message };
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let body = trimmed
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(trimmed);
        let Some((key, rest)) = body.split_once('=') else {
            return Err(err("expected KEY=value".into()));
        };
        let key = key.trim();
        if !is_valid_var(key) {
            return Err(err(format!(
                "'{}' is not a valid variable name",
                key.chars().take(64).collect::<String>()
            )));
        }
        let rest = rest.trim_start();
        let value = if let Some(inner) = rest.strip_prefix('\'') {
            let end = inner
                .find('\'')
                .ok_or_else(|| err("unterminated single quote".into()))?;
            check_tail(&inner[end + 1..]).map_err(err)?;
            inner[..end].to_owned()
        } else if let Some(inner) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = inner.char_indices();
            let mut closed = None;
            while let Some((idx, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, 'r')) => value.push('\r'),
                        Some((_, 't')) => value.push('\t'),
                        Some((_, other)) => value.push(other),
                        None => return Err(err("unterminated double quote".into())),
                    },
                    '"' => {
                        closed = Some(idx);
                        break;
                    }
                    c => value.push(c),
                }
            }
            let end = closed.ok_or_else(|| err("unterminated double quote".into()))?;
            check_tail(&inner[end + 1..]).map_err(err)?;
            value
        } else {
            let v = match rest.find(" #") {
                Some(idx) => &rest[..idx],
                None => rest,
            };
            v.trim_end().to_owned()
        };
        out.push(DotenvEntry {
            key: key.to_owned(),
            value,
            line,
        });
    }
    Ok(out)
}

fn check_tail(tail: &str) -> Result<(), String> {
    let t = tail.trim();
    if t.is_empty() || t.starts_with('#') {
        Ok(())
    } else {
        Err("unexpected text after the closing quote".into())
    }
}

/// `KEY='value'` (or double-quoted with escapes when the value holds a quote or a newline).
pub fn format_dotenv(key: &str, value: &str) -> String {
    if !value.contains('\'') && !value.contains('\n') && !value.contains('\r') {
        format!("{key}='{value}'\n")
    } else {
        let mut v = String::with_capacity(value.len() + 2);
        for c in value.chars() {
            match c {
                '\\' => v.push_str("\\\\"),
                '"' => v.push_str("\\\""),
                '\n' => v.push_str("\\n"),
                '\r' => v.push_str("\\r"),
                c => v.push(c),
            }
        }
        format!("{key}=\"{v}\"\n")
    }
}

/// POSIX shell single-quoting: `'` becomes `'\''`.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// `export KEY='value'` for `eval "$(tokenvault export --format sh)"`.
pub fn format_sh(key: &str, value: &str) -> String {
    format!("export {key}={}\n", shell_quote(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_people_write() {
        let text = "# comment\n\nA=1\nexport B = two words  # note\nC='single # not comment'\nD=\"dq \\\"x\\\" \\n\"\nE=tv://huggingface/token\nF=\n";
        let e = parse(text).unwrap();
        let kv: Vec<(&str, &str)> = e
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(
            kv,
            [
                ("A", "1"),
                ("B", "two words"),
                ("C", "single # not comment"),
                ("D", "dq \"x\" \n"),
                ("E", "tv://huggingface/token"),
                ("F", ""),
            ]
        );
        assert_eq!(e[1].line, 4);
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(parse("A=1\nnot a pair\n").unwrap_err().line, 2);
        assert!(parse("A='open\n")
            .unwrap_err()
            .message
            .contains("single quote"));
        assert!(parse("A=\"open\n")
            .unwrap_err()
            .message
            .contains("double quote"));
        assert!(parse("1A=x\n")
            .unwrap_err()
            .message
            .contains("not a valid variable"));
        assert!(parse("A='x' junk\n")
            .unwrap_err()
            .message
            .contains("after the closing quote"));
    }

    #[test]
    fn written_values_round_trip() {
        for v in [
            "plain",
            "it's",
            "line1\nline2",
            "back\\slash \"q\"",
            "",
            "$HOME `x`",
        ] {
            let text = format_dotenv("K", v);
            let back = parse(&text).unwrap();
            assert_eq!(back[0].value, v, "{text}");
        }
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
