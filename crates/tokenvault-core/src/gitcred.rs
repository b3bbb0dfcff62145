//! git's credential helper protocol (gitcredentials(7)), the pure part: reading the request git
//! writes on a helper's standard input, the hosts tokenvault answers for, and the answer.
//!
//! git writes `key=value` lines ending with a blank line; for `get` a helper answers `username=`
//! and `password=` lines, or nothing. Only the attributes tokenvault looks at are kept: the
//! `password` git may send is never kept. The binary (`tokenvault git-credential`) does the I/O.

use std::io::BufRead;
use zeroize::Zeroizing;

/// More than any request git sends; a larger input is refused rather than buffered.
pub const MAX_REQUEST: u64 = 64 * 1024;

/// What answering a known host takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRule {
    pub default_item: &'static str,
    pub username: &'static str,
}

/// The hosts we answer for (the port, if any, is ignored).
pub fn rule_for(host: &str) -> Option<HostRule> {
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    match host.as_str() {
        // The Hub checks only the token; huggingface_hub's own helper setup uses this name too.
        "huggingface.co" | "hf.co" => Some(HostRule {
            default_item: "huggingface",
            username: "hf_user",
        }),
        "github.com" => Some(HostRule {
            default_item: "github",
            username: "x-access-token",
        }),
        _ => None,
    }
}

/// The request's attributes we look at. The `password` git may send is never kept.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub protocol: Option<String>,
    pub host: Option<String>,
    pub username: Option<String>,
}

/// Why a request could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("git's credential request is larger than 64 KiB")]
    TooLarge,
    #[error("reading git's request: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads `key=value` lines until a blank line or the end of input (at most [`MAX_REQUEST`]
/// bytes). The first value of each attribute counts.
pub fn read_request(input: impl BufRead) -> Result<Request, RequestError> {
    let mut req = Request::default();
    let mut limited = input.take(MAX_REQUEST + 1);
    let mut total = 0u64;
    let mut line = Zeroizing::new(Vec::new());
    loop {
        line.clear();
        let n = limited.read_until(b'\n', &mut line)?;
        total += n as u64;
        if total > MAX_REQUEST {
            return Err(RequestError::TooLarge);
        }
        let text = String::from_utf8_lossy(line.strip_suffix(b"\n").unwrap_or(&line));
        let text = text.strip_suffix('\r').unwrap_or(&text);
        if n == 0 || text.is_empty() {
            break;
        }
        let Some((key, value)) = text.split_once('=') else {
            continue;
        };
        let slot = match key {
            "protocol" => &mut req.protocol,
            "host" => &mut req.host,
            "username" => &mut req.username,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(value.to_owned());
        }
    }
    Ok(req)
}

/// What the protocol cannot carry in a value: git splits lines at `\n`, drops a `\r` before
/// it, and refuses NUL.
const UNCARRIED: [char; 3] = ['\n', '\r', '\0'];

/// The answer to a `get`: `username=` and `password=` lines. `None` when the password holds a
/// line break (`\n` or `\r`) or NUL, which the protocol cannot carry. The username is the
/// request's own when it gave one that can be sent back, else the host rule's.
pub fn answer(request: &Request, rule: &HostRule, password: &str) -> Option<Zeroizing<String>> {
    if password.contains(UNCARRIED) {
        return None;
    }
    let username = request
        .username
        .as_deref()
        .filter(|u| !u.is_empty() && !u.contains(UNCARRIED))
        .unwrap_or(rule.username);
    let mut out = Zeroizing::new(String::with_capacity(password.len() + username.len() + 32));
    out.push_str("username=");
    out.push_str(username);
    out.push_str("\npassword=");
    out.push_str(password);
    out.push('\n');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_until_the_blank_line() {
        let input = b"protocol=https\nhost=huggingface.co\npath=user/repo\nusername=bob\npassword=x\n\nhost=evil\n";
        let req = read_request(&input[..]).unwrap();
        assert_eq!(
            req,
            Request {
                protocol: Some("https".into()),
                host: Some("huggingface.co".into()),
                username: Some("bob".into()),
            }
        );
        // CRLF and a missing final blank line are fine too.
        let req = read_request(&b"protocol=https\r\nhost=hf.co\r\n"[..]).unwrap();
        assert_eq!(req.host.as_deref(), Some("hf.co"));
        assert!(matches!(
            read_request(&vec![b'a'; 70_000][..]),
            Err(RequestError::TooLarge)
        ));
    }

    #[test]
    fn known_hosts() {
        assert_eq!(
            rule_for("huggingface.co").unwrap().default_item,
            "huggingface"
        );
        assert_eq!(rule_for("HF.co:443").unwrap().default_item, "huggingface");
        assert_eq!(rule_for("github.com").unwrap().username, "x-access-token");
        assert!(rule_for("example.com").is_none());
        assert!(rule_for("huggingface.co.evil.com").is_none());
        assert!(rule_for("").is_none());
    }

    #[test]
    fn answers_carry_one_line_values_only() {
        let rule = rule_for("github.com").unwrap();
        let req = Request::default();
        assert_eq!(
            answer(&req, &rule, "ghp_x").unwrap().as_str(),
            "username=x-access-token\npassword=ghp_x\n"
        );
        let req = Request {
            username: Some("bob".into()),
            ..Request::default()
        };
        assert_eq!(
            answer(&req, &rule, "t").unwrap().as_str(),
            "username=bob\npassword=t\n"
        );
        assert!(answer(&req, &rule, "a\nb").is_none());
        assert!(answer(&req, &rule, "a\0b").is_none());
        assert!(
            answer(&req, &rule, "ab\r").is_none(),
            "git would drop the \\r"
        );
        let odd = Request {
            username: Some("bob\r".into()),
            ..Request::default()
        };
        assert_eq!(
            answer(&odd, &rule, "t").unwrap().as_str(),
            "username=x-access-token\npassword=t\n"
        );
    }
}
