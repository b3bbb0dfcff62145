//! Storing, checking and removing one token, as data: the web app's Tokens page (`set`, `verify`
//! and `rm` keep their own command flows, with prompts and confirmations of a terminal).

use crate::context::now_rfc3339;
use crate::error::hinted;
use crate::services::verify::{self, Live, Profiles};
use crate::vault::{Target, Vault, Written};
use anyhow::Result;
use serde_json::{json, Value};
use tokenvault_core::{Catalogue, FormatCheck, Reference, Secret};
use tokenvault_store::Key;
use tokenvault_verify::Account;

/// The catalogue's format rules as data for a page that checks a value as it is typed: per
/// provider its name, default field, create/revoke pages, and per field the prefix and the
/// anchored patterns with their descriptions. Patterns are the catalogue's own (the server checks
/// again with them on save); they are plain enough for a JavaScript `RegExp`.
pub fn format_rules(catalogue: &Catalogue) -> Value {
    Value::Array(
        catalogue
            .providers()
            .iter()
            .map(|p| {
                json!({
                    "id": p.id,
                    "name": p.name,
                    "default_field": p.default_field,
                    "create_url": p.create_url,
                    "revoke_url": p.revoke_url,
                    "fields": p.fields.iter().map(|f| json!({
                        "name": f.name,
                        "secret": f.secret,
                        "prefix": f.prefix,
                        "formats": f.formats.iter().map(|x| json!({
                            "regex": x.pattern,
                            "description": x.description,
                        })).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// Why `value` is not a `provider` `field` value, or `None` when it is (or no rule says).
pub fn format_problem(
    catalogue: &Catalogue,
    provider: &str,
    field: &str,
    value: &str,
) -> Option<String> {
    match catalogue.check_format(provider, field, value) {
        FormatCheck::Invalid { expected } => Some(format!(
            "this does not look like {} {}: expected {}",
            tokenvault_core::words::with_article(provider),
            field,
            expected.join(", or ")
        )),
        _ => None,
    }
}

/// Stores `value` at `reference` (a provider's item when `provider` is given), refusing a value
/// that does not have the provider's format.
pub fn save(
    vault: &Vault<'_>,
    reference: &Reference,
    provider: Option<&str>,
    value: &Secret,
) -> Result<(Target, Written)> {
    if let Some(p) = provider {
        if vault.catalogue.get(p).is_none() {
            return Err(hinted(
                format!("unknown provider '{p}'"),
                "choose one from the list",
            ));
        }
    }
    if value.expose_secret().is_empty() {
        return Err(hinted(
            "no value given",
            "paste the token; nothing was stored",
        ));
    }
    let index = vault.load_index_trusted()?;
    let target = vault.target(&index, reference, provider)?;
    if let Some(p) = target.provider.as_deref() {
        if let Some(why) = format_problem(
            vault.catalogue,
            p,
            target.key.field.as_str(),
            value.expose_secret(),
        ) {
            return Err(hinted(
                why,
                "check you pasted the whole token; nothing was stored",
            ));
        }
    }
    if let Some(store) = vault.backend.file_store() {
        store.prepare_new_vault()?;
    }
    let written = vault.write(&target, value, &now_rfc3339())?;
    Ok((target, written))
}

/// What a live check of a stored value found, ready to show.
pub struct Checked {
    /// `valid`, `rejected`, `unknown`, `incomplete` or `unavailable`.
    pub outcome: &'static str,
    pub message: String,
    pub hint: Option<String>,
    pub account: Option<String>,
    pub token_name: Option<String>,
    pub role: Option<String>,
    pub scopes: Vec<String>,
    pub expires: Option<String>,
    /// The least-privilege warning, naming the profiles that use it.
    pub warning: Option<String>,
    /// Why the answer could not be recorded in the index (it stands all the same).
    pub unrecorded: Option<String>,
}

/// Checks the stored value of `reference` with its provider now (a fresh answer, recorded).
pub fn verify_stored(
    vault: &Vault<'_>,
    profiles: &Profiles,
    reference: &Reference,
) -> Result<Checked> {
    let index = vault.load_index_trusted()?;
    let target = vault.target_for_read(reference)?;
    let Some(value) = vault.store().get(&target.key)? else {
        return Err(hinted(
            format!("{} is not stored", target.reference()),
            "store it first",
        ));
    };
    let refs = verify::profile_refs(profiles, vault, &index);
    let shown = target.reference();
    let provider = verify::provider_of(vault, &target);
    let (live, unrecorded) = verify::live_check(vault, &index, &target, &value, true);
    let empty = |outcome, message: String, hint: Option<String>| Checked {
        outcome,
        message,
        hint,
        account: None,
        token_name: None,
        role: None,
        scopes: Vec::new(),
        expires: None,
        warning: None,
        unrecorded: unrecorded.clone(),
    };
    Ok(match live {
        Live::Valid { account, .. } => {
            let (token_name, role) = match &account {
                Account::HuggingFace(w) => (
                    w.token.as_ref().and_then(|t| t.display_name.clone()),
                    w.token.as_ref().map(|t| t.role.name().to_owned()),
                ),
                Account::Service(_) => (None, None),
            };
            Checked {
                outcome: "valid",
                message: format!("Verified {shown}: {}.", account.summary()),
                hint: None,
                account: Some(account.name().to_owned()),
                token_name,
                role,
                scopes: account.scopes().unwrap_or_default(),
                expires: account.expires_at().map(str::to_owned),
                warning: verify::privilege_warning(
                    &account,
                    &verify::profiles_using(&refs, &shown),
                    provider,
                ),
                unrecorded: unrecorded.clone(),
            }
        }
        Live::Rejected(e) => empty(
            "rejected",
            format!("{shown} was rejected: {}", e.message),
            Some(e.hint),
        ),
        Live::Unknown(e) => empty(
            "unknown",
            format!("{shown} could not be checked: {}", e.message),
            Some(e.hint),
        ),
        Live::Incomplete(e) => empty("incomplete", e.message, Some(e.hint)),
        Live::NotAvailable(why) => empty("unavailable", why, None),
    })
}

/// Deletes a field, or every field of an item for a bare reference. Returns the keys deleted.
pub fn remove(vault: &Vault<'_>, reference: &Reference) -> Result<Vec<Key>> {
    let index = vault.load_index_trusted()?;
    let removed = vault.remove(&index, reference)?;
    if removed.is_empty() {
        return Err(hinted(
            format!("{reference} is not stored in the {} backend", vault.kind()),
            "reload the page to see what is stored",
        ));
    }
    Ok(removed)
}
