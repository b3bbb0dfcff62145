//! A stand-in of the Hugging Face Hub's `GET /api/whoami-v2` on 127.0.0.1, for tests outside
//! `verify_hf.rs` (rotate, import --shred): tokens it was told about get the Hub's 200 answer for a
//! read token, every other token the Hub's 401 body. It records the bearer tokens it received so a
//! test can tell which values were checked. (Same answers as the fuller stand-in in `verify_hf.rs`.)

use super::standin::{start, Seen, StandIn};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

pub const UNAUTHORIZED: &str = r#"{"error":"Invalid credentials in Authorization header"}"#;

/// The Hub's whoami-v2 answer for a read token; `expires_at` adds the token's expiry.
pub fn read_token_body(expires_at: Option<&str>) -> String {
    let expires = expires_at
        .map(|e| format!(r#","expiresAt":"{e}""#))
        .unwrap_or_default();
    format!(
        r#"{{"type":"user","id":"6475c3b2a1b2c3d4e5f60718","name":"alice","fullname":"Alice Example","orgs":[],"auth":{{"type":"access_token","accessToken":{{"displayName":"laptop-read","role":"read","createdAt":"2025-03-04T05:06:07.000Z"{expires}}}}}}}"#
    )
}

pub struct Hub {
    pub url: String,
    valid: Arc<Mutex<HashSet<String>>>,
    stand_in: StandIn,
}

impl Hub {
    /// Starts the stand-in; `valid` tokens are accepted.
    pub fn start(valid: &[&str]) -> Hub {
        let valid = Arc::new(Mutex::new(
            valid.iter().map(|s| s.to_string()).collect::<HashSet<_>>(),
        ));
        let v = valid.clone();
        let stand_in = start(Arc::new(move |req: &Seen| {
            let json = |status, body: String| (status, vec![], body);
            if !req.target.contains("/api/whoami-v2") {
                return json(404, r#"{"error":"Not found"}"#.to_owned());
            }
            if v.lock().unwrap().contains(&bearer(req)) {
                json(200, read_token_body(None))
            } else {
                json(401, UNAUTHORIZED.to_owned())
            }
        }));
        Hub {
            url: stand_in.url.clone(),
            valid,
            stand_in,
        }
    }

    /// Accept `token` from now on.
    pub fn accept(&self, token: &str) {
        self.valid.lock().unwrap().insert(token.to_owned());
    }

    /// The bearer tokens received, in order.
    pub fn tokens_seen(&self) -> Vec<String> {
        self.stand_in.requests().iter().map(bearer).collect()
    }
}

/// The request's bearer token ("" without one).
fn bearer(req: &Seen) -> String {
    req.header("authorization")
        .unwrap_or("")
        .trim_start_matches("Bearer ")
        .to_owned()
}
