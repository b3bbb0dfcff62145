//! A live check of one value that may not be stored yet, for `rotate` (a new token is checked
//! *before* it replaces the current one, so a rejected token is never stored) and `import`
//! (a source is shredded only after its values were checked).
//!
//! Vault-level glue that never prints (answers and recording failures are returned as data).
//! `tokenvault-verify` owns the
//! checks themselves (one dispatch by the catalogue's `verify` key); this module
//! asks it to check a value that is not stored and records the answer in the index in the same
//! shape as `verify` does, so that `verify` reuses it and `status` reads its expiry.

use crate::services::verify::{check_unstored, verification_of, Live};
use crate::vault::{Target, Vault};
use tokenvault_core::{Catalogue, Secret};
use tokenvault_store::index::Verification;
use tokenvault_verify::Explanation;

/// How the live check of a value ended.
pub enum Checked {
    /// The provider accepted it; `summary` says whose it is.
    Valid {
        summary: String,
        verification: Verification,
    },
    /// The provider rejected it (invalid, revoked, expired, refused).
    Rejected {
        explanation: Explanation,
        verification: Verification,
    },
    /// No answer (network, rate limit): says nothing about the value.
    Unknown(Explanation),
    /// The provider has no live check for this field (or not for a value alone).
    NotAvailable(String),
}

/// Checks `value` as `provider`'s `field` with the provider, without storing anything.
pub fn check(
    catalogue: &Catalogue,
    provider: Option<&str>,
    field: &str,
    value: &Secret,
    now: &str,
) -> Checked {
    let Some(p) = provider.and_then(|p| catalogue.get(p)) else {
        return Checked::NotAvailable("no provider known for this item".to_owned());
    };
    let (check, live) = check_unstored(p, field, value);
    let verification = check.and_then(|c| verification_of(c, &live, now));
    match (live, verification) {
        (Live::Valid { account, .. }, Some(verification)) => Checked::Valid {
            summary: account.summary(),
            verification,
        },
        (Live::Rejected(explanation), Some(verification)) => Checked::Rejected {
            explanation,
            verification,
        },
        (Live::Unknown(e) | Live::Incomplete(e), _) => Checked::Unknown(e),
        (Live::NotAvailable(why), _) => Checked::NotAvailable(why),
        (Live::Valid { .. } | Live::Rejected(_), None) => {
            Checked::NotAvailable("no live check".to_owned())
        }
    }
}

impl Checked {
    fn verification(&self) -> Option<&Verification> {
        match self {
            Checked::Valid { verification, .. } | Checked::Rejected { verification, .. } => {
                Some(verification)
            }
            _ => None,
        }
    }

    /// Records a definite answer for `target` in the index (call it after the value is stored:
    /// storing forgets the previous result). Failing to record is a warning, returned: the
    /// answer stands.
    pub fn record(&self, vault: &Vault<'_>, target: &Target) -> Option<String> {
        let v = self.verification()?;
        vault
            .record_verification(target, v)
            .err()
            .map(|e| format!("could not record the check in the index: {e}"))
    }
}
