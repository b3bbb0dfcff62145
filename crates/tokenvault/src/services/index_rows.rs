//! Rows of the metadata index as `list` and `show` display them (masked value, age, last live
//! check): data only, the commands print them.

use tokenvault_store::index::{Index, IndexView};
use tokenvault_store::BackendKind;

/// Seconds since the epoch of an RFC 3339 UTC time as we write it (`2026-11-23T02:38:19Z`, with
/// optional fraction), parsed by hand: `list` does this for every row of a 10,000-item index.
/// Other forms go through the full parser.
fn epoch_seconds(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = b.get(r)?;
        s.iter().try_fold(0i64, |acc, d| {
            d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
        })
    };
    let tail_ok = b.get(19) == Some(&b'Z') || (b.get(19) == Some(&b'.') && b.last() == Some(&b'Z'));
    if b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && tail_ok
    {
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        // Days from civil (Howard Hinnant's algorithm).
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        return Some(days * 86_400 + num(11..13)? * 3600 + num(14..16)? * 60 + num(17..19)?);
    }
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// "3d ago", "5h ago", "just now": how long before `now` (epoch seconds) a time was.
pub(crate) fn age_at(then: &str, now: i64) -> String {
    let Some(t) = epoch_seconds(then) else {
        return "?".into();
    };
    let secs = (now - t).max(0);
    match secs {
        0..=59 => "just now".into(),
        60..=3599 => format!("{}m ago", secs / 60),
        3600..=86_399 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}

/// [`age_at`] now.
pub(crate) fn age(then: &str) -> String {
    age_at(then, time::OffsetDateTime::now_utc().unix_timestamp())
}

/// One line of `list` / `show`, borrowing from the index.
pub(crate) struct Row<'a> {
    pub item: &'a str,
    pub field: &'a str,
    pub provider: &'a str,
    pub masked: &'a str,
    pub updated: &'a str,
    pub verified: String,
}

fn verified_text(v: Option<(bool, &str)>, now: i64) -> String {
    match v {
        Some((ok, at)) => format!("{} {}", if ok { "ok" } else { "FAILED" }, age_at(at, now)),
        None => "never".into(),
    }
}

/// Rows for `keys`, with what the index knows about each.
pub(crate) fn rows<'a>(index: &'a Index, keys: &'a [tokenvault_store::Key]) -> Vec<Row<'a>> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    keys.iter()
        .map(|k| {
            let meta = index.items.get(k.item.as_str());
            let field = meta.and_then(|m| m.fields.get(k.field.as_str()));
            Row {
                item: k.item.as_str(),
                field: k.field.as_str(),
                provider: meta.and_then(|m| m.provider.as_deref()).unwrap_or("-"),
                masked: field.map_or("(not indexed)", |f| f.masked.as_str()),
                updated: field.map_or("", |f| f.updated.as_str()),
                verified: verified_text(
                    field
                        .and_then(|f| f.verified.as_ref())
                        .map(|v| (v.ok, v.at.as_str())),
                    now,
                ),
            }
        })
        .collect()
}

/// Rows straight from a borrowed index view: the file backend's listing (see `Vault::keys`).
pub(crate) fn view_rows<'a>(view: &'a IndexView<'a>, backend: BackendKind) -> Vec<Row<'a>> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut rows = Vec::with_capacity(view.items.len());
    for (item, meta) in view.items.iter().filter(|(_, m)| m.backend == backend) {
        for (field, f) in &meta.fields {
            rows.push(Row {
                item,
                field,
                provider: meta.provider.as_deref().unwrap_or("-"),
                masked: &f.masked,
                updated: &f.updated,
                verified: verified_text(f.verified.as_ref().map(|v| (v.ok, &*v.at)), now),
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_parsed_times_agree_with_the_full_parser() {
        let full = |t: &str| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .unwrap()
                .unix_timestamp()
        };
        for t in [
            "2026-11-23T02:38:19Z",
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59.123456789Z",
            "2024-12-31T12:00:00Z",
            "2026-11-23T02:38:19+01:00",
        ] {
            assert_eq!(epoch_seconds(t), Some(full(t)), "{t}");
        }
        assert_eq!(epoch_seconds("yesterday"), None);
        let then = "2026-11-23T02:38:19Z";
        assert_eq!(age_at(then, full(then) + 7200), "2h ago");
        assert_eq!(age_at(then, full(then) + 30), "just now");
    }
}
