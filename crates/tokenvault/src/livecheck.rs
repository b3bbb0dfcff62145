//! A live check of one value that may not be stored yet, for `rotate` (a new token is checked
//! *before* it replaces the current one, so a rejected token is never stored) and `import`
//! (a source is shredded only after its values were checked).
//!
//! `verify` owns the checks themselves; this module calls their public pieces (`verify_http`
//! sends, `tokenvault_core::verify` interprets) and records the result in the index in the same
//! shape as `verify` does (`check`, `whoami`, `role`, `expires` / `code`, `hint`), so that `verify`
//! reuses it and `status` reads its expiry. MERGE NOTE: once `verify` dispatches every provider's
//! check through one public function, [`check`] should call that instead of knowing Hugging Face.

use crate::printer::Printer;
use crate::vault::{Target, Vault};
use crate::verify_http;
use serde_json::json;
use std::collections::BTreeMap;
use tokenvault_core::verify::{explain_network, interpret_hf, Explanation, LiveOutcome};
use tokenvault_core::{Catalogue, Secret};
use tokenvault_store::index::Verification;

/// The `verify` key of the one live check this build implements (as in `cmd/verify.rs`).
const HUGGINGFACE: &str = "huggingface";

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
    /// The provider has no live check for this field (in this build).
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
    if p.verify != HUGGINGFACE {
        return Checked::NotAvailable(format!("no live check for {} in this build", p.name));
    }
    if field != p.default_field {
        return Checked::NotAvailable(format!("{field} is not a credential field"));
    }
    let endpoint = verify_http::hf_endpoint();
    let url = format!("{endpoint}/api/whoami-v2");
    let outcome = match verify_http::get_bearer(&url, value) {
        Ok(a) => interpret_hf(
            a.status,
            &a.body,
            a.retry_after.as_deref(),
            p.create_url.as_deref(),
        ),
        Err(f) => LiveOutcome::Unknown(explain_network(
            &f,
            &verify_http::host_of(&endpoint),
            verify_http::proxy_for(&url).as_deref(),
        )),
    };
    let mut extra = BTreeMap::new();
    extra.insert("check".to_owned(), json!(HUGGINGFACE));
    match outcome {
        LiveOutcome::Valid(who) => {
            extra.insert("whoami".to_owned(), json!(who));
            if let Some(t) = &who.token {
                extra.insert("role".to_owned(), json!(t.role.name()));
                if let Some(e) = &t.expires_at {
                    extra.insert("expires".to_owned(), json!(e));
                }
            }
            let summary = who.summary();
            Checked::Valid {
                verification: Verification {
                    at: now.to_owned(),
                    ok: true,
                    summary: summary.clone(),
                    extra,
                },
                summary,
            }
        }
        LiveOutcome::Rejected(e) => {
            extra.insert("code".to_owned(), json!(e.code));
            extra.insert("hint".to_owned(), json!(e.hint));
            Checked::Rejected {
                verification: Verification {
                    at: now.to_owned(),
                    ok: false,
                    summary: e.message.clone(),
                    extra,
                },
                explanation: e,
            }
        }
        LiveOutcome::Unknown(e) => Checked::Unknown(e),
    }
}

impl Checked {
    /// Whether the value may count as verified: accepted, or nothing to check it with.
    pub fn passes(&self) -> bool {
        matches!(self, Checked::Valid { .. } | Checked::NotAvailable(_))
    }

    fn verification(&self) -> Option<&Verification> {
        match self {
            Checked::Valid { verification, .. } | Checked::Rejected { verification, .. } => {
                Some(verification)
            }
            _ => None,
        }
    }

    /// Records a definite answer for `target` in the index (call it after the value is stored:
    /// storing forgets the previous result). Failing to record is a warning: the answer stands.
    pub fn record(&self, vault: &Vault<'_>, target: &Target, printer: &Printer) {
        let Some(v) = self.verification() else {
            return;
        };
        let result = vault.index_file.update(|idx| {
            if let Some(f) = idx
                .items
                .get_mut(target.key.item.as_str())
                .and_then(|m| m.fields.get_mut(target.key.field.as_str()))
            {
                f.verified = Some(v.clone());
            }
        });
        if let Err(e) = result {
            printer.warning(&format!("could not record the check in the index: {e}"));
        }
    }
}
