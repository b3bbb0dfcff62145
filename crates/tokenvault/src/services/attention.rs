//! What needs attention (`status`, and the web app's Attention page): stale, expiring, expired,
//! failed or never-checked tokens, and references that a profile, an MCP server launched through
//! tokenvault or a wrapper names but the vault lacks. Data only: the front doors render it.
//!
//! Only facts are gathered here: keys of the current backend and their index metadata (no value is
//! read, so a file vault needs no passphrase), who uses which reference, and the clock. The rules
//! live in `tokenvault_core::status`.

use crate::vault::Vault;
use anyhow::Result;
use serde_json::Value;
use tokenvault_core::status::{classify, FieldFacts, Finding, LastCheck, Policy, Use};

/// The findings and what could not be read (a profile or config naming a bad reference).
pub struct Report {
    pub findings: Vec<Finding>,
    pub unreadable: Vec<String>,
    /// How many stored values were looked at.
    pub fields: usize,
}

/// Classifies every stored field of `vault` and every use `gathered` names.
pub fn report(
    vault: &Vault<'_>,
    gathered: crate::services::usage::Uses,
    stale_days: u32,
) -> Result<Report> {
    let index = vault.load_index_checked()?;
    let mut fields = Vec::new();
    for key in vault.keys(&index)? {
        let meta = index.items.get(key.item.as_str());
        let fmeta = meta.and_then(|m| m.fields.get(key.field.as_str()));
        let provider = meta
            .and_then(|m| m.provider.as_deref())
            .and_then(|p| vault.catalogue.get(p))
            .or_else(|| vault.catalogue.for_item(&key.item));
        let field = provider.and_then(|p| p.field(key.field.as_str()));
        // Unknown fields are treated as secrets: better a false "stale" than a missed one.
        let secret = field.is_none_or(|f| f.secret);
        let checkable = provider.is_some_and(|p| {
            p.verify != "none" && !p.verify.is_empty() && p.default_field == key.field.as_str()
        });
        fields.push(FieldFacts {
            reference: format!("tv://{}/{}", key.item, key.field),
            updated: fmeta.map(|f| f.updated.clone()),
            secret,
            checkable,
            last_check: fmeta.and_then(|f| f.verified.as_ref()).map(|v| LastCheck {
                at: v.at.clone(),
                ok: v.ok,
                summary: v.summary.clone(),
                expires: v
                    .extra
                    .get("expires")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            }),
        });
    }

    let mut uses = Vec::new();
    let mut unreadable = gathered.bad_profiles;
    for u in &gathered.uses {
        match vault.target(&index, &u.reference, None) {
            Ok(t) => uses.push(Use {
                user: u.user.label(),
                reference: t.reference(),
            }),
            Err(e) => unreadable.push(format!("{}: {e}", u.user.label())),
        }
    }
    let policy = Policy {
        stale_days,
        ..Policy::default()
    };
    let findings = classify(&fields, &uses, time::OffsetDateTime::now_utc(), policy);
    Ok(Report {
        findings,
        unreadable,
        fields: fields.len(),
    })
}
