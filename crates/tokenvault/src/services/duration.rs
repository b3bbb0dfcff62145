//! Durations as the user writes them (`90s`, `30m`, `8h`, `2d`), shared by `unlock --timeout` and
//! `audit --since`.

use crate::error::hinted;
use anyhow::Result;
use std::time::Duration;
use tokenvault_store::keycache;

/// Parses `90s`, `30m`, `8h`, `2d` (a bare number is seconds) for `unlock --timeout`: more than
/// zero and at most seven days ([`keycache::MAX_CACHE_TIME`]); an unlocked vault is readable by
/// every process of the user, so "forever" is not on offer.
pub(crate) fn parse_duration(text: &str) -> Result<Duration> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = match num.parse() {
        Ok(n) => n,
        // All digits, but more than a u64 holds: far longer than any allowed timeout.
        Err(_) if !num.is_empty() => u64::MAX,
        Err(_) => {
            return Err(hinted(
                format!("'{text}' is not a duration"),
                "use e.g. 90s, 30m, 8h or 2d",
            ))
        }
    };
    let unit_secs: u64 = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(hinted(
                format!("'{text}' has an unknown unit"),
                "use s, m, h or d",
            ))
        }
    };
    let max = keycache::MAX_CACHE_TIME.as_secs();
    let secs = n.saturating_mul(unit_secs);
    if secs == 0 {
        return Err(hinted(
            "the timeout must be longer than zero",
            "use e.g. 8h",
        ));
    }
    if secs > max {
        return Err(hinted(
            format!("'{text}' is longer than the longest unlock, 7 days"),
            "use at most 7d; every process of your user can read an unlocked vault, so keep the window short (e.g. 8h) and `tokenvault lock` when done",
        ));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("8h").unwrap(), Duration::from_secs(28_800));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("8y").is_err());
        assert!(parse_duration("h").is_err());
    }
}
