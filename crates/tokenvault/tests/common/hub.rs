//! A stand-in of the Hugging Face Hub's `GET /api/whoami-v2` on 127.0.0.1, for tests outside
//! `verify_hf.rs` (rotate, import --shred): tokens it was told about get the Hub's 200 answer for a
//! read token, every other token the Hub's 401 body. It records the bearer tokens it received so a
//! test can tell which values were checked. (Same answers as the fuller stand-in in `verify_hf.rs`.)

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
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
    seen: Arc<Mutex<Vec<String>>>,
}

impl Hub {
    /// Starts the stand-in; `valid` tokens are accepted.
    pub fn start(valid: &[&str]) -> Hub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let valid = Arc::new(Mutex::new(
            valid.iter().map(|s| s.to_string()).collect::<HashSet<_>>(),
        ));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (v, s) = (valid.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (v, s) = (v.clone(), s.clone());
                std::thread::spawn(move || serve(stream, &v, &s));
            }
        });
        Hub { url, valid, seen }
    }

    /// Accept `token` from now on.
    pub fn accept(&self, token: &str) {
        self.valid.lock().unwrap().insert(token.to_owned());
    }

    /// The bearer tokens received, in order.
    pub fn tokens_seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(mut stream: TcpStream, valid: &Mutex<HashSet<String>>, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut token = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("authorization") {
                token = v.trim().trim_start_matches("Bearer ").to_owned();
            }
        }
    }
    seen.lock().unwrap().push(token.clone());
    let whoami = request_line.contains("/api/whoami-v2");
    let (status, body) = if whoami && valid.lock().unwrap().contains(&token) {
        (200, read_token_body(None))
    } else if whoami {
        (401, UNAUTHORIZED.to_owned())
    } else {
        (404, r#"{"error":"Not found"}"#.to_owned())
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}
