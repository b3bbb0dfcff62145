//! The conformance suite every backend passes (keyring-rs's pattern: one behaviour, many stores).
//!
//! A backend's test calls [`run_all`] with a factory that returns a fresh, empty store, and, when the
//! backend persists, a way to open the same storage again as a second handle (as another process
//! would). Each check panics with the name of the rule it broke.

use crate::{Change, Key, Slot, Store};
use tokenvault_core::Secret;

/// A store under test, and optionally a way to open the same storage again.
pub struct Subject {
    pub store: Box<dyn Store>,
    pub reopen: Option<Box<dyn Fn() -> Box<dyn Store>>>,
}

impl Subject {
    pub fn new(store: Box<dyn Store>) -> Self {
        Subject {
            store,
            reopen: None,
        }
    }
}

fn key(s: &str) -> Key {
    Key::parse(s).expect("valid test key")
}

fn secret(s: &str) -> Secret {
    Secret::from_str_copy(s)
}

fn value(store: &dyn Store, k: &Key) -> Option<String> {
    store
        .get(k)
        .unwrap_or_else(|e| panic!("get {k}: {e}"))
        .map(|s| s.expose_secret().to_owned())
}

/// Runs every check, each on a fresh store from `fresh`.
pub fn run_all(fresh: &dyn Fn() -> Subject) {
    type Check = (&'static str, fn(Subject));
    let checks: &[Check] = &[
        ("empty store", empty_store),
        ("set then get", set_then_get),
        ("overwrite", overwrite),
        ("awkward values", awkward_values),
        ("delete", delete),
        ("fields and items are independent", independence),
        ("previous slot", previous_slot),
        ("batch apply", batch_apply),
        ("get_many keeps order", get_many_order),
        ("list", list),
        ("persistence", persistence),
        ("state key", state_key),
    ];
    for (name, check) in checks {
        eprintln!("conformance: {name}");
        check(fresh());
    }
}

fn empty_store(s: Subject) {
    let st = &*s.store;
    assert_eq!(
        value(st, &key("huggingface/token")),
        None,
        "empty store returns None"
    );
    assert!(
        !st.delete(&key("huggingface/token")).expect("delete"),
        "deleting nothing is Ok(false)"
    );
    if let Some(keys) = st.list().expect("list") {
        assert!(keys.is_empty(), "empty store lists nothing: {keys:?}");
    }
    assert!(!st.describe().is_empty());
}

fn set_then_get(s: Subject) {
    let st = &*s.store;
    let k = key("huggingface/token");
    st.set(&k, &secret("hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567"))
        .expect("set");
    assert_eq!(
        value(st, &k).as_deref(),
        Some("hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567")
    );
}

fn overwrite(s: Subject) {
    let st = &*s.store;
    let k = key("github/token");
    st.set(&k, &secret("first")).expect("set");
    st.set(&k, &secret("second")).expect("set");
    assert_eq!(value(st, &k).as_deref(), Some("second"));
    if let Some(keys) = st.list().expect("list") {
        assert_eq!(
            keys.iter().filter(|x| **x == k).count(),
            1,
            "overwrite does not duplicate"
        );
    }
}

/// Stores each `(key, value)`.
fn set_all(st: &dyn Store, pairs: &[(&str, &str)]) {
    for (k, v) in pairs {
        st.set(&key(k), &secret(v)).expect("set");
    }
}

/// Each key holds its value (`what` says why it must, in the failure message).
fn assert_all(st: &dyn Store, pairs: &[(&str, &str)], what: &str) {
    for (k, v) in pairs {
        assert_eq!(value(st, &key(k)).as_deref(), Some(*v), "{k}: {what}");
    }
}

fn awkward_values(s: Subject) {
    let st = &*s.store;
    let cases = [
        ("a/unicode", "tökén-✓-🔑"),
        ("a/spaces", "  leading and trailing  "),
        ("a/newlines", "line1\nline2\r\n"),
        ("a/quotes", "it's \"quoted\" = $HOME `x` \\"),
        ("a/json", "{\"k\":[1,2]}"),
        ("a/empty", ""),
    ];
    set_all(st, &cases);
    let long = "x".repeat(8192);
    st.set(&key("a/long"), &secret(&long)).expect("set long");
    assert_all(st, &cases, "round-trips");
    assert_eq!(value(st, &key("a/long")).map(|v| v.len()), Some(8192));
}

fn delete(s: Subject) {
    let st = &*s.store;
    let a = key("aws/access_key_id");
    let b = key("aws/secret_access_key");
    st.set(&a, &secret("AKIAIOSFODNN7EXAMPLE")).expect("set");
    st.set(&b, &secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))
        .expect("set");
    assert!(st.delete(&a).expect("delete"));
    assert_eq!(value(st, &a), None);
    assert!(
        value(st, &b).is_some(),
        "deleting one field keeps the other"
    );
    assert!(!st.delete(&a).expect("delete again"));
}

fn independence(s: Subject) {
    let st = &*s.store;
    let pairs = [
        ("hf/token", "1"),
        ("hf-work/token", "2"),
        ("hf/token2", "3"),
        ("hf.x/token", "4"),
        ("h/f", "5"),
    ];
    set_all(st, &pairs);
    assert_all(st, &pairs, "is its own entry");
}

fn previous_slot(s: Subject) {
    let st = &*s.store;
    let cur = key("huggingface/token");
    let prev = cur.previous();
    assert_eq!(prev.slot, Slot::Previous);
    st.set(&cur, &secret("new")).expect("set");
    assert_eq!(value(st, &prev), None, "no previous value yet");
    st.set(&prev, &secret("old")).expect("set previous");
    assert_eq!(value(st, &cur).as_deref(), Some("new"));
    assert_eq!(value(st, &prev).as_deref(), Some("old"));
    assert!(st.delete(&prev).expect("delete previous"));
    assert_eq!(
        value(st, &cur).as_deref(),
        Some("new"),
        "deleting previous keeps current"
    );
}

fn batch_apply(s: Subject) {
    let st = &*s.store;
    st.set(&key("x/gone"), &secret("bye")).expect("set");
    st.apply(&[
        Change::Set(key("x/a"), secret("A")),
        Change::Set(key("x/b"), secret("B")),
        Change::Delete(key("x/gone")),
        Change::Delete(key("x/never-existed")),
    ])
    .expect("apply");
    assert_eq!(value(st, &key("x/a")).as_deref(), Some("A"));
    assert_eq!(value(st, &key("x/b")).as_deref(), Some("B"));
    assert_eq!(value(st, &key("x/gone")), None);
}

fn get_many_order(s: Subject) {
    let st = &*s.store;
    st.set(&key("m/one"), &secret("1")).expect("set");
    st.set(&key("m/three"), &secret("3")).expect("set");
    let got = st
        .get_many(&[key("m/three"), key("m/two"), key("m/one")])
        .expect("get_many");
    let got: Vec<Option<String>> = got
        .into_iter()
        .map(|v| v.map(|s| s.expose_secret().to_owned()))
        .collect();
    assert_eq!(got, vec![Some("3".into()), None, Some("1".into())]);
}

fn list(s: Subject) {
    let st = &*s.store;
    let keys = [key("l/a"), key("l/b"), key("l2/a")];
    for k in &keys {
        st.set(k, &secret("v")).expect("set");
    }
    st.set(&keys[0].previous(), &secret("old"))
        .expect("set previous");
    if let Some(mut listed) = st.list().expect("list") {
        listed.sort();
        let mut want = keys.to_vec();
        want.push(keys[0].previous());
        want.sort();
        assert_eq!(listed, want, "list returns exactly the stored keys");
    }
}

fn persistence(s: Subject) {
    let Some(reopen) = s.reopen else { return };
    let k = key("huggingface/token");
    s.store.set(&k, &secret("persisted")).expect("set");
    let second = reopen();
    assert_eq!(
        value(&*second, &k).as_deref(),
        Some("persisted"),
        "a second handle sees the value"
    );
    second
        .set(&key("other/token"), &secret("from-second"))
        .expect("set via second");
    second.delete(&k).expect("delete via second");
    let third = reopen();
    assert_eq!(value(&*third, &k), None, "deletion persisted");
    assert_eq!(
        value(&*third, &key("other/token")).as_deref(),
        Some("from-second")
    );
    assert_eq!(
        value(&*s.store, &key("other/token")).as_deref(),
        Some("from-second"),
        "the first handle sees writes made through another handle"
    );
}

/// The state key is made once, on request, and then always read back the same (through another
/// handle too); it is not a value (`list` does not show it) and leaves the values alone.
fn state_key(s: Subject) {
    let st = &*s.store;
    let k = key("huggingface/token");
    st.set(&k, &secret("kept")).expect("set");
    let before = st.state_key(false).expect("state_key(false)");
    let made = st.state_key(true).expect("state_key(true)").expect("a key");
    match &before {
        None => assert!(made.created, "a key made now says so"),
        Some(b) => {
            assert!(!made.created, "an existing key is not made again");
            assert!(
                b.to_secret() == made.to_secret(),
                "the existing key is kept"
            );
        }
    }
    let again = st.state_key(true).expect("again").expect("a key");
    assert!(!again.created, "made once only");
    assert!(
        again.to_secret() == made.to_secret(),
        "the same key each time"
    );
    let read = st.state_key(false).expect("read").expect("a key");
    assert!(read.to_secret() == made.to_secret());
    assert_eq!(value(st, &k).as_deref(), Some("kept"), "values untouched");
    if let Some(listed) = st.list().expect("list") {
        assert!(
            listed.iter().all(|l| l.item.as_str() == "huggingface"),
            "the state key is not listed as a value: {listed:?}"
        );
    }
    if let Some(reopen) = s.reopen {
        let second = reopen();
        let seen = second.state_key(false).expect("second").expect("a key");
        assert!(
            seen.to_secret() == made.to_secret(),
            "another handle reads the same key"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;

    #[test]
    fn memory_store_conforms() {
        run_all(&|| Subject::new(Box::new(MemoryStore::new())));
    }

    #[test]
    fn memory_store_can_be_told_to_fail() {
        let st = MemoryStore::new();
        st.fail_next("disk on fire");
        let e = st.get(&key("a/b")).unwrap_err();
        assert!(e.to_string().contains("disk on fire"));
        assert!(st.get(&key("a/b")).unwrap().is_none());
    }
}
