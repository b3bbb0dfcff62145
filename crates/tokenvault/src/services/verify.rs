//! Live verification of token values, shared by `verify`, `set` (after storing), `rotate` and
//! `import` (before replacing or shredding), through [`crate::services::livecheck`]. The checks
//! themselves, and the HTTP client, are the `tokenvault-verify` crate.
//!
//! Live answers are recorded in the index (`Verification`: time, outcome, account, scopes, expiry;
//! never the value) and reused for ten minutes, because providers rate-limit these calls (the Hub
//! strictly). A check that reads several fields (AWS: key id, secret, session token, region) is
//! recorded on the provider's default field and not reused once any field of the item changed.
//!
//! Nothing here prints: results are data ([`Live`], [`AfterSet`]) that each front door renders,
//! and a result that could not be recorded comes back as a warning to show.

use crate::context::now_rfc3339;
use crate::vault::{Target, Vault};
use anyhow::Result;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tokenvault_core::{FieldName, Provider, Secret};
use tokenvault_store::index::{Index, Verification};
use tokenvault_store::Key;
use tokenvault_verify::aws_sign::AwsCredentials;
use tokenvault_verify::http::{self as verify_http, Creds};
use tokenvault_verify::{
    explain_network, Account, Check, CheckContext, Explanation, Identity, LiveOutcome, WhoAmI,
};

/// How long a stored live result is reused without `--fresh`.
const REUSE_SECS: i64 = 600;
/// STS's region when the item stores none.
const DEFAULT_AWS_REGION: &str = "us-east-1";

/// What the live step found for one value.
pub(crate) enum Live {
    Valid {
        account: Account,
        check: Check,
        /// When the reused result was obtained; `None` for a fresh answer.
        reused_from: Option<String>,
    },
    Rejected(Explanation),
    Unknown(Explanation),
    /// The check needs another field of the item that is not stored (AWS: the secret key).
    Incomplete(Explanation),
    /// The provider has no live check (or the field is not its credential).
    NotAvailable(String),
}

/// Profiles (name → variables) that read `reference`, for the least-privilege warning.
pub(crate) fn profiles_using(
    profiles: &BTreeMap<String, Vec<String>>,
    reference: &str,
) -> Vec<String> {
    profiles
        .iter()
        .filter(|(_, refs)| refs.iter().any(|r| r == reference))
        .map(|(n, _)| n.clone())
        .collect()
}

/// Raw profiles as the config holds them: name → (variable → reference).
pub(crate) type Profiles = BTreeMap<String, BTreeMap<String, String>>;

/// Each profile's references in their `tv://ITEM/FIELD` form.
pub(crate) fn profile_refs(
    profiles: &Profiles,
    vault: &Vault<'_>,
    index: &Index,
) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for (name, vars) in profiles {
        let refs = vars
            .values()
            .filter_map(|r| tokenvault_core::Reference::parse(r).ok())
            .filter_map(|r| vault.target(index, &r, None).ok())
            .map(|t| t.reference())
            .collect();
        out.insert(name.clone(), refs);
    }
    out
}

pub(crate) fn provider_of<'a>(vault: &Vault<'a>, target: &Target) -> Option<&'a Provider> {
    target
        .provider
        .as_deref()
        .and_then(|p| vault.catalogue.get(p))
}

fn parse_time(t: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
}

/// A stored result for this field younger than [`REUSE_SECS`], from this check, with no field of
/// the item changed since, turned back into a [`Live`].
fn reusable(index: &Index, target: &Target, check: Check) -> Option<Live> {
    let item = index.items.get(target.key.item.as_str())?;
    let v = item
        .fields
        .get(target.key.field.as_str())?
        .verified
        .as_ref()?;
    if v.extra.get("check").and_then(Value::as_str) != Some(check.key()) {
        return None;
    }
    let at = parse_time(&v.at)?;
    let age = (time::OffsetDateTime::now_utc() - at).whole_seconds();
    if !(0..REUSE_SECS).contains(&age) {
        return None;
    }
    // A check over several fields (AWS) is stale once any of them was replaced.
    let read =
        |name: &str| name == target.key.field.as_str() || check.extra_fields().contains(&name);
    if item
        .fields
        .iter()
        .filter(|(name, _)| read(name))
        .any(|(_, f)| parse_time(&f.updated).is_none_or(|u| u > at))
    {
        return None;
    }
    if v.ok {
        let account = match check {
            Check::HuggingFace => Account::HuggingFace(
                serde_json::from_value::<WhoAmI>(v.extra.get("whoami")?.clone()).ok()?,
            ),
            _ => Account::Service(
                serde_json::from_value::<Identity>(v.extra.get("identity")?.clone()).ok()?,
            ),
        };
        Some(Live::Valid {
            account,
            check,
            reused_from: Some(v.at.clone()),
        })
    } else {
        let code = match v.extra.get("code").and_then(Value::as_str)? {
            "forbidden" => "forbidden",
            "expired" => "expired",
            "signature-mismatch" => "signature-mismatch",
            _ => "invalid",
        };
        Some(Live::Rejected(Explanation {
            code,
            message: format!("{} (checked at {})", v.summary, v.at),
            hint: v
                .extra
                .get("hint")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        }))
    }
}

/// The index record of a definite answer (valid or rejected), stamped `at`; `None` for other
/// outcomes and for a reused answer (already recorded).
pub(crate) fn verification_of(check: Check, live: &Live, at: &str) -> Option<Verification> {
    let mut extra = BTreeMap::new();
    extra.insert("check".to_owned(), json!(check.key()));
    let (ok, summary) = match live {
        Live::Valid {
            account,
            reused_from: None,
            ..
        } => {
            extra.insert("account".to_owned(), json!(account.name()));
            if let Some(s) = account.scopes() {
                extra.insert("scopes".to_owned(), json!(s));
            }
            if let Some(e) = account.expires_at() {
                extra.insert("expires".to_owned(), json!(e));
            }
            match account {
                Account::HuggingFace(who) => {
                    extra.insert("whoami".to_owned(), json!(who));
                    if let Some(t) = &who.token {
                        extra.insert("role".to_owned(), json!(t.role.name()));
                    }
                }
                Account::Service(id) => {
                    extra.insert("identity".to_owned(), json!(id));
                }
            }
            (true, account.summary())
        }
        Live::Rejected(e) => {
            extra.insert("code".to_owned(), json!(e.code));
            extra.insert("hint".to_owned(), json!(e.hint));
            (false, e.message.clone())
        }
        _ => return None,
    };
    Some(Verification {
        at: at.to_owned(),
        ok,
        summary,
        extra,
    })
}

/// Records a definite answer (valid or rejected) in the index. Failing to record is only a warning
/// (returned): the answer itself stands.
fn record(vault: &Vault<'_>, target: &Target, check: Check, live: &Live) -> Option<String> {
    let v = verification_of(check, live, &now_rfc3339())?;
    vault
        .record_verification(target, &v)
        .err()
        .map(|e| format!("could not record the result in the index: {e}"))
}

/// The live check of a value that is not stored (yet): `rotate` checks a new token before it
/// replaces the current one, `import` before it shreds a source. Single-credential checks only:
/// AWS needs the item's other fields and is checked by `verify` once stored.
pub(crate) fn check_unstored(
    provider: &Provider,
    field: &str,
    value: &Secret,
) -> (Option<Check>, Live) {
    let Some(check) = Check::from_key(&provider.verify) else {
        return (
            None,
            Live::NotAvailable(format!("no live check for {}", provider.name)),
        );
    };
    if field != provider.default_field {
        return (
            None,
            Live::NotAvailable(format!("{field} is not a credential field")),
        );
    }
    if !check.extra_fields().is_empty() {
        return (
            None,
            Live::NotAvailable(format!(
                "{} keys are checked as a set once stored: run `tokenvault verify`",
                provider.name
            )),
        );
    }
    let live = ask(
        check,
        provider,
        value,
        &Creds::Token(value),
        DEFAULT_AWS_REGION,
        None,
    );
    (Some(check), live)
}

/// Sends `check`'s request with `creds` and reads the provider's answer.
fn ask(
    check: Check,
    provider: &Provider,
    value: &Secret,
    creds: &Creds<'_>,
    region: &str,
    item: Option<&str>,
) -> Live {
    let base = verify_http::base_url(check, region);
    let plan = check.request(&base);
    let endpoint_var = check.base_env().join(" or ");
    let prefix = key_prefix(value.expose_secret());
    let ctx = CheckContext {
        create_url: provider.create_url.as_deref(),
        key_prefix: prefix.as_deref(),
        item,
    };
    match verify_http::send(&plan, creds, &endpoint_var) {
        Ok(a) => match check.interpret(&a, &ctx) {
            LiveOutcome::Valid(account) => Live::Valid {
                account,
                check,
                reused_from: None,
            },
            LiveOutcome::Rejected(e) => Live::Rejected(e),
            LiveOutcome::Unknown(e) => Live::Unknown(e),
        },
        Err(f) => Live::Unknown(explain_network(
            &f,
            &verify_http::host_of(&base),
            verify_http::proxy_for(&plan.url).as_deref(),
            &endpoint_var,
        )),
    }
}

/// The part of a key before its random part when that says what the key is (`sk_live` of
/// `sk_live_…`): at most two short lower-case words. Not secret: masking shows more.
fn key_prefix(value: &str) -> Option<String> {
    let mut parts = value.splitn(3, '_');
    let (a, b, rest) = (parts.next()?, parts.next()?, parts.next()?);
    let word = |w: &str| (1..=4).contains(&w.len()) && w.bytes().all(|c| c.is_ascii_lowercase());
    (word(a) && word(b) && !rest.is_empty()).then(|| format!("{a}_{b}"))
}

/// The other fields a check reads, from the store: name → value.
fn extra_values(
    vault: &Vault<'_>,
    target: &Target,
    check: Check,
) -> Result<BTreeMap<&'static str, Secret>, String> {
    let names = check.extra_fields();
    let keys: Vec<Key> = names
        .iter()
        .filter_map(|f| FieldName::new(f).ok())
        .map(|f| Key::new(target.key.item.clone(), f))
        .collect();
    let values = vault
        .store()
        .get_many(&keys)
        .map_err(|e| format!("could not read the item's other fields: {e}"))?;
    Ok(names
        .iter()
        .zip(values)
        .filter_map(|(n, v)| v.map(|v| (*n, v)))
        .collect())
}

/// The live check of one value, and a warning when its result could not be recorded. `fresh`
/// skips a stored recent result.
pub(crate) fn live_check(
    vault: &Vault<'_>,
    index: &Index,
    target: &Target,
    value: &Secret,
    fresh: bool,
) -> (Live, Option<String>) {
    let (live, asked) = live_answer(vault, index, target, value, fresh);
    let unrecorded = asked.and_then(|check| record(vault, target, check, &live));
    (live, unrecorded)
}

/// The answer, and the check when the provider was asked now (a fresh answer, to record).
fn live_answer(
    vault: &Vault<'_>,
    index: &Index,
    target: &Target,
    value: &Secret,
    fresh: bool,
) -> (Live, Option<Check>) {
    let Some(provider) = provider_of(vault, target) else {
        return no_ask(Live::NotAvailable(
            "no provider known for this item, so no live check".to_owned(),
        ));
    };
    let Some(check) = Check::from_key(&provider.verify) else {
        return no_ask(Live::NotAvailable(format!(
            "no live check for {}",
            provider.name
        )));
    };
    let field = target.key.field.as_str();
    if field != provider.default_field {
        return no_ask(Live::NotAvailable(
            if check.extra_fields().contains(&field) {
                format!(
                    "checked online with tv://{}/{}",
                    target.key.item, provider.default_field
                )
            } else {
                format!("{field} is not a credential field")
            },
        ));
    }
    if !fresh {
        if let Some(l) = reusable(index, target, check) {
            return (l, None);
        }
    }
    let item = target.key.item.as_str();
    let extras = match extra_values(vault, target, check) {
        Ok(e) => e,
        Err(why) => {
            return no_ask(Live::Unknown(Explanation {
                code: "backend",
                message: why,
                hint: "run `tokenvault doctor`".to_owned(),
            }))
        }
    };
    let region = extras
        .get("region")
        .map(|r| r.expose_secret().trim().to_owned())
        .unwrap_or_else(|| DEFAULT_AWS_REGION.to_owned());
    let creds = match check {
        Check::AwsSts => {
            let Some(secret) = extras.get("secret_access_key") else {
                return no_ask(Live::Incomplete(Explanation {
                    code: "incomplete",
                    message: format!(
                        "not checked online: STS needs tv://{item}/secret_access_key too, which is not stored"
                    ),
                    hint: format!("store it with `tokenvault set {item}/secret_access_key`"),
                }));
            };
            Creds::Aws {
                keys: AwsCredentials {
                    access_key_id: value,
                    secret_access_key: secret,
                    session_token: extras.get("session_token"),
                },
                region: &region,
            }
        }
        _ => Creds::Token(value),
    };
    (
        ask(check, provider, value, &creds, &region, Some(item)),
        Some(check),
    )
}

fn no_ask(live: Live) -> (Live, Option<Check>) {
    (live, None)
}

/// The least-privilege warning for a valid token, naming the profiles that use it.
pub(crate) fn privilege_warning(
    account: &Account,
    users: &[String],
    provider: Option<&Provider>,
) -> Option<String> {
    let base = account.privilege_warning()?;
    let create = provider
        .and_then(|p| p.create_url.as_deref())
        .map(|u| format!(" (create one at {u})"))
        .unwrap_or_default();
    Some(if users.is_empty() {
        format!("{base}{create}")
    } else {
        format!("{base}{create}; profile {} uses it", users.join(", "))
    })
}

/// What `set`'s check of the value it just stored found.
pub(crate) enum AfterSet {
    /// No live check for this field, or the credential it is checked with is not stored yet.
    NotChecked,
    /// The provider accepted `checked` (the stored field, or the item's credential when a field
    /// it reads beside it was stored); `privilege` is the least-privilege warning.
    Verified {
        checked: String,
        summary: String,
        privilege: Option<String>,
    },
    /// The provider rejected it: the value is stored, and the command should end negative.
    Rejected { stored: String, why: Explanation },
    /// No answer (network, rate limit): stored, not verified.
    Unverified {
        stored: String,
        checked: String,
        why: Explanation,
    },
    /// The check needs another field that is not stored yet.
    Incomplete { stored: String, why: Explanation },
}

/// `set`'s check of the value it just stored, and a warning when the result could not be
/// recorded. Network trouble is not an error: the value is stored either way.
pub(crate) fn check_after_set(
    profiles: &Profiles,
    vault: &Vault<'_>,
    target: &Target,
    value: &Secret,
) -> Result<(AfterSet, Option<String>)> {
    let index = vault.load_index_trusted()?;
    let profiles = profile_refs(profiles, vault, &index);
    let stored = target.reference();
    let provider = provider_of(vault, target);
    // A field that a check reads beside the credential (an AWS secret key, session token or
    // region) is verified by checking the item's credential with it.
    let anchor = provider.and_then(|p| {
        let check = Check::from_key(&p.verify)?;
        let field = target.key.field.as_str();
        (field != p.default_field && check.extra_fields().contains(&field))
            .then(|| FieldName::new(&p.default_field).ok())
            .flatten()
            .map(|f| Target {
                key: Key::new(target.key.item.clone(), f),
                provider: target.provider.clone(),
            })
    });
    let anchor_value;
    let (checked, value) = match &anchor {
        Some(a) => match vault.store().get(&a.key)? {
            Some(v) => {
                anchor_value = v;
                (a, &anchor_value)
            }
            // Checked once the credential itself is stored.
            None => return Ok((AfterSet::NotChecked, None)),
        },
        None => (target, value),
    };
    let checked_ref = checked.reference();
    let (live, unrecorded) = live_check(vault, &index, checked, value, true);
    let found = match live {
        Live::Valid { account, .. } => AfterSet::Verified {
            privilege: privilege_warning(
                &account,
                &profiles_using(&profiles, &checked_ref),
                provider,
            ),
            summary: account.summary(),
            checked: checked_ref,
        },
        Live::Rejected(why) => AfterSet::Rejected { stored, why },
        Live::Unknown(why) => AfterSet::Unverified {
            stored,
            checked: checked_ref,
            why,
        },
        Live::Incomplete(why) => AfterSet::Incomplete { stored, why },
        Live::NotAvailable(_) => AfterSet::NotChecked,
    };
    Ok((found, unrecorded))
}

#[cfg(test)]
mod tests {
    use super::key_prefix;

    #[test]
    fn key_prefix_is_only_the_type_words() {
        assert_eq!(key_prefix("sk_live_abc").as_deref(), Some("sk_live"));
        assert_eq!(key_prefix("rk_test_abc").as_deref(), Some("rk_test"));
        assert_eq!(key_prefix("ghp_abcdef"), None);
        assert_eq!(key_prefix("github_pat_11AB_cd"), None);
        assert_eq!(key_prefix("sk_live_"), None);
        assert_eq!(key_prefix("AKIAIOSFODNN7EXAMPLE"), None);
    }
}
