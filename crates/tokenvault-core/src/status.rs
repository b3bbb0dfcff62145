//! What needs attention among the stored values: the classification behind `tokenvault status`.
//!
//! The command gathers facts (dates from the index, the last verification, which references the
//! profiles name and which keys the vault holds) and passes them in with `now`; this module only
//! compares. Keeping the clock out lets every rule be tested with fixed dates.
//!
//! Categories, each with the next step the user should take:
//! - **stale**: a secret field last changed more than `stale_days` ago → rotate it;
//! - **expiring** / **expired**: the provider reported an expiry (at the last live check) within
//!   `expiring_days`, or in the past → rotate it;
//! - **failed**: the last live check rejected the value → verify again, or rotate;
//! - **unverified**: a field the provider can check live was never checked → verify it;
//! - **missing**: a profile, an MCP server or a wrapper script names a reference the vault does
//!   not hold (a dangling reference) → set it.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The thresholds of the classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// A secret not changed for more than this many days is stale.
    pub stale_days: u32,
    /// An expiry less than this many days away is reported.
    pub expiring_days: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            stale_days: 90,
            expiring_days: 14,
        }
    }
}

/// The last live check of a value, as the index records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastCheck {
    /// RFC 3339.
    pub at: String,
    pub ok: bool,
    /// What the provider said (never a value).
    pub summary: String,
    /// RFC 3339 expiry reported by the provider, if any.
    pub expires: Option<String>,
}

/// What is known about one stored field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldFacts {
    /// `tv://ITEM/FIELD`.
    pub reference: String,
    /// RFC 3339 time of the last change; `None` when the index has no record (e.g. a keychain
    /// entry added by another tool).
    pub updated: Option<String>,
    /// A secret (a token or key), as opposed to an identifier such as a region: only secrets go
    /// stale.
    pub secret: bool,
    /// The provider has a live check for this field.
    pub checkable: bool,
    pub last_check: Option<LastCheck>,
}

/// A reference something names: a profile, an MCP server launched through tokenvault, a wrapper
/// script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    /// Who, for messages: `profile hf-mcp (HF_TOKEN)`, `cursor server 'hf' in ~/.cursor/mcp.json
    /// (HF_TOKEN)`, `wrapper /home/me/bin/hf.sh (HF_TOKEN)`.
    pub user: String,
    /// `tv://ITEM/FIELD`, resolved to its field.
    pub reference: String,
}

/// Why a reference needs attention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attention {
    Stale {
        updated: String,
        days: i64,
    },
    Expiring {
        expires: String,
        days_left: i64,
    },
    Expired {
        expires: String,
    },
    Failed {
        at: String,
        summary: String,
    },
    Unverified,
    Missing {
        /// Each user that names it ([`Use::user`]).
        users: Vec<String>,
    },
}

impl Attention {
    /// The short status word (`--json` `status` and the text output's second column).
    pub fn code(&self) -> &'static str {
        match self {
            Attention::Stale { .. } => "stale",
            Attention::Expiring { .. } => "expiring",
            Attention::Expired { .. } => "expired",
            Attention::Failed { .. } => "failed",
            Attention::Unverified => "unverified",
            Attention::Missing { .. } => "missing",
        }
    }

    /// One line saying what was found (never a value).
    pub fn detail(&self) -> String {
        match self {
            Attention::Stale { updated, days } => {
                format!("last changed {days} days ago ({updated})")
            }
            Attention::Expiring { expires, days_left } => match days_left {
                0 => format!("expires today ({expires})"),
                1 => format!("expires tomorrow ({expires})"),
                d => format!("expires in {d} days ({expires})"),
            },
            Attention::Expired { expires } => format!("expired ({expires})"),
            Attention::Failed { at, summary } => {
                format!("the last live check failed ({at}): {summary}")
            }
            Attention::Unverified => "never checked with its provider".to_owned(),
            Attention::Missing { users } => {
                format!("named by {}, not in the vault", users.join(", "))
            }
        }
    }

    /// The command that deals with it, for the reference `short` (`ITEM/FIELD`).
    pub fn next_step(&self, short: &str) -> String {
        match self {
            Attention::Stale { .. } | Attention::Expiring { .. } | Attention::Expired { .. } => {
                format!("tokenvault rotate {short}")
            }
            Attention::Failed { .. } => {
                format!("tokenvault verify {short} --fresh (if still rejected: tokenvault rotate {short})")
            }
            Attention::Unverified => format!("tokenvault verify {short}"),
            Attention::Missing { .. } => format!("tokenvault set {short}"),
        }
    }
}

/// One reference that needs attention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub reference: String,
    pub attention: Attention,
}

fn parse(at: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(at, &Rfc3339).ok()
}

/// Whole days from `from` to `to` (negative when `to` is earlier).
fn days_between(from: OffsetDateTime, to: OffsetDateTime) -> i64 {
    (to - from).whole_days()
}

/// Everything that needs attention, in a stable order: stored fields in the order given (each
/// may have several findings), then references named but missing (sorted).
pub fn classify(
    fields: &[FieldFacts],
    uses: &[Use],
    now: OffsetDateTime,
    policy: Policy,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |reference: &str, attention| {
        out.push(Finding {
            reference: reference.to_owned(),
            attention,
        })
    };
    for f in fields {
        if f.secret {
            if let Some((updated, t)) = f.updated.as_deref().and_then(|u| Some((u, parse(u)?))) {
                let days = days_between(t, now);
                if days > i64::from(policy.stale_days) {
                    push(
                        &f.reference,
                        Attention::Stale {
                            updated: updated.to_owned(),
                            days,
                        },
                    );
                }
            }
        }
        match &f.last_check {
            Some(c) if !c.ok => push(
                &f.reference,
                Attention::Failed {
                    at: c.at.clone(),
                    summary: c.summary.clone(),
                },
            ),
            Some(c) => {
                if let Some((expires, t)) = c.expires.as_deref().and_then(|e| Some((e, parse(e)?)))
                {
                    if t <= now {
                        push(
                            &f.reference,
                            Attention::Expired {
                                expires: expires.to_owned(),
                            },
                        );
                    } else {
                        let days_left = days_between(now, t);
                        if days_left < i64::from(policy.expiring_days) {
                            push(
                                &f.reference,
                                Attention::Expiring {
                                    expires: expires.to_owned(),
                                    days_left,
                                },
                            );
                        }
                    }
                }
            }
            None if f.checkable => push(&f.reference, Attention::Unverified),
            None => {}
        }
    }
    let stored: std::collections::BTreeSet<&str> =
        fields.iter().map(|f| f.reference.as_str()).collect();
    let mut missing: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for u in uses {
        if !stored.contains(u.reference.as_str()) {
            let users = missing.entry(u.reference.as_str()).or_default();
            if !users.contains(&u.user) {
                users.push(u.user.clone());
            }
        }
    }
    for (reference, users) in missing {
        push(reference, Attention::Missing { users });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> OffsetDateTime {
        parse(s).unwrap()
    }

    fn field(reference: &str, updated: &str) -> FieldFacts {
        FieldFacts {
            reference: reference.into(),
            updated: Some(updated.into()),
            secret: true,
            checkable: true,
            last_check: Some(LastCheck {
                at: updated.into(),
                ok: true,
                summary: "alice (user)".into(),
                expires: None,
            }),
        }
    }

    const NOW: &str = "2026-03-01T12:00:00Z";

    #[test]
    fn all_well_is_empty() {
        let f = [field("tv://a/token", "2026-02-01T00:00:00Z")];
        assert!(classify(&f, &[], at(NOW), Policy::default()).is_empty());
    }

    #[test]
    fn stale_only_for_secrets_and_after_the_threshold() {
        let mut old = field("tv://a/token", "2025-11-01T00:00:00Z"); // 120 days
        let found = classify(&[old.clone()], &[], at(NOW), Policy::default());
        assert_eq!(
            found[0].attention,
            Attention::Stale {
                updated: "2025-11-01T00:00:00Z".into(),
                days: 120
            }
        );
        assert!(classify(
            &[old.clone()],
            &[],
            at(NOW),
            Policy {
                stale_days: 200,
                ..Policy::default()
            }
        )
        .is_empty());
        old.secret = false;
        assert!(classify(&[old], &[], at(NOW), Policy::default()).is_empty());
        // Exactly at the threshold is not yet stale.
        let edge = field("tv://a/token", "2025-12-01T12:00:00Z"); // 90 days
        assert!(classify(&[edge], &[], at(NOW), Policy::default()).is_empty());
    }

    #[test]
    fn expiry_within_the_window_and_in_the_past() {
        let mut f = field("tv://a/token", "2026-02-20T00:00:00Z");
        let set_expiry = |f: &mut FieldFacts, e: &str| {
            f.last_check.as_mut().unwrap().expires = Some(e.into());
        };
        set_expiry(&mut f, "2026-03-06T12:00:00.000Z");
        let found = classify(&[f.clone()], &[], at(NOW), Policy::default());
        assert_eq!(found[0].attention.code(), "expiring");
        assert_eq!(
            found[0].attention.detail(),
            "expires in 5 days (2026-03-06T12:00:00.000Z)"
        );
        set_expiry(&mut f, "2026-02-28T00:00:00Z");
        assert_eq!(
            classify(&[f.clone()], &[], at(NOW), Policy::default())[0].attention,
            Attention::Expired {
                expires: "2026-02-28T00:00:00Z".into()
            }
        );
        set_expiry(&mut f, "2026-06-01T00:00:00Z");
        assert!(classify(&[f.clone()], &[], at(NOW), Policy::default()).is_empty());
        set_expiry(&mut f, "not a date");
        assert!(classify(&[f], &[], at(NOW), Policy::default()).is_empty());
    }

    #[test]
    fn failed_and_never_checked() {
        let mut f = field("tv://a/token", "2026-02-20T00:00:00Z");
        f.last_check = Some(LastCheck {
            at: "2026-02-21T00:00:00Z".into(),
            ok: false,
            summary: "401: invalid credentials".into(),
            expires: None,
        });
        let found = classify(&[f.clone()], &[], at(NOW), Policy::default());
        assert_eq!(found[0].attention.code(), "failed");
        assert!(found[0].attention.detail().contains("401"));
        f.last_check = None;
        let found = classify(&[f.clone()], &[], at(NOW), Policy::default());
        assert_eq!(found[0].attention, Attention::Unverified);
        assert_eq!(
            found[0].attention.next_step("a/token"),
            "tokenvault verify a/token"
        );
        // Nothing to check with: not a finding.
        f.checkable = false;
        assert!(classify(&[f], &[], at(NOW), Policy::default()).is_empty());
    }

    #[test]
    fn references_named_but_the_vault_lacks() {
        let f = [field("tv://a/token", "2026-02-20T00:00:00Z")];
        let used = |user: &str, reference: &str| Use {
            user: user.into(),
            reference: reference.into(),
        };
        let uses = [
            used("profile p1 (A)", "tv://a/token"),
            used("profile p2 (B_KEY)", "tv://b/key"),
            used("profile p1 (B)", "tv://b/key"),
            used("cursor server 'b' in ~/.cursor/mcp.json (B)", "tv://b/key"),
        ];
        let found = classify(&f, &uses, at(NOW), Policy::default());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].reference, "tv://b/key");
        assert_eq!(
            found[0].attention.detail(),
            "named by profile p2 (B_KEY), profile p1 (B), cursor server 'b' in ~/.cursor/mcp.json (B), not in the vault"
        );
        assert_eq!(
            found[0].attention.next_step("b/key"),
            "tokenvault set b/key"
        );
    }

    #[test]
    fn unknown_dates_are_not_stale() {
        let mut f = field("tv://a/token", "garbage");
        f.updated = None;
        assert!(classify(&[f], &[], at(NOW), Policy::default()).is_empty());
    }
}
