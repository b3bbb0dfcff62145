//! The store conformance suite on the OpenBao backend, against a real `bao server -dev`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use tokenvault_core::Secret;
use tokenvault_store::conformance::{run_all, Subject};
use tokenvault_store::openbao::{OpenBaoConfig, OpenBaoStore};
use tokenvault_store::{Key, Store};
use tokenvault_testkit::openbao::BaoServer;

fn store(server: &BaoServer, prefix: &str) -> OpenBaoStore {
    let mut cfg = OpenBaoConfig::new(&server.addr);
    cfg.prefix = prefix.to_owned();
    OpenBaoStore::new(cfg, Secret::from_str_copy(&server.root_token)).expect("store")
}

#[test]
fn openbao_store_conforms() {
    let server = Arc::new(BaoServer::start_dev().unwrap_or_else(|e| panic!("{e}")));
    let n = AtomicU32::new(0);
    run_all(&|| {
        // Each check gets its own prefix: a fresh, empty store on the same server.
        let prefix = format!("conformance{}/", n.fetch_add(1, Ordering::SeqCst));
        let again = server.clone();
        let p2 = prefix.clone();
        Subject {
            store: Box::new(store(&server, &prefix)),
            reopen: Some(Box::new(move || {
                Box::new(store(&again, &p2)) as Box<dyn Store>
            })),
        }
    });
}

/// Sixteen writers on one item through two handles, each on its own field: check-and-set retries
/// on fresh data, so no writer's field is lost and every write is one version.
#[test]
fn concurrent_writers_lose_nothing() {
    let server = BaoServer::start_dev().unwrap_or_else(|e| panic!("{e}"));
    let homes = [store(&server, "tokenvault/"), store(&server, "tokenvault/")];
    let updates = 25;
    std::thread::scope(|s| {
        for (h, home) in homes.iter().enumerate() {
            for w in 0..8 {
                s.spawn(move || {
                    let k = Key::parse(&format!("team/w{h}-{w}")).expect("key");
                    for u in 1..=updates {
                        home.set(&k, &Secret::new(format!("v{u}"))).expect("set");
                    }
                });
            }
        }
    });
    let keys = homes[0].list().expect("list").expect("enumerates");
    assert_eq!(keys.len(), 16, "{keys:?}");
    for h in 0..2 {
        for w in 0..8 {
            let k = Key::parse(&format!("team/w{h}-{w}")).expect("key");
            let got = homes[1].get(&k).expect("get").expect("value");
            assert_eq!(got.expose_secret(), format!("v{updates}"), "{k}");
        }
    }
    let meta = server.bao(
        &[
            "kv",
            "metadata",
            "get",
            "-format=json",
            "secret/tokenvault/team",
        ],
        None,
    );
    let meta: serde_json::Value = serde_json::from_slice(&meta.stdout).expect("json");
    assert_eq!(
        meta.pointer("/data/current_version")
            .and_then(|v| v.as_u64()),
        Some(16 * updates),
        "one version per write, none lost"
    );
}

/// A standby that answers with a redirect to the active node (307, `Location` on the leader):
/// every request is followed there, reads and check-and-set writes alike.
#[test]
fn standby_redirects_are_followed() {
    use std::io::{BufRead, BufReader, Write};
    let server = BaoServer::start_dev().unwrap_or_else(|e| panic!("{e}"));
    let standby = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let standby_addr = format!("http://{}", standby.local_addr().expect("addr"));
    let leader = server.addr.clone();
    let redirected = Arc::new(AtomicU32::new(0));
    let count = redirected.clone();
    std::thread::spawn(move || {
        for conn in standby.incoming() {
            let Ok(mut conn) = conn else { break };
            let mut reader = BufReader::new(conn.try_clone().expect("clone"));
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            // Headers, then the body by Content-Length.
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            let _ = std::io::Read::read_exact(&mut reader, &mut body);
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .to_owned();
            count.fetch_add(1, Ordering::SeqCst);
            let _ = write!(
                conn,
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: {leader}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    let mut cfg = OpenBaoConfig::new(&standby_addr);
    cfg.prefix = "redirected/".into();
    let st = OpenBaoStore::new(cfg, Secret::from_str_copy(&server.root_token)).expect("store");
    let k = Key::parse("huggingface/token").expect("key");
    st.set(&k, &Secret::from_str_copy("through-the-standby"))
        .expect("set");
    st.set(&k, &Secret::from_str_copy("again-through-it"))
        .expect("set");
    let got = st.get(&k).expect("get").expect("value");
    assert_eq!(got.expose_secret(), "again-through-it");
    assert!(
        redirected.load(Ordering::SeqCst) >= 5,
        "requests went to the standby first"
    );
}
