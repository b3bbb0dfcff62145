//! `tokenvault mcp serve` driven by the official Python MCP SDK, both the 1.x line and the current
//! 2.x line (`tests/mcp/agent_client.py` under each interpreter): every tool's results for stored,
//! missing, stale and failed credentials; `run_with_credentials` with the allow-list, a refusal
//! without a human and an approval through the out-of-band page; `request_credential` end to end
//! through URL elicitation; and the agent-caller rule of `get`. Every response is searched for
//! every stored value and its base64 and URL-encoded forms (besides the shared leak check).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The interpreters of the two SDK lines: (major version, python3). A missing one fails the test
/// with how to create it; nothing is skipped.
fn pythons() -> Vec<(u32, PathBuf)> {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_owned();
    let lines = [
        (
            1,
            "TOKENVAULT_TEST_VENV",
            target.join("test-venv"),
            "mcp>=1.20,<2",
        ),
        (
            2,
            "TOKENVAULT_TEST_VENV_MCP2",
            target.join("test-venv-mcp2"),
            "mcp>=2,<3",
        ),
    ];
    lines
        .into_iter()
        .map(|(major, var, default, spec)| {
            let venv = std::env::var_os(var).map(PathBuf::from).unwrap_or(default);
            let python = venv.join("bin/python3");
            assert!(
                python.exists(),
                "no Python venv with the MCP SDK {major}.x at {} (set {var} to another): run scripts/test, or `python3 -m venv {0} && {0}/bin/pip install '{spec}'`",
                venv.display()
            );
            let v = Command::new(&python)
                .args(["-c", "import importlib.metadata as m; print(m.version('mcp'))"])
                .output()
                .unwrap();
            let version = String::from_utf8_lossy(&v.stdout).trim().to_owned();
            assert!(
                version.starts_with(&format!("{major}.")),
                "{} has mcp {version:?}, not {major}.x: pip install '{spec}' into it",
                python.display()
            );
            (major, python)
        })
        .collect()
}

fn client_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/agent_client.py")
}

/// The server entry a client config would hold, with the minimal environment desktop clients
/// give their servers (plus `extra`).
fn server(env: &Env, extra: &[(&str, &str)]) -> Value {
    let mut vars = serde_json::Map::new();
    for (k, v) in [
        ("HOME", env.dir.path().to_str().unwrap()),
        ("PATH", &std::env::var("PATH").unwrap()),
        ("USER", "tester"),
        ("TOKENVAULT_HOME", env.home.to_str().unwrap()),
        (
            "TOKENVAULT_PASSPHRASE_FILE",
            env.pass_file.to_str().unwrap(),
        ),
        ("TOKENVAULT_SCRYPT_LOG_N", "10"),
        ("TOKENVAULT_BACKEND", "file"),
        ("HF_ENDPOINT", "http://127.0.0.1:9"),
    ] {
        vars.insert(k.into(), json!(v));
    }
    for (k, v) in extra {
        vars.insert((*k).into(), json!(v));
    }
    json!({"command": bin(), "args": ["mcp", "serve"], "env": vars})
}

/// Runs one scenario under `python`; returns the client's report. Its stdout and stderr (which
/// carries the server's stderr) go through the leak check and the encodings check.
fn drive(env: &Env, python: &Path, scenario: Value, values: &[&str]) -> Value {
    let mut c = Command::new(python);
    c.arg(client_script())
        .current_dir(env.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(scenario.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let out = env.check(&["mcp", "serve", "(agent client)"], out);
    assert_ok(&out);
    let all = format!("{}{}", stdout(&out), stderr(&out));
    for v in values {
        for (form, shown) in encodings(v) {
            assert!(
                !all.contains(&form),
                "the client's output (tool results, pages, server log) holds a stored value as {shown}"
            );
        }
    }
    serde_json::from_str(stdout(&out).trim()).unwrap()
}

/// A value and its encodings, each with a label for the failure message.
fn encodings(v: &str) -> Vec<(String, &'static str)> {
    let b64 = leak::base64(v.as_bytes());
    let url: String = v
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    vec![
        (v.to_owned(), "itself"),
        (b64.clone(), "base64"),
        (b64.trim_end_matches('=').to_owned(), "unpadded base64"),
        (b64.replace('+', "-").replace('/', "_"), "URL-safe base64"),
        (url, "URL-encoded"),
    ]
}

fn result<'a>(report: &'a Value, tool: &str, nth: usize) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["tool"] == tool)
        .nth(nth)
        .unwrap_or_else(|| panic!("no result #{nth} of {tool} in {report}"))
}

fn call(tool: &str, arguments: Value) -> Value {
    json!({"tool": tool, "arguments": arguments})
}

/// A value with characters that base64 and URL encoding change.
const SPECIAL: &str = "s3cr3t/with+special=chars&more?x y";

/// The child of the run tests: prints the SHA-256 of HF_TOKEN, then tries to leak both values
/// as they are, in base64 (standard and URL-safe) and URL-encoded.
const LEAKY_CHILD: &str = r#"import base64, hashlib, os, sys, urllib.parse
t = os.environ['HF_TOKEN']; s = os.environ['SVC']
print('sha256', hashlib.sha256(t.encode()).hexdigest())
for v in (t, s):
    print('raw', v); print('b64', base64.b64encode(v.encode()).decode())
    print('b64url', base64.urlsafe_b64encode(v.encode()).decode())
    print('url', urllib.parse.quote(v, safe=''), urllib.parse.quote_plus(v))
print('err', t, file=sys.stderr)
"#;

fn run_call() -> Value {
    call(
        "run_with_credentials",
        json!({
            "command": "python3",
            "args": ["-c", LEAKY_CHILD],
            "env": {"HF_TOKEN": "tv://huggingface/token", "SVC": "tv://svc/token"},
            "timeout": 60,
        }),
    )
}

fn assert_ran_masked(r: &Value, token: &str) {
    assert_eq!(r["is_error"], false, "{r}");
    let s = &r["structured"];
    assert_eq!(s["exit_code"], 0, "{r}");
    let out = s["stdout"].as_str().unwrap();
    assert!(
        out.contains(&format!("sha256 {}", sha256_hex(token))),
        "the child did not get the vault's token: {out}"
    );
    assert_eq!(out.matches("raw <concealed:").count(), 2, "{out}");
    assert_eq!(out.matches("b64 <concealed:").count(), 2, "{out}");
    assert_eq!(out.matches("b64url <concealed:").count(), 2, "{out}");
    assert!(out.contains("<concealed:SVC> <concealed:SVC>"), "{out}");
    assert!(
        s["stderr"]
            .as_str()
            .unwrap()
            .contains("err <concealed:HF_TOKEN>"),
        "{r}"
    );
}

/// A vault with: a Hugging Face token (valid at the Hub stand-in), a value with special
/// characters, a stale one (changed in 2020), and a Hugging Face token the Hub rejected.
struct Fixture {
    env: Env,
    hub: hub::Hub,
    token: String,
    bad: String,
}

impl Fixture {
    fn new() -> Fixture {
        let env = Env::new();
        let token = hf_token();
        let bad = hf_token();
        env.set("huggingface", &token);
        env.set("svc/token", SPECIAL);
        env.set("stale/token", "stale-value-0123456789");
        env.set("huggingface-old", &bad);
        let hub = hub::Hub::start(&[&token]);
        // The rejected token: a real live check through the CLI records the failure.
        let mut c = env.cmd();
        c.args(["verify", "huggingface-old"])
            .env("HF_ENDPOINT", &hub.url);
        let out = env.output(&mut c);
        assert_code(&out, 1);
        // The stale one: its entry says 2020 (resealed as tokenvault would).
        let index_path = env.home.join("index.json");
        let mut index: Value =
            serde_json::from_str(&std::fs::read_to_string(&index_path).unwrap()).unwrap();
        index["items"]["stale"]["fields"]["token"]["updated"] = json!("2020-01-01T00:00:00Z");
        std::fs::write(&index_path, index.to_string()).unwrap();
        env.reseal_index();
        Fixture {
            env,
            hub,
            token,
            bad,
        }
    }

    fn values(&self) -> Vec<&str> {
        vec![&self.token, &self.bad, SPECIAL, "stale-value-0123456789"]
    }

    fn allow(&self, rules: &str) {
        let path = self.env.home.join("config.toml");
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(rules);
        std::fs::write(&path, text).unwrap();
    }

    fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.env.home.join("audit.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

#[test]
fn every_tool_reports_stored_missing_stale_and_failed_credentials_without_a_value() {
    let f = Fixture::new();
    for (major, python) in pythons() {
        let scenario = json!({
            "server": server(&f.env, &[("HF_ENDPOINT", &f.hub.url)]),
            "client_name": format!("sdk{major}-agent"),
            "human": null,
            "calls": [
                call("list_credentials", json!({})),
                call("check_credentials", json!({"variables": [
                    "HF_TOKEN=tv://huggingface/token", "MISSING=tv://nothing/token",
                    "STALE=tv://stale/token", "OLD=huggingface-old",
                ]})),
                call("verify_credential", json!({"reference": "huggingface"})),
                call("verify_credential", json!({"reference": "huggingface-old"})),
                call("verify_credential", json!({"reference": "nothing"})),
                call("verify_credential", json!({"reference": "stale"})),
                call("check_credentials", json!({"profile": "no-such-profile"})),
                // An agent that passes a value where a reference goes: not echoed, not logged.
                call("verify_credential", json!({"reference": f.token})),
                call("check_credentials", json!({"variables": [format!("HF_TOKEN={}", f.token)]})),
            ],
        });
        let report = drive(&f.env, &python, scenario, &f.values());
        assert_eq!(report["server"], "tokenvault", "{report}");
        assert_eq!(
            report["tools"],
            json!([
                "check_credentials",
                "list_credentials",
                "request_credential",
                "run_with_credentials",
                "verify_credential"
            ])
        );

        let list = &result(&report, "list_credentials", 0)["structured"]["credentials"];
        let row = |r: &str| {
            list.as_array()
                .unwrap()
                .iter()
                .find(|c| c["reference"] == r)
                .unwrap_or_else(|| panic!("{r} not listed: {list}"))
                .clone()
        };
        let hf = row("tv://huggingface/token");
        assert_eq!(hf["provider"], "huggingface");
        assert!(hf["masked"].as_str().unwrap().starts_with("hf_"), "{hf}");
        assert_eq!(row("tv://stale/token")["state"], "stale");
        assert_eq!(row("tv://huggingface-old/token")["state"], "failed");
        assert!(row("tv://svc/token")["masked"]
            .as_str()
            .unwrap()
            .contains('…'));

        let check = &result(&report, "check_credentials", 0)["structured"];
        assert_eq!(check["ready"], false, "{check}");
        let states: Vec<(String, String)> = check["variables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["variable"].as_str().unwrap().into(),
                    v["state"].as_str().unwrap().into(),
                )
            })
            .collect();
        let state = |var: &str| states.iter().find(|(v, _)| v == var).unwrap().1.clone();
        assert!(
            matches!(state("HF_TOKEN").as_str(), "present" | "unverified"),
            "{states:?}"
        );
        assert_eq!(state("MISSING"), "missing");
        assert_eq!(state("STALE"), "stale");
        assert_eq!(state("OLD"), "failed");
        let missing = check["variables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["variable"] == "MISSING")
            .unwrap();
        assert!(
            missing["hint"]
                .as_str()
                .unwrap()
                .contains("request_credential"),
            "{missing}"
        );

        let valid = &result(&report, "verify_credential", 0)["structured"];
        assert_eq!(valid["state"], "valid", "{valid}");
        assert!(
            valid["detail"].as_str().unwrap().contains("alice"),
            "{valid}"
        );
        assert!(
            valid["account"].to_string().contains("laptop-read"),
            "token name: {valid}"
        );
        let rejected = &result(&report, "verify_credential", 1)["structured"];
        assert_eq!(rejected["state"], "invalid", "{rejected}");
        assert!(rejected["hint"].as_str().is_some(), "{rejected}");
        let missing = &result(&report, "verify_credential", 2)["structured"];
        assert_eq!(missing["state"], "missing", "{missing}");
        assert!(missing["hint"]
            .as_str()
            .unwrap()
            .contains("tokenvault set nothing/token"));
        let stale = &result(&report, "verify_credential", 3)["structured"];
        assert_eq!(
            stale["state"], "not-available",
            "no provider, no live check: {stale}"
        );
        for (tool, nth) in [("verify_credential", 4), ("check_credentials", 2)] {
            let r = result(&report, tool, nth);
            assert_eq!(r["is_error"], true, "{r}");
            assert!(
                r["text"].as_str().unwrap().contains("is not a reference"),
                "{r}"
            );
        }
        let no_profile = result(&report, "check_credentials", 1);
        assert_eq!(no_profile["is_error"], true);
        assert!(no_profile["text"]
            .as_str()
            .unwrap()
            .contains("no profile named 'no-such-profile'"));

        // Every call is audited with the client's name as the actor.
        let audit = f.audit();
        for tool in [
            "mcp-list_credentials",
            "mcp-check_credentials",
            "mcp-verify_credential",
        ] {
            assert!(
                audit
                    .iter()
                    .any(|r| r["action"] == tool && r["actor"] == format!("sdk{major}-agent")),
                "no {tool} record by sdk{major}-agent"
            );
        }
        assert!(audit
            .iter()
            .any(|r| r["action"] == "verify" && r["actor"] == format!("sdk{major}-agent")));
    }
    let log = std::fs::read_to_string(f.env.home.join("audit.jsonl")).unwrap();
    for v in f.values() {
        assert!(!log.contains(v), "a value in the audit log");
    }
    assert!(log.contains("<not a reference>"), "{log}");
    // `tokenvault audit` names the client.
    let out = f.env.run(&["audit"]);
    assert_ok(&out);
    assert!(stdout(&out).contains("sdk2-agent via "), "{}", stdout(&out));
}

#[test]
fn an_allowed_command_runs_with_the_token_and_its_output_comes_back_masked() {
    let f = Fixture::new();
    // A bare item in `refs` means its provider's default field, as in a launch.
    f.allow("[[agent.allow]]\ncommand = \"python3 -c *\"\nrefs = [\"huggingface\", \"tv://svc/token\"]\n[[agent.allow]]\ncommand = \"sh -c *\"\nrefs = [\"tv://huggingface/token\"]\n");
    for (major, python) in pythons() {
        let scenario = json!({
            "server": server(&f.env, &[]),
            "client_name": format!("sdk{major}-agent"),
            "human": null,
            "calls": [run_call(), call("run_with_credentials", json!({
                "command": "sh", "args": ["-c", "sleep 30 & sleep 30"], "env": {"HF_TOKEN": "huggingface"}, "timeout": 1,
            }))],
        });
        let started = std::time::Instant::now();
        let report = drive(&f.env, &python, scenario, &f.values());
        assert_ran_masked(result(&report, "run_with_credentials", 0), &f.token);
        assert!(report["elicitations"].as_array().unwrap().is_empty());
        // The timeout kills the command.
        let slow = &result(&report, "run_with_credentials", 1)["structured"];
        assert_eq!(slow["timed_out"], true, "{slow}");
        assert_eq!(slow["exit_code"], Value::Null, "{slow}");
        assert!(
            started.elapsed().as_secs() < 25,
            "the sleep was not cut short"
        );
        let audit = f.audit();
        let run = audit
            .iter()
            .rev()
            .find(|r| r["action"] == "mcp-run" && r["references"].as_array().unwrap().len() == 2)
            .expect("the read is audited");
        assert_eq!(run["actor"], format!("sdk{major}-agent"));
        assert_eq!(
            run["references"],
            json!(["tv://huggingface/token", "tv://svc/token"])
        );
    }
}

#[test]
fn a_command_not_allowed_is_refused_without_a_human_and_runs_once_approved_on_the_page() {
    let f = Fixture::new();
    // A rule for another command: it does not cover python3.
    f.allow("[[agent.allow]]\ncommand = \"hf upload *\"\nrefs = [\"tv://huggingface/token\"]\n");
    for (major, python) in pythons() {
        let name = format!("sdk{major}-agent");
        let ask = |human: Value| json!({"server": server(&f.env, &[]), "client_name": name, "human": human, "calls": [run_call()]});
        // No human channel (no URL elicitation, no desktop, no askpass): refused, with the rule
        // that would allow it.
        let report = drive(&f.env, &python, ask(Value::Null), &f.values());
        let r = result(&report, "run_with_credentials", 0);
        assert_eq!(r["is_error"], true, "{r}");
        let text = r["text"].as_str().unwrap();
        assert!(
            text.contains("refused") && text.contains("no human can be asked"),
            "{text}"
        );
        assert!(
            text.contains("[[agent.allow]]") && text.contains("python3 -c"),
            "{text}"
        );
        assert!(
            !text.contains(&sha256_hex(&f.token)),
            "it did not run: {text}"
        );

        // Denied on the page: refused.
        let report = drive(
            &f.env,
            &python,
            ask(json!({"decision": "deny"})),
            &f.values(),
        );
        assert_eq!(result(&report, "run_with_credentials", 0)["is_error"], true);

        // Approved once on the page: it runs, and the page showed the exact command line.
        let report = drive(
            &f.env,
            &python,
            ask(json!({"decision": "once"})),
            &f.values(),
        );
        assert_ran_masked(result(&report, "run_with_credentials", 0), &f.token);
        let e = &report["elicitations"][0];
        assert_eq!(e["mode"], "url", "{e}");
        assert!(
            e["url"].as_str().unwrap().starts_with("http://127.0.0.1:"),
            "{e}"
        );
        assert!(e["message"].as_str().unwrap().contains(&name), "{e}");
        let page = e["page"].as_str().unwrap();
        assert!(
            page.contains("python3 -c &#39;import base64, hashlib, os, sys"),
            "the command line is shown: {page}"
        );
        assert!(
            page.contains("SVC=tv://svc/token") && page.contains(&name),
            "{page}"
        );
        assert_eq!(e["get_status"], 200);
        assert_eq!(e["wrong_host_status"], 403, "Host check: {e}");
        assert_eq!(e["wrong_path_status"], 404, "one-time secret path: {e}");
        assert_eq!(e["no_csrf_status"], 403, "CSRF token: {e}");
        assert_eq!(e["cross_origin_status"], 403, "Origin check: {e}");
        assert_eq!(e["post_status"], 200, "{e}");
        assert!(
            e["csp"].as_str().unwrap().contains("default-src 'none'"),
            "{e}"
        );
        assert_ne!(e["after_status"], 200, "the page answers once: {e}");

        // "Once" added no rule: without a human it is refused again.
        let report = drive(&f.env, &python, ask(Value::Null), &f.values());
        assert_eq!(result(&report, "run_with_credentials", 0)["is_error"], true);
    }
    // "Always" appends the exact command line to the allow-list; then no human is needed.
    let (_, python) = pythons().remove(0);
    let always = json!({"server": server(&f.env, &[]), "client_name": "x", "human": {"decision": "always"}, "calls": [run_call()]});
    let report = drive(&f.env, &python, always, &f.values());
    assert_ran_masked(result(&report, "run_with_credentials", 0), &f.token);
    let config = std::fs::read_to_string(f.env.home.join("config.toml")).unwrap();
    assert_eq!(config.matches("[[agent.allow]]").count(), 2, "{config}");
    assert!(config.contains("tv://svc/token"), "{config}");
    for (_, python) in pythons() {
        let again = json!({"server": server(&f.env, &[]), "client_name": "x", "human": null, "calls": [run_call()]});
        let report = drive(&f.env, &python, again, &f.values());
        assert_ran_masked(result(&report, "run_with_credentials", 0), &f.token);
    }
}

#[test]
fn request_credential_stores_what_the_human_types_on_the_page_and_shows_it_masked() {
    for (major, python) in pythons() {
        let env = Env::new();
        let token = env.secret(&hf_token()).to_owned();
        let scenario = json!({
            "server": server(&env, &[]),
            "client_name": format!("sdk{major}-agent"),
            "human": {"token": token},
            "calls": [
                call("request_credential", json!({"provider": "huggingface", "reason": "push the model to the Hub"})),
                call("list_credentials", json!({})),
            ],
        });
        let report = drive(&env, &python, scenario, &[&token]);
        let r = &result(&report, "request_credential", 0);
        assert_eq!(r["is_error"], false, "{r}");
        let s = &r["structured"];
        assert_eq!(s["stored"], true, "{r}");
        assert_eq!(s["reference"], "tv://huggingface/token");
        let masked = s["masked"].as_str().unwrap();
        assert!(
            masked.starts_with("hf_") && masked.contains('…'),
            "{masked}"
        );
        let e = &report["elicitations"][0];
        assert_eq!(e["mode"], "url");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("push the model to the Hub"),
            "{e}"
        );
        let page = e["page"].as_str().unwrap();
        assert!(
            page.contains("tv://huggingface/token") && page.contains("type=\"password\""),
            "{page}"
        );
        assert_eq!(e["no_csrf_status"], 403, "{e}");
        assert_eq!(e["post_status"], 200, "{e}");
        assert_eq!(
            result(&report, "list_credentials", 0)["structured"]["credentials"][0]["masked"],
            masked
        );
        // The vault holds exactly what the human typed.
        assert_eq!(env.get("huggingface"), token);

        // A client without URL elicitation and no desktop prompt: told which command to run.
        let none = json!({
            "server": server(&env, &[]),
            "human": null,
            "calls": [call("request_credential", json!({"provider": "openai", "reason": "embeddings"}))],
        });
        let report = drive(&env, &python, none, &[&token]);
        let s = &result(&report, "request_credential", 0)["structured"];
        assert_eq!(s["stored"], false, "{s}");
        assert!(
            s["message"]
                .as_str()
                .unwrap()
                .contains("tokenvault set openai"),
            "{s}"
        );
    }
}

/// `get` in a new session (no controlling terminal to ask on), with `vars` set.
fn get_as(env: &Env, vars: &[(&str, &str)]) -> std::process::Output {
    let mut c = env.cmd();
    c.args(["get", "huggingface"]).stdin(Stdio::null());
    for (k, v) in vars {
        c.env(k, v);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: setsid is async-signal-safe; it detaches the child from our terminal.
        unsafe {
            c.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
    }
    env.output(&mut c)
}

#[test]
fn get_under_an_agent_asks_the_human_first_and_refuses_without_one() {
    let env = Env::new();
    let token = hf_token();
    env.set("huggingface", &token);
    let yes = env.fixture("yes.sh", "#!/bin/sh\n[ \"$SSH_ASKPASS_PROMPT\" = confirm ] && printf '%s\\n' \"$1\" > \"$(dirname \"$0\")/asked.txt\"\nexit 0\n");
    let no = env.fixture("no.sh", "#!/bin/sh\nexit 1\n");
    for p in [&yes, &no] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    env.test_file("asked.txt");
    let agents = [
        ("CLAUDECODE", "1", "Claude Code"),
        ("CLAUDE_CODE_ENTRYPOINT", "cli", "Claude Code"),
        ("CURSOR_AGENT", "1", "Cursor"),
        ("CURSOR_TRACE_ID", "0f3c", "Cursor"),
        ("CODEX_SANDBOX", "seatbelt", "Codex"),
        ("CODEX_SANDBOX_NETWORK_DISABLED", "1", "Codex"),
    ];
    for (var, value, agent) in agents {
        let out = get_as(&env, &[(var, value)]);
        assert_code(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains("refused")
                && err.contains(agent)
                && err.contains(var)
                && err.contains("no human could be asked"),
            "{var}: {err}"
        );
        assert!(stdout(&out).is_empty());

        let out = get_as(
            &env,
            &[(var, value), ("TOKENVAULT_ASKPASS", no.to_str().unwrap())],
        );
        assert_code(&out, 2);
        assert!(
            stderr(&out).contains("the human said no"),
            "{}",
            stderr(&out)
        );

        let out = get_as(
            &env,
            &[(var, value), ("TOKENVAULT_ASKPASS", yes.to_str().unwrap())],
        );
        assert_ok(&out);
        assert_eq!(stdout(&out).trim_end(), token);
        let asked = std::fs::read_to_string(env.path("asked.txt")).unwrap();
        assert!(
            asked.contains(agent) && asked.contains("tv://huggingface/token"),
            "{asked}"
        );
    }
    // Not an agent (or the variable off): no question.
    assert_eq!(stdout(&get_as(&env, &[])).trim_end(), token);
    assert_eq!(
        stdout(&get_as(&env, &[("CLAUDECODE", "0")])).trim_end(),
        token
    );
}

#[test]
fn mcp_add_serve_registers_the_server_in_each_of_the_eight_clients() {
    let env = Env::new();
    let files = [
        (
            "claude-desktop",
            ".config/Claude/claude_desktop_config.json",
        ),
        ("claude-code", ".claude.json"),
        ("cursor", ".cursor/mcp.json"),
        ("vscode", ".config/Code/User/mcp.json"),
        ("windsurf", ".codeium/windsurf/mcp_config.json"),
        ("gemini", ".gemini/settings.json"),
        ("codex", ".codex/config.toml"),
        ("zed", ".config/zed/settings.json"),
    ];
    for (client, file) in files {
        let out = env.run(&["mcp", "add", "tokenvault", "--client", client, "--serve"]);
        assert_ok(&out);
        let text = std::fs::read_to_string(env.dir.path().join(file)).unwrap();
        assert!(text.contains("tokenvault"), "{client}: {text}");
        let args = if client == "codex" {
            r#"args = ["mcp", "serve"]"#.to_owned()
        } else {
            let v: Value = serde_json::from_str(&text).unwrap();
            let key = match client {
                "vscode" => "servers",
                "zed" => "context_servers",
                _ => "mcpServers",
            };
            let entry = &v[key]["tokenvault"];
            assert!(
                entry["command"].as_str().unwrap().ends_with("tokenvault"),
                "{client}: {entry}"
            );
            assert_eq!(entry["args"], json!(["mcp", "serve"]), "{client}: {entry}");
            String::new()
        };
        assert!(text.contains(&args), "{client}: {text}");
    }
    // --serve is a server of its own: no -e, no command, no URL with it.
    let out = env.run(&[
        "mcp", "add", "x", "--client", "cursor", "--serve", "--", "npx", "y",
    ]);
    assert_code(&out, 2);
}

#[test]
fn agent_setup_writes_its_section_once_and_updates_it_in_place() {
    let env = Env::new();
    let agents = env.fixture("AGENTS.md", "# Project\n\nRun `make test`.\n");
    let out = env.run(&["agent-setup"]);
    assert_ok(&out);
    let first = std::fs::read_to_string(&agents).unwrap();
    assert!(
        first.starts_with("# Project\n\nRun `make test`.\n\n<!-- tokenvault:begin"),
        "{first}"
    );
    assert!(first.contains("run_with_credentials") && first.contains("request_credential"));
    assert!(first.trim_end().ends_with("<!-- tokenvault:end -->"));
    env.leaks.fixture_path(&agents, Some(first.as_bytes()));
    assert_ok(&env.run(&["agent-setup"]));
    assert_eq!(
        std::fs::read_to_string(&agents).unwrap(),
        first,
        "idempotent"
    );
    assert!(stderr(&env.run(&["agent-setup"])).contains("nothing to change"));

    // CLAUDE.md with --file; an edited section is replaced, the rest kept.
    let claude = env.fixture(
        "CLAUDE.md",
        format!(
            "{}\n## Later\nkeep me\n",
            first.replace("Never ask", "Do ask")
        ),
    );
    assert_ok(&env.run(&["agent-setup", "--file", "CLAUDE.md"]));
    let text = std::fs::read_to_string(&claude).unwrap();
    assert!(
        !text.contains("Do ask")
            && text.contains("Never ask")
            && text.ends_with("## Later\nkeep me\n"),
        "{text}"
    );
    assert_eq!(text.matches("tokenvault:begin").count(), 1);
    env.leaks.fixture_path(&claude, Some(text.as_bytes()));
}

#[test]
fn without_url_elicitation_request_credential_falls_back_to_the_desktop_prompt() {
    let env = Env::new();
    let token = env.secret(&hf_token()).to_owned();
    let value = env.fixture("typed-token", format!("{token}\n"));
    let askpass = env.fixture(
        "askpass.sh",
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" > \"$(dirname \"$0\")/prompt.txt\"\ncat '{}'\n",
            value.display()
        ),
    );
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&askpass, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    env.test_file("prompt.txt");
    for (major, python) in pythons() {
        let scenario = json!({
            "server": server(&env, &[("TOKENVAULT_ASKPASS", askpass.to_str().unwrap())]),
            "client_name": format!("sdk{major}-agent"),
            "human": null,
            "calls": [call("request_credential", json!({"provider": "huggingface", "reason": "push checkpoints"}))],
        });
        let report = drive(&env, &python, scenario, &[&token]);
        let s = &result(&report, "request_credential", 0)["structured"];
        assert_eq!(s["stored"], true, "{s}");
        assert!(s["masked"].as_str().unwrap().starts_with("hf_"), "{s}");
        let prompt = std::fs::read_to_string(env.path("prompt.txt")).unwrap();
        assert!(
            prompt.contains("push checkpoints") && prompt.contains(&format!("sdk{major}-agent")),
            "{prompt}"
        );
        assert_eq!(env.get("huggingface"), token);
    }
    // export and inject follow the agent-caller rule too.
    let mut c = env.cmd();
    c.args(["export", "-e", "HF_TOKEN=huggingface", "--format", "sh"])
        .env("CURSOR_AGENT", "1");
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: setsid is async-signal-safe; it detaches the child from our terminal.
        unsafe {
            c.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
    }
    let out = env.output(&mut c);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("Cursor") && stdout(&out).is_empty(),
        "{}",
        stderr(&out)
    );
}
