//! Engine-only throughput on one file, single thread (no walk, no output): where does time go?
//! `cargo run --release -p tokenvault-scan --example engine_bench -- FILE`
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;
use tokenvault_core::Catalogue;
use tokenvault_scan::{RuleSet, Scanner};

fn main() {
    let path = std::env::args().nth(1).expect("FILE");
    let data = std::fs::read(path).unwrap();
    let cat = Catalogue::builtin();
    for (name, rules) in [
        ("providers only", RuleSet::providers(&cat).unwrap()),
        (
            "providers + generic",
            RuleSet::from_catalogue(&cat).unwrap(),
        ),
    ] {
        let s = Scanner::new(rules, None).unwrap();
        let mut scratch = s.scratch();
        let t = Instant::now();
        let mut n = 0;
        for _ in 0..3 {
            let mut out = Vec::new();
            s.scan_with(&mut scratch, &data, Default::default(), &mut out);
            n = out.len();
        }
        let secs = t.elapsed().as_secs_f64() / 3.0;
        println!(
            "{name}: {n} findings, {:.0} MB/s",
            data.len() as f64 / 1e6 / secs
        );
    }
    let s = Scanner::new(RuleSet::from_catalogue(&cat).unwrap(), None).unwrap();
    let t = Instant::now();
    let hits = s.keyword_hits(&data);
    let secs = t.elapsed().as_secs_f64();
    println!(
        "keyword automaton alone: {hits} hits, {:.0} MB/s",
        data.len() as f64 / 1e6 / secs
    );
}
