//! The false-positive classes of issue 19, each excluded by every rule (provider and generic), with a
//! control beside it that the same context still reports a real-shaped value:
//! AWS's documentation key `AKIAIOSFODNN7EXAMPLE`, a Rust type after a generic keyword
//! (`der_pub_key: PublicKeyX509Der`), and the Firebase SDK example keys that gitleaks lists as false
//! positives of its Google rule.

// Helpers outside #[test] functions unwrap too; clippy.toml allows it only inside tests.
#![allow(clippy::unwrap_used)]

use tokenvault_core::Catalogue;
use tokenvault_scan::{Finding, RuleSet, Scanner};

fn scanner() -> Scanner {
    Scanner::new(
        RuleSet::from_catalogue(&Catalogue::builtin()).unwrap(),
        None,
    )
    .unwrap()
}

fn scan(s: &Scanner, text: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    s.scan(text.as_bytes(), &mut out);
    out
}

fn rules(found: &[Finding]) -> Vec<&str> {
    found.iter().map(|f| f.rule.as_str()).collect()
}

#[test]
fn aws_documentation_key_is_never_reported() {
    let s = scanner();
    for text in [
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
        "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n",
        "{\"AccessKeyId\": \"AKIAIOSFODNN7EXAMPLE\"}\n",
        "aws_access_key: AKIAIOSFODNN7EXAMPLE\n",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
        "const AWS_SECRET_ACCESS_KEY: &str = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\";\n",
    ] {
        let found = scan(&s, text);
        assert!(found.is_empty(), "{text:?}: {:?}", rules(&found));
    }
    // Control: the same lines with a key of the same shape that is no documentation example.
    let found = scan(&s, "aws_access_key_id = AKIA2OGYBAH6RT7WJXQZ\n");
    assert_eq!(rules(&found), ["aws/access_key_id"]);
    let found = scan(
        &s,
        "aws_secret_access_key = Kq7vTzN2pR9wXb4mYs8cLf3hJd6gAe1uQo5iWk0B\n",
    );
    assert_eq!(rules(&found), ["aws/secret_access_key"]);
}

#[test]
fn a_rust_type_after_a_generic_keyword_is_not_a_secret() {
    let s = scanner();
    for text in [
        "    let der_pub_key: PublicKeyX509Der = encode(&key)?;\n",
        "pub struct Keys {\n    der_pub_key: PublicKeyX509Der,\n    secret_key: SecretKeyPkcs8Der,\n}\n",
        "fn verify(der_pub_key: PublicKeyX509Der, api_token: &AccessTokenString) -> bool {\n",
        "let private_key: Box<PrivateKeyPkcs8Der> = Box::new(k);\n",
        "    password_hash: PasswordHashString,\n",
    ] {
        let found = scan(&s, text);
        assert!(found.is_empty(), "{text:?}: {:?}", rules(&found));
    }
    // Control: a generic keyword with a secret-looking value is still reported.
    let found = scan(&s, "der_pub_key = \"q8Zr2LmX4vN7tK1pW9sB3yC6hD0fJ5gA\"\n");
    assert!(
        found.iter().any(|f| f.rule.starts_with("generic/")),
        "{:?}",
        rules(&found)
    );
}

#[test]
fn firebase_sdk_example_keys_are_never_reported() {
    // gitleaks 8.30.1's false-positive examples of gcp-api-key that are published keys (the data
    // file's; the catalogue's `scan_ignore_values` for google/api_key lists the same values).
    let data: serde_json::Value =
        serde_json::from_str(include_str!("data/gitleaks-examples.json")).unwrap();
    let gcp = data["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "gcp-api-key")
        .unwrap();
    let keys: Vec<&str> = gcp["false_positives"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .filter(|v| v.starts_with("AIza") && v.len() == 39)
        .collect();
    assert_eq!(keys.len(), 16, "{keys:?}");
    let s = scanner();
    for key in &keys {
        for text in [
            format!("{key}\n"),
            format!(
                "const firebaseConfig = {{\n  apiKey: \"{key}\",\n  projectId: \"demo\"\n}};\n"
            ),
            format!("GOOGLE_API_KEY={key}\n"),
            format!("<string name=\"google_api_key\">{key}</string>\n"),
        ] {
            let found = scan(&s, &text);
            assert!(found.is_empty(), "{text:?}: {:?}", rules(&found));
        }
    }
    // Control: a key of the same shape that is not a published example is found in each context.
    let key = "AIzaSyQ7xM2vR8kT4nB1pL6wZ3cH9dF0gJ5sE-a";
    let found = scan(&s, &format!("const cfg = {{ apiKey: \"{key}\" }};\n"));
    assert_eq!(rules(&found), ["google/api_key"]);
}
