//! The keychain backend against a real Secret Service: a private `dbus-daemon` with a real,
//! unlocked `gnome-keyring-daemon` per test (tokenvault-testkit), plus `secret-tool` for interop.
//!
//! libdbus takes its session bus from the environment once per process, and the store offers no
//! other way to pick a bus, so each test runs its store half in a child process (the same test
//! binary, re-run for that one test by `testkit::child`) whose environment is exactly its
//! session's — the minimal environment an MCP client gives a server. The parent half starts the
//! session and works on it with `secret-tool`/D-Bus before and after. Nothing here is skipped: a
//! session that cannot start fails the test with the reason.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![cfg(all(unix, not(target_os = "macos")))]

use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokenvault_core::Secret;
use tokenvault_store::conformance::{run_all, Subject};
use tokenvault_store::keychain::{session_bus_fallback, KeychainStore};
use tokenvault_store::{BackendKind, Key, Store, StoreError};
use tokenvault_testkit::{child, KeyringSession};

const HF: &str = "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567";

fn start() -> KeyringSession {
    KeyringSession::start()
        .unwrap_or_else(|e| panic!("cannot start a Secret Service for this test: {e}"))
}

fn key(s: &str) -> Key {
    Key::parse(s).expect("valid key")
}

fn value(store: &dyn Store, k: &Key) -> Option<String> {
    store
        .get(k)
        .unwrap_or_else(|e| panic!("get {k}: {e}"))
        .map(|s| s.expose_secret().to_owned())
}

/// Runs the child half of `test` in `env`, echoing its output (shown by cargo on failure).
fn run_child(test: &str, env: &[(String, String)]) {
    let started = Instant::now();
    let output = child::run(test, env);
    eprintln!("{output}child `{test}` took {:?}", started.elapsed());
}

/// What `secret-tool search --all ATTRS` finds: one map per item from stdout (`label`, `secret`,
/// …), and the `attribute.NAME = VALUE` lines, which it writes to stderr. The two streams cannot be
/// matched up line by line, so callers search narrowly enough to find one item when they check
/// attributes.
fn search(session: &KeyringSession, attrs: &[&str]) -> (Vec<HashMap<String, String>>, Vec<String>) {
    let mut args = vec!["search", "--all"];
    args.extend_from_slice(attrs);
    let out = session.secret_tool(&args, None);
    let mut items = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if line.starts_with("[/") {
            items.push(HashMap::new());
        } else if let (Some((k, v)), Some(item)) = (line.split_once(" = "), items.last_mut()) {
            item.insert(k.to_owned(), v.to_owned());
        }
    }
    let mut attributes: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("attribute."))
        .map(str::to_owned)
        .collect();
    attributes.sort();
    (items, attributes)
}

/// Prints an error as the binary would, so a test log shows the exact wording users get.
fn show(what: &str, e: &StoreError) {
    eprintln!(
        "{what}: error: {e}\n{what}: hint: {}",
        e.hint().unwrap_or_default()
    );
}

/// The usual shape of a test here: in the child process, `store_half` (the store on the test's
/// session) and `None`; in the parent, a fresh keyring session with the child half run on it,
/// returned for what the parent checks after.
fn on_a_keyring(test: &str, store_half: impl FnOnce()) -> Option<KeyringSession> {
    if child::is_child(test) {
        store_half();
        return None;
    }
    let session = start();
    run_child(test, &session.env());
    Some(session)
}

/// Deletes every tokenvault entry, so each conformance check starts from an empty store.
fn wipe(store: &KeychainStore) {
    let keys = store
        .list()
        .expect("list")
        .expect("the Secret Service lists");
    for k in keys {
        store
            .delete(&k)
            .unwrap_or_else(|e| panic!("delete {k}: {e}"));
    }
}

#[test]
fn conformance_suite() {
    on_a_keyring("conformance_suite", || {
        let fresh = || {
            let store = KeychainStore::new();
            wipe(&store);
            Subject {
                store: Box::new(store),
                reopen: Some(Box::new(|| {
                    Box::new(KeychainStore::new()) as Box<dyn Store>
                })),
            }
        };
        run_all(&fresh);
    });
}

#[test]
fn probe_and_describe_on_a_live_session() {
    on_a_keyring("probe_and_describe_on_a_live_session", || {
        let store = KeychainStore::new();
        store.probe().expect("probe on a live, unlocked keyring");
        assert_eq!(store.kind(), BackendKind::Keychain);
        let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap();
        assert!(store.describe().contains(&bus), "{}", store.describe());
    });
}

/// The attributes are a public contract: `secret-tool search service tokenvault` finds what we
/// store, with exactly the documented attributes and label, and a second `set` replaces the item.
#[test]
fn secret_tool_finds_what_we_store() {
    let Some(session) = on_a_keyring("secret_tool_finds_what_we_store", || {
        let store = KeychainStore::new();
        let k = key("huggingface/token");
        store.set(&k, &Secret::from_str_copy("first")).unwrap();
        store.set(&k, &Secret::from_str_copy(HF)).unwrap();
        store
            .set(&k.previous(), &Secret::from_str_copy("older"))
            .unwrap();
    }) else {
        return;
    };

    let (all, _) = search(&session, &["service", "tokenvault"]);
    assert_eq!(
        all.len(),
        2,
        "one item per slot; the second set replaced the first: {all:?}"
    );

    let (current, attributes) = search(&session, &["service", "tokenvault", "slot", "current"]);
    assert_eq!(current.len(), 1, "{current:?}");
    assert_eq!(current[0]["label"], "tokenvault: huggingface/token");
    assert_eq!(current[0]["secret"], HF);
    assert_eq!(
        attributes,
        [
            "attribute.field = token",
            "attribute.item = huggingface",
            "attribute.service = tokenvault",
            "attribute.slot = current",
        ],
        "exactly the documented attributes"
    );

    let (previous, attributes) = search(&session, &["service", "tokenvault", "slot", "previous"]);
    assert_eq!(previous.len(), 1, "{previous:?}");
    assert_eq!(
        previous[0]["label"],
        "tokenvault: huggingface/token (previous)"
    );
    assert_eq!(previous[0]["secret"], "older");
    assert!(
        attributes.contains(&"attribute.slot = previous".to_owned()),
        "{attributes:?}"
    );

    let out = session.lookup_tokenvault("huggingface", "token", "current");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        out.stdout,
        HF.as_bytes(),
        "lookup returns exactly the value, no newline added"
    );
}

/// Values stored by `secret-tool store` under our attributes are read back exactly as stored:
/// without a newline when written with printf, with the newline `echo` adds otherwise (we never
/// strip). Entries with our service but invalid names are skipped by `list`.
#[test]
fn we_read_what_secret_tool_stores() {
    if child::is_child("we_read_what_secret_tool_stores") {
        let store = KeychainStore::new();
        assert_eq!(
            value(&store, &key("huggingface/token")).as_deref(),
            Some(HF)
        );
        assert_eq!(
            value(&store, &key("github/token")).as_deref(),
            Some("ghp_with_newline\n"),
            "the stored trailing newline is returned, not stripped"
        );
        let mut listed = store.list().unwrap().expect("the Secret Service lists");
        listed.sort();
        assert_eq!(listed, vec![key("github/token"), key("huggingface/token")]);
        return;
    }
    let session = start();
    let store =
        |item: &str, value: &str| session.store_tokenvault("by hand", item, "token", &[], value);
    store("huggingface", HF); // as `printf %s "$TOKEN" | secret-tool store …`
    store("github", "ghp_with_newline\n"); // as `echo "$TOKEN" | secret-tool store …`
    store("Not A Name", "ignored"); // ours by service, but not a valid item name
    let out = session.secret_tool(
        &[
            "store",
            "--label=no slot",
            "service",
            "tokenvault",
            "item",
            "noslot",
            "field",
            "token",
        ],
        Some("ignored too"),
    );
    assert!(out.status.success(), "{out:?}");
    run_child("we_read_what_secret_tool_stores", &session.env());
}

/// The minimal environment of an MCP server: no `DBUS_SESSION_BUS_ADDRESS`, only
/// `XDG_RUNTIME_DIR`, whose `bus` socket is the session bus.
#[test]
fn falls_back_to_the_runtime_dir_bus() {
    if child::is_child("falls_back_to_the_runtime_dir_bus") {
        assert!(std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none());
        let runtime = std::env::var("XDG_RUNTIME_DIR").unwrap();
        assert_eq!(
            session_bus_fallback(),
            Some(format!("unix:path={runtime}/bus")),
            "the address the binary sets at start-up"
        );
        let store = KeychainStore::new();
        store.probe().expect("probe through $XDG_RUNTIME_DIR/bus");
        store
            .set(&key("huggingface/token"), &Secret::from_str_copy(HF))
            .unwrap();
        assert_eq!(
            value(&store, &key("huggingface/token")).as_deref(),
            Some(HF)
        );
        return;
    }
    let session = start();
    assert_eq!(
        session.bus_address().split(',').next(),
        Some(format!("unix:path={}/bus", session.runtime_dir().display()).as_str())
    );
    let env: Vec<(String, String)> = session
        .env()
        .into_iter()
        .filter(|(k, _)| k != "DBUS_SESSION_BUS_ADDRESS")
        .collect();
    run_child("falls_back_to_the_runtime_dir_bus", &env);
    // It went to this session's keyring, not to some other bus.
    let out = session.lookup_tokenvault("huggingface", "token", "current");
    assert_eq!(out.stdout, HF.as_bytes(), "{out:?}");
}

/// A Secret Service the store cannot use, and what the store must say: every operation fails
/// with the same kind of error, naming the cause and the way out, within a bound, with no prompt.
struct Unusable {
    /// The session the child half gets.
    session: Setup,
    /// The operations tried (`probe`, `get`, `set`, `delete`, `list`).
    ops: &'static [&'static str],
    /// `Locked` rather than `Unavailable`.
    locked: bool,
    /// What the error and its hint must say.
    says: &'static [&'static str],
    hint_says: &'static [&'static str],
    /// How long the store may take for all of them, if bounded here.
    within: Option<Duration>,
}

#[derive(Clone, Copy)]
enum Setup {
    /// A session bus with no Secret Service on it.
    NoKeyring,
    /// No `DBUS_SESSION_BUS_ADDRESS` and no `$XDG_RUNTIME_DIR/bus` (and a `DISPLAY`, so libdbus
    /// would try X11 autolaunch if it were let).
    NoBus,
    /// A keyring holding a value, its collection then locked.
    Locked,
    /// A Secret Service that owns its name but never answers (stopped with SIGSTOP).
    FrozenKeyring,
    /// A wedged bus: accepts the connection, never answers the handshake.
    FrozenBus,
}

const UNUSABLE_TEST: &str = "an_unusable_secret_service_is_a_clear_error_in_bounded_time";
/// The variable that tells the child half which row it runs.
const ROW_VAR: &str = "TOKENVAULT_TEST_ROW";

fn unusable_rows() -> Vec<(&'static str, Unusable)> {
    vec![
        (
            "missing secret service",
            Unusable {
                session: Setup::NoKeyring,
                ops: &["probe", "get", "list"],
                locked: false,
                says: &["org.freedesktop.secrets"],
                hint_says: &["gnome-keyring", "--backend file"],
                within: None,
            },
        ),
        (
            "no session bus",
            Unusable {
                session: Setup::NoBus,
                ops: &["probe"],
                locked: false,
                says: &["no D-Bus session bus"],
                hint_says: &["--backend file"],
                within: Some(Duration::from_secs(1)),
            },
        ),
        (
            "locked collection",
            Unusable {
                session: Setup::Locked,
                ops: &["probe", "get", "set", "delete", "list"],
                locked: true,
                says: &["login"],
                hint_says: &["unlock the login keyring", "--backend file"],
                // No prompt is waited for.
                within: Some(Duration::from_secs(2)),
            },
        ),
        (
            "unresponsive secret service",
            Unusable {
                session: Setup::FrozenKeyring,
                ops: &["probe"],
                locked: false,
                says: &["did not answer"],
                hint_says: &["--backend file"],
                within: Some(Duration::from_secs(8)),
            },
        ),
        (
            // Within the store's connect bound instead of libdbus's 25 s, or forever.
            "unresponsive bus",
            Unusable {
                session: Setup::FrozenBus,
                ops: &["probe"],
                locked: false,
                says: &["did not answer within"],
                hint_says: &["--backend file"],
                within: Some(Duration::from_secs(8)),
            },
        ),
    ]
}

/// The child half of a row: every operation fails as the row says.
fn check_unusable_store(name: &str, row: &Unusable) {
    if matches!(row.session, Setup::NoBus) {
        assert_eq!(session_bus_fallback(), None, "{name}");
    }
    let store = KeychainStore::new();
    let k = key("huggingface/token");
    let started = Instant::now();
    for what in row.ops {
        let result = match *what {
            "probe" => store.probe(),
            "get" => store.get(&k).map(|_| ()),
            "set" => store.set(&k, &Secret::from_str_copy("new")),
            "delete" => store.delete(&k).map(|_| ()),
            "list" => store.list().map(|_| ()),
            other => panic!("{name}: no operation {other}"),
        };
        let e = match result {
            Err(e @ StoreError::Locked { .. }) if row.locked => e,
            Err(e @ StoreError::Unavailable { .. }) if !row.locked => e,
            other => panic!(
                "{name}: {what}: expected {}, got {other:?}",
                if row.locked { "Locked" } else { "Unavailable" }
            ),
        };
        show(&format!("{name}: {what}"), &e);
        let text = e.to_string();
        let hint = e.hint().unwrap_or_default();
        for s in row.says {
            assert!(text.contains(s), "{name}: {what}: {text}");
        }
        for s in row.hint_says {
            assert!(hint.contains(s), "{name}: {what}: hint {hint}");
        }
    }
    let took = started.elapsed();
    if let Some(within) = row.within {
        assert!(took < within, "{name}: gave up after {took:?}");
    }
}

/// The parent half of a row: its session, the child half on it, and what must hold after.
fn run_unusable_row(name: &'static str, row: Unusable) {
    let row_env = (ROW_VAR.to_owned(), name.to_owned());
    let no_keyring = || {
        KeyringSession::start_without_keyring()
            .unwrap_or_else(|e| panic!("{name}: cannot start a session bus for this test: {e}"))
    };
    match row.session {
        Setup::NoBus => {
            let dir = tempfile::tempdir().unwrap();
            let home = dir.path().to_string_lossy().into_owned();
            run_child(
                UNUSABLE_TEST,
                &[
                    ("HOME".into(), home.clone()),
                    ("XDG_RUNTIME_DIR".into(), home),
                    ("DISPLAY".into(), ":99".into()),
                    row_env,
                ],
            );
        }
        Setup::NoKeyring | Setup::FrozenBus => {
            let session = no_keyring();
            if matches!(row.session, Setup::FrozenBus) {
                session.freeze_bus();
            }
            run_child(UNUSABLE_TEST, &with(session.env(), row_env));
        }
        Setup::FrozenKeyring => {
            let session = start();
            session
                .freeze_keyring()
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            run_child(UNUSABLE_TEST, &with(session.env(), row_env));
        }
        Setup::Locked => {
            let session = start();
            session.store_tokenvault("x", "huggingface", "token", &[], HF);
            session
                .lock_collection()
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            run_child(UNUSABLE_TEST, &with(session.env(), row_env));
            let path = session.default_collection().unwrap().unwrap();
            assert!(
                session.is_locked(&path).unwrap(),
                "{name}: the store must not unlock the keyring"
            );
        }
    }
}

fn with(mut env: Vec<(String, String)>, extra: (String, String)) -> Vec<(String, String)> {
    env.push(extra);
    env
}

/// A missing Secret Service, no session bus, a locked collection, an unresponsive Secret Service
/// and a wedged bus: every operation fails at once (or within its bound) with the right kind of
/// error and a hint; nothing unlocks the keyring and nothing waits for a prompt. One row per
/// case; each runs its store half in a child on its own session.
#[test]
fn an_unusable_secret_service_is_a_clear_error_in_bounded_time() {
    if child::is_child(UNUSABLE_TEST) {
        let name = std::env::var(ROW_VAR).unwrap();
        let rows = unusable_rows();
        let (_, row) = rows
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no row {name}"));
        check_unusable_store(&name, row);
        return;
    }
    // One row after another: the rows measure how long the store takes.
    let failed: Vec<&str> = unusable_rows()
        .into_iter()
        .filter_map(|(name, row)| {
            let ran = std::panic::catch_unwind(|| run_unusable_row(name, row));
            ran.is_err().then_some(name)
        })
        .collect();
    assert_eq!(
        failed,
        Vec::<&str>::new(),
        "failed rows (their panics are above)"
    );
}

/// `set` leaves one item per key even when another tool added items that carry our attributes
/// plus its own (they would match a lookup and could shadow the new value).
#[test]
fn set_replaces_items_other_tools_made() {
    if child::is_child("set_replaces_items_other_tools_made") {
        let store = KeychainStore::new();
        let k = key("huggingface/token");
        assert!(value(&store, &k).is_some());
        store.set(&k, &Secret::from_str_copy(HF)).unwrap();
        assert_eq!(value(&store, &k).as_deref(), Some(HF));
        assert_eq!(store.list().unwrap(), Some(vec![k]));
        return;
    }
    let session = start();
    for extra in [&[][..], &["note", "added by another tool"][..]] {
        session.store_tokenvault("by hand", "huggingface", "token", extra, "old");
    }
    let (before, _) = search(&session, &["service", "tokenvault"]);
    assert_eq!(before.len(), 2, "{before:?}");
    run_child("set_replaces_items_other_tools_made", &session.env());
    let (after, _) = search(&session, &["service", "tokenvault"]);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0]["secret"], HF);
    assert_eq!(after[0]["label"], "tokenvault: huggingface/token");
}
