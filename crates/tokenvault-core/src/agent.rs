//! What tokenvault needs to know about AI agents, as pure rules: whether the caller is an agent's
//! shell (from the variables Claude Code, Cursor and Codex set), whether a command line is on the
//! user's allow-list for the references it asks for, how a command line is shown to the human who
//! approves it, and which encodings of a value `mcp serve` conceals besides the value itself.
//!
//! The binary reads the environment and the config and passes them in; nothing here does I/O.

use base64::Engine as _;

/// An agent whose shell runs tokenvault, and the variable that told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentCaller {
    /// `Claude Code`, `Cursor`, `Codex`.
    pub agent: &'static str,
    /// The variable found (`CLAUDECODE`, …).
    pub variable: &'static str,
}

/// The variables each agent sets in the shells it runs commands in: Claude Code sets `CLAUDECODE=1`
/// and `CLAUDE_CODE_ENTRYPOINT` (`cli`, `sdk-ts`, …); Cursor's agent sets `CURSOR_AGENT=1` (and its
/// terminals `CURSOR_TRACE_ID`); Codex sets `CODEX_SANDBOX` (`seatbelt`) and
/// `CODEX_SANDBOX_NETWORK_DISABLED=1` for its sandboxed shell tool.
pub const AGENT_VARIABLES: &[(&str, &str)] = &[
    ("CLAUDECODE", "Claude Code"),
    ("CLAUDE_CODE_ENTRYPOINT", "Claude Code"),
    ("CURSOR_AGENT", "Cursor"),
    ("CURSOR_TRACE_ID", "Cursor"),
    ("CODEX_SANDBOX", "Codex"),
    ("CODEX_SANDBOX_NETWORK_DISABLED", "Codex"),
];

/// The agent calling us, from `lookup` (the environment): the first of [`AGENT_VARIABLES`] that
/// is set and non-empty (`0` and `false` count as unset).
pub fn agent_caller(lookup: impl Fn(&str) -> Option<String>) -> Option<AgentCaller> {
    AGENT_VARIABLES.iter().find_map(|(var, agent)| {
        let v = lookup(var)?;
        let v = v.trim();
        (!v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false")).then_some(AgentCaller {
            agent,
            variable: var,
        })
    })
}

/// A command line as one string, each word quoted for a POSIX shell when it needs it: what the
/// human sees when asked to approve it, and what allow-list patterns match.
pub fn command_line(argv: &[String]) -> String {
    argv.iter()
        .map(|w| shell_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_word(w: &str) -> String {
    let plain = !w.is_empty()
        && w.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%^".contains(&b));
    if plain {
        w.to_owned()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

/// Whether `pattern` matches the whole `line`: `*` matches any run of characters (none
/// included), `\*` a literal `*`, `\\` a literal backslash, every other character itself.
/// `hf upload *` matches `hf upload me/model ./out`.
pub fn pattern_matches(pattern: &str, line: &str) -> bool {
    // None: the wildcard; Some(c): that character.
    let mut p: Vec<Option<char>> = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => p.push(None),
            '\\' => p.push(Some(chars.next().unwrap_or('\\'))),
            c => p.push(Some(c)),
        }
    }
    let s: Vec<char> = line.chars().collect();
    // Iterative wildcard match with one backtrack point (the last `*`).
    let (mut i, mut j) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while j < s.len() {
        if i < p.len() && p[i].is_none() {
            star = Some((i, j));
            i += 1;
        } else if i < p.len() && p[i] == Some(s[j]) {
            i += 1;
            j += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(Option::is_none)
}

/// The pattern that matches exactly `line` (its `*` and `\` escaped): what "always allow"
/// appends, so that approving `ls '*.py'` does not allow every `ls`.
pub fn exact_pattern(line: &str) -> String {
    line.replace('\\', "\\\\").replace('*', "\\*")
}

/// One allow-list rule: a command pattern and the references it may receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    pub command: String,
    /// `tv://ITEM/FIELD` references (canonical form).
    pub refs: Vec<String>,
}

/// The references of `wanted` that no rule allows for `line`; empty when the launch is allowed.
/// A reference is allowed when some rule whose pattern matches the line lists it.
pub fn not_allowed<'a>(rules: &[AllowRule], line: &str, wanted: &'a [String]) -> Vec<&'a str> {
    wanted
        .iter()
        .filter(|r| {
            !rules
                .iter()
                .any(|rule| pattern_matches(&rule.command, line) && rule.refs.contains(r))
        })
        .map(String::as_str)
        .collect()
}

/// The encodings of a value that `mcp serve` conceals in a command's output besides the value
/// itself: standard and URL-safe base64 (padded and not), and percent-encoding (when it differs).
/// A program that prints `base64(token)` or puts the token in a URL does not get it past masking.
pub fn encoded_forms(value: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut push = |v: Vec<u8>| {
        if !v.is_empty() && v != value && !out.contains(&v) {
            out.push(v);
        }
    };
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    push(STANDARD.encode(value).into_bytes());
    push(STANDARD_NO_PAD.encode(value).into_bytes());
    push(URL_SAFE.encode(value).into_bytes());
    push(URL_SAFE_NO_PAD.encode(value).into_bytes());
    push(percent_encode(value, false).into_bytes());
    push(percent_encode(value, true).into_bytes());
    out
}

/// RFC 3986 percent-encoding of everything but unreserved characters; `plus_for_space` gives the
/// form encoding (`application/x-www-form-urlencoded`) that Python's `quote_plus` writes.
pub fn percent_encode(value: &[u8], plus_for_space: bool) -> String {
    let mut s = String::with_capacity(value.len());
    for &b in value {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            s.push(char::from(b));
        } else if plus_for_space && b == b' ' {
            s.push('+');
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_are_told_by_their_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(agent_caller(env(&[])), None);
        assert_eq!(
            agent_caller(env(&[("CLAUDECODE", "1")])).unwrap().agent,
            "Claude Code"
        );
        assert_eq!(
            agent_caller(env(&[("CURSOR_AGENT", "1")])).unwrap().agent,
            "Cursor"
        );
        assert_eq!(
            agent_caller(env(&[("CODEX_SANDBOX", "seatbelt")]))
                .unwrap()
                .variable,
            "CODEX_SANDBOX"
        );
        assert_eq!(
            agent_caller(env(&[("CLAUDECODE", "0"), ("HOME", "/h")])),
            None
        );
    }

    #[test]
    fn patterns_match_whole_command_lines() {
        assert!(pattern_matches("hf upload *", "hf upload me/model ./out"));
        assert!(pattern_matches("hf upload *", "hf upload "));
        assert!(!pattern_matches("hf upload *", "hf download x"));
        assert!(!pattern_matches("hf upload", "hf upload x"));
        assert!(pattern_matches("python3 train.py", "python3 train.py"));
        assert!(pattern_matches("*", "anything at all"));
        assert!(pattern_matches("a*b*c", "axxbyyc"));
        assert!(!pattern_matches("a*b*c", "axxbyy"));
        let line = r"python3 -c 'print(1)*2' C:\x";
        assert!(pattern_matches(&exact_pattern(line), line));
        assert!(!pattern_matches(
            &exact_pattern(line),
            r"python3 -c 'print(1)+leak*2' C:\x"
        ));
    }

    #[test]
    fn command_lines_are_quoted_for_the_shell() {
        let argv = ["python3", "-c", "print('hi')", "a b", ""].map(String::from);
        assert_eq!(
            command_line(&argv),
            r#"python3 -c 'print('\''hi'\'')' 'a b' ''"#
        );
    }

    #[test]
    fn allow_rules_cover_each_reference() {
        let rules = vec![AllowRule {
            command: "hf upload *".into(),
            refs: vec!["tv://huggingface/token".into()],
        }];
        let wanted = vec![
            "tv://huggingface/token".to_owned(),
            "tv://aws/secret".to_owned(),
        ];
        assert_eq!(
            not_allowed(&rules, "hf upload x", &wanted),
            ["tv://aws/secret"]
        );
        assert_eq!(
            not_allowed(&rules, "hf upload x", &wanted[..1]),
            Vec::<&str>::new()
        );
        assert_eq!(
            not_allowed(&rules, "cat x", &wanted[..1]),
            ["tv://huggingface/token"]
        );
    }

    #[test]
    fn encodings_include_base64_and_percent_forms() {
        let forms = encoded_forms(b"a/b+c d");
        let has = |s: &str| forms.iter().any(|f| f == s.as_bytes());
        assert!(has("YS9iK2MgZA=="));
        assert!(has("YS9iK2MgZA"));
        assert!(has("YS9iK2MgZA=="));
        assert!(has("a%2Fb%2Bc%20d"));
        assert!(has("a%2Fb%2Bc+d"));
        assert!(encoded_forms(b"hfabc").iter().all(|f| f != b"hfabc"));
    }
}

/// The first line of the section `tokenvault agent-setup` manages in `AGENTS.md`/`CLAUDE.md`.
pub const SECTION_BEGIN: &str =
    "<!-- tokenvault:begin (managed by `tokenvault agent-setup`; edits inside are replaced) -->";
/// Its last line.
pub const SECTION_END: &str = "<!-- tokenvault:end -->";

/// What the section tells the agent.
pub const SECTION_BODY: &str = "## Credentials (tokenvault)

API tokens for this project are kept in tokenvault, not in files or in this conversation.

- Never ask the user to paste a token, and never read `.env` files, token files or
  `tokenvault get` output to find one.
- Use the `tokenvault` MCP server's tools instead:
  - `list_credentials` / `check_credentials` to see what is stored and what a command needs;
  - `verify_credential` to find out why a call gets 401/403 (account, role, scopes);
  - `run_with_credentials` to run a command with tokens in its environment, e.g.
    `{\"command\": \"hf\", \"args\": [\"upload\", \"…\"], \"env\": {\"HF_TOKEN\": \"tv://huggingface/token\"}}`;
    the output comes back masked, and the user approves commands that are not on their allow-list;
  - `request_credential` when a token is missing: the user types it on a local page, not here.
- Without the MCP server, launch commands as `tokenvault run -e HF_TOKEN=tv://huggingface/token -- CMD`.
";

/// `existing` with the managed section replaced (or appended, after a blank line): running it
/// twice gives the same text.
pub fn upsert_section(existing: &str) -> String {
    let section = format!("{SECTION_BEGIN}\n{SECTION_BODY}{SECTION_END}\n");
    if let (Some(b), Some(e)) = (existing.find(SECTION_BEGIN), existing.find(SECTION_END)) {
        if e > b {
            let mut end = e + SECTION_END.len();
            if existing[end..].starts_with('\n') {
                end += 1;
            }
            return format!("{}{section}{}", &existing[..b], &existing[end..]);
        }
    }
    if existing.trim().is_empty() {
        return section;
    }
    let sep = if existing.ends_with("\n\n") {
        ""
    } else if existing.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    format!("{existing}{sep}{section}")
}

#[cfg(test)]
mod section_tests {
    use super::*;

    #[test]
    fn the_section_is_added_once_and_replaced_in_place() {
        let first = upsert_section("# Project\n\nBuild with make.\n");
        assert!(first.starts_with("# Project\n\nBuild with make.\n\n<!-- tokenvault:begin"));
        assert_eq!(upsert_section(&first), first);
        let edited = first.replace("Never ask", "Please never ask") + "\n## Later\n";
        let again = upsert_section(&edited);
        assert!(!again.contains("Please never ask") && again.ends_with("\n## Later\n"));
        assert_eq!(again.matches(SECTION_BEGIN).count(), 1);
        assert!(upsert_section("").starts_with(SECTION_BEGIN));
    }
}
