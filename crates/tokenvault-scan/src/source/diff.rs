//! Added lines out of a unified diff (`git diff --cached -U0`), for `scan --staged`.
//!
//! A pre-commit hook must judge what the commit adds, not what the file already held, so only
//! `+` lines are scanned. They are gathered per file into one buffer (without the `+`) together
//! with each line's number in the new file, so a finding's line maps back exactly and its column is
//! unchanged. Pure text processing: the git invocation is in [`super::git`].

/// The added lines of one file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AddedLines {
    pub path: String,
    /// The added lines, each ending in `\n`.
    pub text: Vec<u8>,
    /// `lines[i]` is the new-file line number of the buffer's line `i + 1`.
    pub lines: Vec<u64>,
}

impl AddedLines {
    /// The new-file line of a buffer line (1-based).
    pub fn file_line(&self, buffer_line: u64) -> u64 {
        usize::try_from(buffer_line.saturating_sub(1))
            .ok()
            .and_then(|i| self.lines.get(i).copied())
            .unwrap_or(buffer_line)
    }
}

/// Undoes git's C-style quoting of unusual paths (`"a\tb"`).
fn unquote(path: &[u8]) -> String {
    let Some(inner) = path.strip_prefix(b"\"").and_then(|p| p.strip_suffix(b"\"")) else {
        return String::from_utf8_lossy(path).into_owned();
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let b = inner[i];
        if b != b'\\' || i + 1 >= inner.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let n = inner[i + 1];
        i += 2;
        match n {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let digits: Vec<u8> = inner[i - 1..(i + 2).min(inner.len())].to_vec();
                let v = digits
                    .iter()
                    .take_while(|d| (b'0'..=b'7').contains(d))
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                out.push(u8::try_from(v & 0xff).unwrap_or(b'?'));
                i += 2;
            }
            other => out.push(other),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `@@ -a,b +c,d @@` → c.
fn hunk_new_start(line: &[u8]) -> Option<u64> {
    let plus = memchr::memchr(b'+', line)?;
    let rest = &line[plus + 1..];
    let end = rest
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len());
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

/// Splits a diff into the added lines of each file. Deleted files and binary files yield nothing.
pub fn added_lines(diff: &[u8]) -> Vec<AddedLines> {
    let mut files: Vec<AddedLines> = Vec::new();
    let mut current: Option<AddedLines> = None;
    let mut next_line = 0u64;
    let mut in_hunk = false;
    for line in diff.split_inclusive(|&b| b == b'\n') {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        if body.starts_with(b"diff --git ") {
            files.extend(current.take().filter(|f| !f.text.is_empty()));
            in_hunk = false;
            continue;
        }
        if !in_hunk {
            if let Some(p) = body.strip_prefix(b"+++ ") {
                let path = unquote(p);
                let path = path.strip_prefix("b/").map(str::to_owned).unwrap_or(path);
                current = (path != "/dev/null").then(|| AddedLines {
                    path,
                    ..AddedLines::default()
                });
                continue;
            }
        }
        if body.starts_with(b"@@ ") {
            in_hunk = true;
            next_line = hunk_new_start(body).unwrap_or(1);
            continue;
        }
        if !in_hunk {
            continue;
        }
        match body.first() {
            Some(b'+') => {
                if let Some(f) = current.as_mut() {
                    f.text.extend_from_slice(&body[1..]);
                    f.text.push(b'\n');
                    f.lines.push(next_line);
                }
                next_line += 1;
            }
            Some(b' ') => next_line += 1,
            _ => {}
        }
    }
    files.extend(current.filter(|f| !f.text.is_empty()));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_lines_keep_their_new_file_numbers() {
        let diff = b"diff --git a/x.py b/x.py\nindex 1..2 100644\n--- a/x.py\n+++ b/x.py\n@@ -3,0 +4,2 @@ def f():\n+a = 1\n+b = 2\n@@ -10 +12 @@\n-old\n+new\ndiff --git a/gone b/gone\ndeleted file mode 100644\n--- a/gone\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\ndiff --git \"a/sp ace\\tq\" \"b/sp ace\\tq\"\nnew file mode 100644\n--- /dev/null\n+++ \"b/sp ace\\tq\"\n@@ -0,0 +1 @@\n++++ not a header\n\\ No newline at end of file\n";
        let files = added_lines(diff);
        assert_eq!(files.len(), 2, "{files:?}");
        assert_eq!(files[0].path, "x.py");
        assert_eq!(files[0].text, b"a = 1\nb = 2\nnew\n");
        assert_eq!(files[0].lines, vec![4, 5, 12]);
        assert_eq!(files[0].file_line(3), 12);
        assert_eq!(files[1].path, "sp ace\tq");
        assert_eq!(files[1].text, b"+++ not a header\n");
    }

    #[test]
    fn octal_escapes_decode() {
        assert_eq!(unquote(b"\"caf\\303\\251\""), "café");
        assert_eq!(unquote(b"plain"), "plain");
    }
}
