//! The bodies of the cargo-fuzz targets for this crate's parsers (`fuzz/fuzz_targets/*.rs` are
//! three-line wrappers), also run on stable by the corpus replay test
//! (`crates/tokenvault-store/tests/fuzz_corpora.rs`), so a crash once found stays fixed.
//!
//! Each function takes arbitrary bytes, must never panic on its own, and panics when one of the
//! parser's invariants does not hold. Not part of the API.

use crate::audit::{ChainHead, Entry, Record, Verifier};
use crate::mcp::clients::{ClientId, Format};
use crate::mcp::config::{ConfigError, Document, Op};
use crate::{dotenv, gitcred, sse, template, Catalogue};
use serde_json::Value;

/// `dotenv::parse`; what it reads, written back with `format_dotenv`, reads the same, and
/// `replace_values` on every entry changes exactly those values.
pub fn dotenv(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(entries) = dotenv::parse(text) else {
        return;
    };
    let pairs = |e: &[dotenv::DotenvEntry]| -> Vec<(String, String)> {
        e.iter().map(|e| (e.key.clone(), e.value.clone())).collect()
    };
    let written: String = entries
        .iter()
        .map(|e| dotenv::format_dotenv(&e.key, &e.value))
        .collect();
    match dotenv::parse(&written) {
        Ok(again) => assert_eq!(pairs(&entries), pairs(&again), "round trip of\n{written}"),
        Err(e) => panic!("format_dotenv wrote what parse refuses ({e}):\n{written}"),
    }
    const REF: &str = "tv://fuzz/value";
    let replacements: Vec<(usize, &str)> = entries.iter().map(|e| (e.line, REF)).collect();
    let replaced = match dotenv::replace_values(text, &replacements) {
        Ok(r) => r,
        Err(e) => panic!("replace_values refuses lines parse read: {e}"),
    };
    match dotenv::parse(&replaced) {
        Ok(after) => {
            let want: Vec<(String, String, usize)> = entries
                .iter()
                .map(|e| (e.key.clone(), REF.to_owned(), e.line))
                .collect();
            let got: Vec<(String, String, usize)> = after
                .into_iter()
                .map(|e| (e.key, e.value, e.line))
                .collect();
            assert_eq!(want, got, "after replace_values:\n{replaced}");
        }
        Err(e) => panic!("replace_values wrote what parse refuses ({e}):\n{replaced}"),
    }
}

/// The first byte picks the format and the client; the rest is the config text. A parsed
/// document gives back its exact text, also after an edit with no ops; an edit that sets a
/// member gives text that parses again and has that member.
pub fn mcp_config(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let format = [Format::Json, Format::Jsonc, Format::Toml][usize::from(sel % 3)];
    let client = ClientId::ALL[usize::from(sel / 3) % ClientId::ALL.len()];
    let Ok(mut doc) = Document::parse(format, text) else {
        return;
    };
    let original = doc.to_text();
    if !text.trim().is_empty() {
        assert_eq!(original, text, "parse and to_text changed the text");
    }
    for c in ClientId::ALL {
        let _ = doc.entries(c);
    }
    let Ok(entries) = doc.entries(client) else {
        return;
    };
    for e in entries.iter().take(4) {
        match doc.edit_server(&e.location, &e.name, &[]) {
            Ok(()) => assert_eq!(
                doc.to_text(),
                original,
                "an edit with no ops changed the text"
            ),
            Err(err) => assert!(
                !e.value.is_object(),
                "an edit with no ops of a listed server failed: {err}"
            ),
        }
    }
    let Some(e) = entries.iter().find(|e| e.value.is_object()) else {
        return;
    };
    let env_ok = e.value.get("env").is_none_or(Value::is_object);
    let value = Value::String("tv://fuzz/token".into());
    let set = Op::Set(vec!["env".into(), "FUZZ_TOKEN".into()], value.clone());
    let remove = Op::Remove(vec!["url".into()]);
    match doc.edit_server(&e.location, &e.name, &[set, remove]) {
        Ok(()) => {}
        // A member named twice is refused, not half-edited.
        Err(ConfigError::DuplicateMember { .. }) => return,
        Err(err) => panic!("editing a listed server failed: {err}"),
    }
    let edited = doc.to_text();
    let again = match Document::parse(format, &edited) {
        Ok(d) => d,
        Err(err) => panic!("an edit wrote what parse refuses ({err}):\n{edited}"),
    };
    let Ok(after) = again.entries(client) else {
        panic!("the edited document's servers cannot be listed:\n{edited}");
    };
    let Some(server) = after
        .iter()
        .find(|a| a.location == e.location && a.name == e.name)
    else {
        panic!("the edited server is gone:\n{edited}");
    };
    if env_ok {
        assert_eq!(
            server.value.get("env").and_then(|v| v.get("FUZZ_TOKEN")),
            Some(&value),
            "the set member is not there:\n{edited}"
        );
    }
    assert!(
        server.value.get("url").is_none(),
        "removed member still there:\n{edited}"
    );
    assert_eq!(
        after.len(),
        entries.len(),
        "servers added or lost:\n{edited}"
    );
}

/// `template::parse`: errors name lines of the text; a text without placeholders renders to
/// itself; the references are distinct.
pub fn template(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.matches('\n').count() + 1;
    match template::parse(text) {
        Ok(segments) => {
            let refs = template::references(&segments);
            for (i, r) in refs.iter().enumerate() {
                assert!(!refs[..i].contains(r), "repeated reference");
            }
            for s in &segments {
                if let template::Segment::Placeholder { line, .. } = s {
                    assert!((1..=lines).contains(line), "line {line} of {lines}");
                }
            }
            let blank = template::render(&segments, |_| Some(String::new()));
            match blank {
                Some(out) => assert!(out.len() <= text.len()),
                None => panic!("render refused an answer for every placeholder"),
            }
            if refs.is_empty() {
                assert_eq!(
                    template::render(&segments, |_| None).as_deref(),
                    Some(text),
                    "a text without placeholders changed"
                );
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in &errors {
                assert!((1..=lines).contains(&e.line), "line {} of {lines}", e.line);
            }
        }
    }
}

/// Audit log lines: every record that parses writes back as one line that parses to the same
/// record; the verifier never panics and counts every line of a chain it accepts; the entries
/// of the parsed records, sealed into a new chain, verify.
pub fn audit(data: &[u8]) {
    let mut verifier = Verifier::new();
    let mut broken = false;
    let mut lines = 0u64;
    let mut entries = Vec::new();
    for raw in data.split_inclusive(|b| *b == b'\n') {
        if let Ok(record) = Record::parse(raw) {
            let line = match record.to_line() {
                Ok(l) => l,
                Err(e) => panic!("a parsed record does not serialise: {e}"),
            };
            assert!(!line.contains('\n'), "a record line holds a newline");
            match Record::parse(line.as_bytes()) {
                Ok(back) => assert_eq!(back, record, "record round trip"),
                Err(e) => panic!("a written record does not parse: {e}"),
            }
            entries.push(Entry {
                time: record.time,
                action: record.action,
                references: record.references,
                backend: record.backend,
                outcome: record.outcome,
                pid: record.pid,
                ppid: record.ppid,
                parent_name: record.parent_name,
                parent_cmdline: record.parent_cmdline,
                generation: record.generation,
                actor: record.actor,
            });
        }
        let _ = ChainHead::after_line(raw);
        if !broken {
            lines += 1;
            broken = verifier.feed(raw).is_err();
        }
    }
    if !broken {
        if let Ok(summary) = verifier.finish() {
            assert_eq!(summary.entries, lines, "entries counted");
        }
    }
    let mut head = ChainHead::genesis();
    let mut fresh = Verifier::new();
    for entry in entries {
        let line = match head.seal(entry).to_line() {
            Ok(l) => l,
            Err(e) => panic!("a sealed record does not serialise: {e}"),
        };
        head = ChainHead::after_line(line.as_bytes());
        if let Err(e) = fresh.feed(format!("{line}\n").as_bytes()) {
            panic!("a freshly sealed chain does not verify: {e}");
        }
    }
    if let Err(e) = fresh.finish() {
        panic!("a freshly sealed chain does not verify: {e}");
    }
}

/// `Catalogue::parse` of a user catalogue, then every lookup on it and on the built-in one
/// extended with it.
pub fn catalogue(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(catalogue) = Catalogue::parse(text, "fuzz.toml") else {
        return;
    };
    let probes = [
        "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH",
        "ghp_x",
        "",
        "HF_TOKEN",
    ];
    for p in catalogue.providers() {
        assert!(catalogue.get(&p.id).is_some());
        for f in &p.fields {
            for v in probes
                .iter()
                .copied()
                .chain(f.examples_match.iter().map(String::as_str))
            {
                let _ = catalogue.check_format(&p.id, &f.name, v);
            }
        }
    }
    let mut all = Catalogue::builtin_shared().clone();
    all.extend(catalogue);
    for v in probes {
        let _ = all.detect_value(v);
        let _ = all.detect_env(v);
    }
}

/// Limit of the SSE parser in [`sse`] (small, so the limit is reached).
const SSE_MAX: usize = 4096;

fn sse_run<'a>(
    chunks: impl Iterator<Item = &'a [u8]>,
) -> (Vec<sse::Event>, bool, Option<String>, Option<u64>) {
    let mut parser = sse::Parser::new(SSE_MAX);
    let mut events = Vec::new();
    let mut failed = false;
    for c in chunks {
        if parser.feed(c, |e| events.push(e)).is_err() {
            failed = true;
            break;
        }
    }
    (
        events,
        failed,
        parser.last_id().map(str::to_owned),
        parser.retry_ms(),
    )
}

/// The first byte sets a read size (1..=16); the rest is the stream. Fed whole or in reads of
/// that size (the first at least 3 bytes, so a BOM is not split), the stream gives the same
/// events, ID and retry, and the same verdict on the memory bound; no event is over the bound.
pub fn sse(data: &[u8]) {
    let Some((&sel, stream)) = data.split_first() else {
        return;
    };
    let size = 1 + usize::from(sel % 16);
    let whole = sse_run(std::iter::once(stream));
    let first = stream.len().min(size.max(3));
    let split = sse_run(std::iter::once(&stream[..first]).chain(stream[first..].chunks(size)));
    if !whole.1 && !split.1 {
        assert_eq!(whole, split, "reads of {size} bytes");
    } else {
        assert_eq!(
            whole.1, split.1,
            "memory bound verdict, reads of {size} bytes"
        );
    }
    for e in whole.0.iter().chain(split.0.iter()) {
        assert!(e.data.len() <= SSE_MAX, "an event over the bound");
    }
}

/// A git credential request, then (after a 0xFF byte, if any) a password. The answer to the
/// request, read the way git reads it (a trailing `\r` dropped from each line), gives exactly
/// the username and password we meant, on two lines.
pub fn gitcred(data: &[u8]) {
    let (request, password) = match data.iter().position(|b| *b == 0xFF) {
        Some(i) => (&data[..i], String::from_utf8_lossy(&data[i + 1..])),
        None => (data, "ghp_fuzzvalue".into()),
    };
    let req = match gitcred::read_request(request) {
        Ok(r) => r,
        Err(gitcred::RequestError::TooLarge) => {
            assert!(request.len() as u64 > gitcred::MAX_REQUEST);
            return;
        }
        Err(e) => panic!("reading from memory failed: {e}"),
    };
    let _ = gitcred::rule_for(req.host.as_deref().unwrap_or(""));
    let Some(rule) = gitcred::rule_for("github.com") else {
        panic!("github.com has no rule");
    };
    let Some(answer) = gitcred::answer(&req, &rule, &password) else {
        return;
    };
    // The request's username goes back when the protocol can carry it.
    let username = req
        .username
        .as_deref()
        .filter(|u| !u.is_empty() && !u.contains(['\n', '\r', '\0']))
        .unwrap_or(rule.username);
    let lines: Vec<&str> = answer
        .strip_suffix('\n')
        .unwrap_or("")
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let want = [
        format!("username={username}"),
        format!("password={password}"),
    ];
    assert_eq!(lines, want, "the answer as git reads it");
    assert!(!answer.contains('\0'), "NUL in the answer");
}
