//! AWS Signature Version 4 for the STS live check, through `aws-sigv4` — the AWS SDK for Rust's
//! own signer, used on its own (no SDK client, no credential chain, no config files).
//!
//! [`sign`] is a function of the request parts, the credentials and the time, so it is tested with
//! a fixed clock against botocore's signer (unit test below with values botocore produced; the
//! integration test `verify_providers.rs` runs botocore itself). The credentials are copied into
//! `aws-credential-types` (which zeroizes them on drop) for the duration of one signature; the
//! headers that carry them (the `Authorization` header names the key id, `x-amz-security-token` is
//! the session token) are marked sensitive so that no Debug output of the request shows them.

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign as sigv4_sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use std::time::SystemTime;
use tokenvault_core::Secret;

/// The parts of the request that are signed.
pub struct RequestParts<'a> {
    pub method: &'a str,
    pub url: &'a str,
    /// Headers sent with the request and covered by the signature (`host` is added from the URL).
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    pub region: &'a str,
    /// The signing name of the service (`sts`).
    pub service: &'a str,
}

/// The key pair, and the session token of temporary credentials.
pub struct AwsCredentials<'a> {
    pub access_key_id: &'a Secret,
    pub secret_access_key: &'a Secret,
    pub session_token: Option<&'a Secret>,
}

/// A header the signature adds to the request.
pub struct SignedHeader {
    pub name: &'static str,
    pub value: zeroize::Zeroizing<String>,
    /// True for headers that carry credentials: never shown.
    pub sensitive: bool,
}

/// Why signing failed. Built from aws-sigv4's error kind, which never includes the credentials.
#[derive(Debug, thiserror::Error)]
#[error("could not sign the request: {0}")]
pub struct SignError(String);

/// Signs the request at `time` and returns the headers to add: `x-amz-date`, `authorization`,
/// and `x-amz-security-token` for temporary credentials.
pub fn sign(
    parts: &RequestParts<'_>,
    creds: &AwsCredentials<'_>,
    time: SystemTime,
) -> Result<Vec<SignedHeader>, SignError> {
    let identity = Credentials::new(
        creds.access_key_id.expose_secret(),
        creds.secret_access_key.expose_secret(),
        creds.session_token.map(|t| t.expose_secret().to_owned()),
        None,
        "tokenvault",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(parts.region)
        .name(parts.service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| SignError(e.to_string()))?
        .into();
    let request = SignableRequest::new(
        parts.method,
        parts.url,
        parts.headers.iter().copied(),
        SignableBody::Bytes(parts.body),
    )
    .map_err(|e| SignError(e.to_string()))?;
    let (instructions, _signature) = sigv4_sign(request, &params)
        .map_err(|e| SignError(e.to_string()))?
        .into_parts();
    let (headers, _params) = instructions.into_parts();
    Ok(headers
        .into_iter()
        .map(|h| SignedHeader {
            name: h.name(),
            value: zeroize::Zeroizing::new(h.value().to_owned()),
            sensitive: h.sensitive() || h.name().eq_ignore_ascii_case("authorization"),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// 2024-01-02T03:04:05Z.
    fn fixed_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_704_164_645)
    }

    fn parts() -> RequestParts<'static> {
        RequestParts {
            method: "POST",
            url: "https://sts.us-east-1.amazonaws.com/",
            headers: &[(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            body: b"Action=GetCallerIdentity&Version=2011-06-15",
            region: "us-east-1",
            service: "sts",
        }
    }

    fn header<'a>(h: &'a [SignedHeader], name: &str) -> Option<&'a str> {
        h.iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The expected values were produced by botocore 1.43 (`tests/aws/sigv4_botocore.py`) for the
    /// same request, credentials and time.
    #[test]
    fn matches_botocore_for_a_fixed_time() {
        let (id, secret) = (
            Secret::from_str_copy("AKIDEXAMPLE"),
            Secret::from_str_copy("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        );
        let creds = AwsCredentials {
            access_key_id: &id,
            secret_access_key: &secret,
            session_token: None,
        };
        let h = sign(&parts(), &creds, fixed_time()).unwrap();
        assert_eq!(header(&h, "x-amz-date"), Some("20240102T030405Z"));
        assert_eq!(
            header(&h, "authorization"),
            Some("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=308234ee6460d442c8ea19372e87a5ec1ab70bbdc9b174abbbbeb4716a6e1f87")
        );
        assert!(h.iter().any(|h| h.name == "authorization" && h.sensitive));
        assert_eq!(header(&h, "x-amz-security-token"), None);

        let token = Secret::from_str_copy("IQoJb3JpZ2luX2VjEXAMPLETOKEN/with+slash=");
        let creds = AwsCredentials {
            session_token: Some(&token),
            ..creds
        };
        let h = sign(&parts(), &creds, fixed_time()).unwrap();
        assert_eq!(
            header(&h, "authorization"),
            Some("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=656c0dc0c860726b9c8703c6247bed5f71926d5916a8937455a2c33d02b2dd26")
        );
        assert_eq!(
            header(&h, "x-amz-security-token"),
            Some("IQoJb3JpZ2luX2VjEXAMPLETOKEN/with+slash=")
        );
        assert!(h
            .iter()
            .any(|h| h.name == "x-amz-security-token" && h.sensitive));
    }

    #[test]
    fn a_bad_url_is_an_error_without_the_credentials() {
        let (id, secret) = (
            Secret::from_str_copy("AKIDEXAMPLE"),
            Secret::from_str_copy("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        );
        let creds = AwsCredentials {
            access_key_id: &id,
            secret_access_key: &secret,
            session_token: None,
        };
        let mut p = parts();
        p.url = "not a url";
        let e = sign(&p, &creds, fixed_time()).err().unwrap().to_string();
        assert!(
            !e.contains("AKIDEXAMPLE") && !e.contains("EXAMPLEKEY"),
            "{e}"
        );
    }
}
