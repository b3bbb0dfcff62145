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
        if let Some(p) = parse_line(raw).map_err(|message| DotenvError { line, message })? {
            out.push(DotenvEntry {
                key: p.key.to_owned(),
                value: p.value,
                line,
            });
        }
    }
    Ok(out)
}

/// One parsed `KEY=value` line, with where the value (quotes included) sits in the line.
struct ParsedLine<'a> {
    key: &'a str,
    value: String,
    /// Byte range of the value as written, quotes included, within the raw line.
    span: std::ops::Range<usize>,
}

/// Parses one line: `Ok(None)` for blank lines and comments.
fn parse_line(raw: &str) -> Result<Option<ParsedLine<'_>>, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let body = trimmed
        .strip_prefix("export ")
        .map(str::trim_start)
        .unwrap_or(trimmed);
    let Some((key, rest)) = body.split_once('=') else {
        return Err("expected KEY=value".into());
    };
    let key = key.trim();
    if !is_valid_var(key) {
        return Err(format!(
            "'{}' is not a valid variable name",
            key.chars().take(64).collect::<String>()
        ));
    }
    let rest = rest.trim_start();
    // `rest` is a subslice of `raw`: its offset locates the value.
    let start = rest.as_ptr() as usize - raw.as_ptr() as usize;
    let (value, len) = if let Some(inner) = rest.strip_prefix('\'') {
        let end = inner
            .find('\'')
            .ok_or_else(|| "unterminated single quote".to_owned())?;
        check_tail(&inner[end + 1..])?;
        (inner[..end].to_owned(), end + 2)
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
                    None => return Err("unterminated double quote".into()),
                },
                '"' => {
                    closed = Some(idx);
                    break;
                }
                c => value.push(c),
            }
        }
        let end = closed.ok_or_else(|| "unterminated double quote".to_owned())?;
        check_tail(&inner[end + 1..])?;
        (value, end + 2)
    } else {
        let v = match rest.find(" #") {
            Some(idx) => &rest[..idx],
            None => rest,
        };
        let v = v.trim_end();
        (v.to_owned(), v.len())
    };
    Ok(Some(ParsedLine {
        key,
        value,
        span: start..start + len,
    }))
}

/// Rewrites `text` with the value on each given line (1-based) replaced by `replacement`, written
/// unquoted; everything else — comments, `export`, spacing, quotes of other lines, line endings —
/// stays byte for byte. Replacements must need no quoting (e.g. `tv://` references).
pub fn replace_values(text: &str, replacements: &[(usize, &str)]) -> Result<String, DotenvError> {
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for (i, chunk) in text.split_inclusive('\n').enumerate() {
        let line = i + 1;
        let Some((_, new)) = replacements.iter().find(|(l, _)| *l == line) else {
            out.push_str(chunk);
            continue;
        };
        // `lines()` (which `parse` uses) drops a trailing "\r" too.
        let raw = chunk.strip_suffix('\n').unwrap_or(chunk);
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let err = |message: String| DotenvError { line, message };
        let Some(p) = parse_line(raw).map_err(err)? else {
            return Err(err("no KEY=value on this line to replace".into()));
        };
        out.push_str(&chunk[..p.span.start]);
        out.push_str(new);
        // After a quoted value, any space (or none) may come before a `# note`; after an unquoted
        // one only ` #` starts it, else `A='v'# note` would read `new# note` once replaced.
        let tail = &chunk[p.span.end..];
        let note = tail.trim_start();
        let space = &tail[..tail.len() - note.len()];
        out.push_str(space);
        if note.starts_with('#') && !space.ends_with(' ') {
            out.push(' ');
        }
        out.push_str(note);
        done += 1;
    }
    if done != replacements.len() {
        return Err(DotenvError {
            line: text.lines().count() + 1,
            message: "a line to replace is past the end of the file".into(),
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
    fn replacing_values_keeps_everything_else() {
        let text =
            "# top\r\nexport HF_TOKEN = \"hf_x\"  # main\r\nA='keep'\nB=plain # note\nC=last";
        let out = replace_values(
            text,
            &[
                (2, "tv://huggingface/token"),
                (4, "tv://b/token"),
                (5, "tv://c/token"),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "# top\r\nexport HF_TOKEN = tv://huggingface/token  # main\r\nA='keep'\nB=tv://b/token # note\nC=tv://c/token"
        );
        let back = parse(&out).unwrap();
        assert_eq!(back[0].value, "tv://huggingface/token");
        assert_eq!(back[1].value, "keep");
        assert_eq!(replace_values(text, &[(1, "x")]).unwrap_err().line, 1);
        assert!(replace_values(text, &[(9, "x")]).is_err());
        assert_eq!(replace_values("A=1\n", &[]).unwrap(), "A=1\n");
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
