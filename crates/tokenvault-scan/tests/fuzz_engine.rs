//! The fuzz target's invariants on stable Rust: a bounded run of random inputs built from token
//! fragments, separators and noise (see `tokenvault_scan::fuzzing`). `cargo +nightly fuzz run engine`
//! explores further (scripts/fuzz-scan). The seed and count can be set with TV_FUZZ_SEED / TV_FUZZ_ITERS.

// A failed unwrap is a failed test; and a test may read its knobs from the environment (the
// engine it drives may not).
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use tokenvault_scan::fuzzing;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "hf_",
    "api_org_",
    "AKIA",
    "ghp_",
    "github_pat_",
    "sk-",
    "T3BlbkFJ",
    "sk-ant-api03-",
    "AIza",
    "xoxb-",
    "sk_live_",
    "MgC",
    "token",
    "TOKEN",
    "_key",
    "secret",
    "password",
    " = ",
    ": ",
    "\"",
    "'",
    "\n",
    "\r\n",
    " ",
    "\t",
    "tokenvault:allow",
    "aws_secret_access_key=",
    "fuzz-vault-value-Q7x!",
    "ZnV6ei12YXVsdC12YWx1ZS1RN3gh",
    "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567",
    "\u{e9}",
    "\0",
    "=",
    "/",
    "+",
    "-",
    "_",
];

#[test]
fn random_inputs_keep_the_engine_invariants() {
    let seed: u64 = std::env::var("TV_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234_abcd);
    let iters: usize = std::env::var("TV_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let scanner = fuzzing::scanner();
    let mut rng = XorShift(seed | 1);
    let mut data = Vec::new();
    for _ in 0..iters {
        data.clear();
        let parts = rng.below(40);
        for _ in 0..parts {
            match rng.below(3) {
                0 => data.extend_from_slice(PIECES[rng.below(PIECES.len())].as_bytes()),
                1 => {
                    for _ in 0..rng.below(40) {
                        let c = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                            [rng.below(62)];
                        data.push(c);
                    }
                }
                _ => data.push(rng.next() as u8),
            }
        }
        fuzzing::check(&scanner, &data);
    }
}
