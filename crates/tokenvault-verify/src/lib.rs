//! tokenvault-verify: live verification — does the provider accept this credential, and whose is it?
//!
//! Built like the scan crate: a pure part and one I/O part.
//!
//! - Pure (no network, environment, file or clock access; clippy's `disallowed-methods` enforces
//!   it): [`checks`] knows every live check — the request each sends and what each provider's
//!   answer means ([`shape`] reads the common shape, `providers` holds per-provider code). What
//!   has a common shape is catalogue data (`[provider.check]` in
//!   `rules/providers.toml`: base URL, path, where the credential goes, headers, the JSON fields
//!   for account, kind, details, scopes, expiry and error text, read through
//!   `tokenvault_core::Provider::check`); per-provider code is kept only where the shape truly
//!   differs (Hugging Face's typed [`whoami`], GitHub's rate-limit and SAML answers, Slack's
//!   `ok:false`, Stripe's key modes, AWS STS's XML). [`outcome`] turns every HTTP or network
//!   outcome into an explanation with a next step. No function here receives a credential, so no
//!   message can contain one.
//! - I/O: [`http`] is the one blocking HTTP client for vault values (ureq + rustls; timeouts,
//!   proxies from the environment, no redirects), used by the live checks and by the binary's MCP
//!   bridge; [`aws_sign`] signs STS requests with SigV4 beside it.
//!
//! The vault-level part (reusing a recent result, recording answers in the index) stays in the
//! binary's `services::verify`.
#![forbid(unsafe_code)]

pub mod aws_sign;
pub mod checks;
pub mod http;
pub mod outcome;
mod providers;
pub mod shape;
pub mod whoami;

pub use checks::{Account, Answer, Check, CheckContext, Credential, Identity, RequestPlan};
pub use outcome::{explain_network, interpret_hf, Explanation, LiveOutcome, NetworkFailure};
pub use providers::xml_text;
pub use whoami::{parse_whoami, ParseError, Scope, TokenInfo, TokenRole, WhoAmI};
