//! Findings as documents: the text line, JSON, SARIF 2.1.0, and baselines.
//!
//! Pure functions from [`Hit`]s to strings and JSON values; the binary decides where they go.
//! Nothing here can show a value: a hit only carries the masked form. The fingerprint that
//! baselines compare is `path:rule:masked` — stable when lines move, different for a new token
//! in the same place — so a baseline file holds nothing the report did not already show.

use crate::rules::RuleKind;
use crate::source::Hit;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};

/// The key a baseline remembers a finding by.
pub fn fingerprint(hit: &Hit) -> String {
    format!("{}:{}:{}", hit.path, hit.finding.rule, hit.finding.masked)
}

/// `path:line:col  rule  masked` (plus the vault reference and commit when known).
pub fn text_line(hit: &Hit) -> String {
    let f = &hit.finding;
    let mut s = format!(
        "{}:{}:{}  {}  {}",
        hit.path, f.line, f.column, f.rule, f.masked
    );
    if let Some(r) = &f.reference {
        s.push_str(&format!("  = {r}"));
    }
    if let Some(enc) = f.encoding {
        s.push_str(&format!(" ({enc})"));
    }
    if let Some(c) = &hit.commit {
        let short = c.id.get(..12).unwrap_or(&c.id);
        s.push_str(&format!(
            "  commit {short} {} <{}> {}",
            c.author, c.email, c.date
        ));
    }
    s
}

/// One finding as a JSON object.
pub fn json_hit(hit: &Hit) -> Value {
    let f = &hit.finding;
    let mut v = json!({
        "path": hit.path,
        "line": f.line,
        "column": f.column,
        "rule": f.rule,
        "kind": f.kind,
        "provider": f.provider,
        "description": f.description,
        "masked": f.masked,
        "fingerprint": fingerprint(hit),
    });
    if let Some(obj) = v.as_object_mut() {
        if let Some(r) = &f.reference {
            obj.insert("reference".into(), json!(r));
        }
        if let Some(e) = f.encoding {
            obj.insert("encoding".into(), json!(e));
        }
        if let Some(c) = &hit.commit {
            obj.insert("commit".into(), json!(c.id));
            obj.insert("author".into(), json!(c.author));
            obj.insert("email".into(), json!(c.email));
            obj.insert("date".into(), json!(c.date));
        }
    }
    v
}

/// A JSON array of findings.
pub fn json(hits: &[Hit]) -> Value {
    Value::Array(hits.iter().map(json_hit).collect())
}

/// A relative URI reference for a path (SARIF `artifactLocation.uri`).
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() || out == "-" {
        "stdin".into()
    } else {
        out
    }
}

/// `text` with its first letter in upper case (a sentence's start).
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A SARIF 2.1.0 log with one run, uploadable to code scanning.
pub fn sarif(hits: &[Hit], tool_version: &str) -> Value {
    let mut rules: BTreeMap<&str, (&str, RuleKind)> = BTreeMap::new();
    for h in hits {
        rules
            .entry(h.finding.rule.as_str())
            .or_insert((h.finding.description.as_str(), h.finding.kind));
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, k)| (*k, i)).collect();
    let rule_objs: Vec<Value> = rules
        .iter()
        .map(|(id, (desc, kind))| {
            json!({
                "id": id,
                "name": id.replace(['/', '_'], "-"),
                "shortDescription": { "text": format!("Leaked secret: {desc}") },
                "fullDescription": { "text": format!("{} was found in plain text. Matched by a {} rule.", capitalised(&tokenvault_core::words::with_article(desc)), match kind {
                    RuleKind::Provider => "provider format",
                    RuleKind::Exact => "vault exact-value",
                    RuleKind::Generic => "generic high-entropy assignment",
                }) },
                "help": { "text": "Remove the value from the file (store it with `tokenvault set` and reference it), and rotate it at the provider if it was ever pushed or shared." },
                "defaultConfiguration": { "level": "error" },
                "properties": { "tags": ["security", "secret"], "precision": if *kind == RuleKind::Generic { "medium" } else { "high" } },
            })
        })
        .collect();
    let results: Vec<Value> = hits
        .iter()
        .map(|h| {
            let f = &h.finding;
            let width = f.end.saturating_sub(f.start);
            let mut message = format!("{} ({}) leaked: {}", f.description, f.rule, f.masked);
            if let Some(r) = &f.reference {
                message.push_str(&format!("; it is the value of {r}"));
            }
            let mut result = json!({
                "ruleId": f.rule,
                "ruleIndex": index.get(f.rule.as_str()).copied().unwrap_or(0),
                "level": "error",
                "message": { "text": message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&h.path) },
                        "region": {
                            "startLine": f.line.max(1),
                            "startColumn": f.column.max(1),
                            "endColumn": f.column.max(1) + width,
                        }
                    }
                }],
                "partialFingerprints": { "tokenvault/v1": fingerprint(h) },
            });
            if let (Some(c), Some(obj)) = (&h.commit, result.as_object_mut()) {
                obj.insert(
                    "properties".into(),
                    json!({ "commit": c.id, "author": c.author, "email": c.email, "date": c.date }),
                );
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "tokenvault",
                "informationUri": "https://example.invalid/tokenvault",
                "version": tool_version,
                "semanticVersion": tool_version,
                "rules": rule_objs,
            }},
            "columnKind": "utf16CodeUnits",
            "results": results,
        }]
    })
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error(
        "the baseline is not JSON ({0}); write one with `tokenvault scan --format json > FILE`"
    )]
    Json(String),
    #[error("the baseline is neither a `--format json` array nor a SARIF log")]
    Shape,
}

/// The fingerprints in a baseline: a `--format json` report or a SARIF log written by tokenvault.
pub fn baseline_fingerprints(text: &str) -> Result<HashSet<String>, BaselineError> {
    let v: Value = serde_json::from_str(text).map_err(|e| BaselineError::Json(e.to_string()))?;
    let mut set = HashSet::new();
    match &v {
        Value::Array(items) => {
            for item in items {
                if let Some(fp) = item.get("fingerprint").and_then(Value::as_str) {
                    set.insert(fp.to_owned());
                }
            }
        }
        Value::Object(o) if o.contains_key("runs") => {
            for run in o["runs"].as_array().into_iter().flatten() {
                for r in run
                    .get("results")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(fp) = r
                        .get("partialFingerprints")
                        .and_then(|p| p.get("tokenvault/v1"))
                        .and_then(Value::as_str)
                    {
                        set.insert(fp.to_owned());
                    }
                }
            }
        }
        _ => return Err(BaselineError::Shape),
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Scanner;
    use crate::rules::RuleSet;
    use crate::source::Commit;
    use std::sync::Arc;
    use tokenvault_core::Catalogue;

    fn hits() -> Vec<Hit> {
        let s = Scanner::new(
            RuleSet::from_catalogue(&Catalogue::builtin()).unwrap(),
            None,
        )
        .unwrap();
        let mut out = Vec::new();
        s.scan(
            b"x = 'ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789'\n",
            &mut out,
        );
        out.into_iter()
            .map(|finding| Hit {
                path: "dir/a file.py".into(),
                commit: Some(Arc::new(Commit {
                    id: "0123456789abcdef".into(),
                    author: "A".into(),
                    email: "a@x".into(),
                    date: "2024-01-01T00:00:00Z".into(),
                })),
                finding,
            })
            .collect()
    }

    #[test]
    fn outputs_carry_location_and_never_the_value() {
        let hits = hits();
        assert_eq!(hits.len(), 1);
        let line = text_line(&hits[0]);
        assert!(
            line.starts_with("dir/a file.py:1:6  github/token  ghp_aB…6789"),
            "{line}"
        );
        let all = format!("{line}{}{}", json(&hits), sarif(&hits, "0.1.0"));
        assert!(!all.contains("ghp_aBcDeFgHiJ"), "{all}");
        let s = sarif(&hits, "0.1.0");
        assert_eq!(
            s["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
                ["uri"],
            "dir/a%20file.py"
        );
        assert_eq!(
            s["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["endColumn"],
            46
        );
    }

    #[test]
    fn baselines_read_back_both_formats() {
        let hits = hits();
        let fp = fingerprint(&hits[0]);
        let j = baseline_fingerprints(&json(&hits).to_string()).unwrap();
        assert!(j.contains(&fp));
        let s = baseline_fingerprints(&sarif(&hits, "0").to_string()).unwrap();
        assert!(s.contains(&fp));
        assert!(baseline_fingerprints("{")
            .unwrap_err()
            .to_string()
            .contains("--format json"));
        assert!(matches!(
            baseline_fingerprints("{\"a\":1}"),
            Err(BaselineError::Shape)
        ));
    }
}
