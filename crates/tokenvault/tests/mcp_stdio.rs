//! A real MCP stdio server started through `tokenvault run` by a real MCP client (the Python SDK),
//! with the minimal environment a desktop client gives: initialize, tools/list and a tool call
//! whose result proves the server saw HF_TOKEN — and every byte on the server's stdout is JSON-RPC.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

#[test]
fn mcp_server_through_run_sees_the_token_and_stdout_is_pure_json_rpc() {
    let (env, token) = Env::with_hf_token();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp");
    let server = dir.join("server.py");
    let raw = env.test_file("server-stdout.log");
    let probe = env.env_probe(&["HF_TOKEN"]);
    // The server entry as a client config would hold it, with a tee on the server's stdout so the
    // test can check that every byte the client received was JSON-RPC from the server.
    let launch = format!(
        "exec '{}' run -e HF_TOKEN=tv://huggingface/token -- '{probe}' python3 '{}' | tee '{}'",
        bin(),
        server.display(),
        raw.display()
    );
    let params = serde_json::json!({
        "command": "sh",
        "args": ["-c", launch],
        "env": {
            "HOME": env.dir.path(),
            "PATH": std::env::var("PATH").unwrap(),
            "USER": "tester",
            "TOKENVAULT_HOME": env.home,
            "TOKENVAULT_PASSPHRASE_FILE": env.pass_file,
        },
    });
    let out = Command::new("python3")
        .arg(dir.join("client.py"))
        .arg(params.to_string())
        .output()
        .expect("python3 with the `mcp` package (scripts/test installs it)");
    let out = env.check(&["mcp", "(client of a run entry)"], out);
    assert_ok(&out);
    assert_no_secret(&out, &token, "MCP client output");
    let seen: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(seen["server"], "tokenvault-test-server");
    assert_eq!(seen["tools"], serde_json::json!(["token_fingerprint"]));
    assert_eq!(seen["is_error"], false);
    assert_eq!(
        seen["fingerprint"],
        sha256_hex(&token),
        "the server saw the vault's token"
    );

    let raw = std::fs::read_to_string(&raw).unwrap();
    assert!(!raw.is_empty());
    for line in raw.lines() {
        let msg: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("non-JSON byte on the stdio stream ({e}): {line}"));
        assert_eq!(msg["jsonrpc"], "2.0", "{line}");
    }
    assert!(!raw.contains(&token));
}
