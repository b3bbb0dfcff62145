//! `tokenvault run --proxy` end to end (issue 17): the child holds a placeholder, never the token;
//! the loopback proxy adds the real value only for the provider's hosts. Real clients throughout —
//! `huggingface_hub` (`hf auth whoami`, an upload, a download redirected to a CDN stand-in), the
//! OpenAI Python SDK (base-URL mode), `curl` and Python `requests` (CONNECT mode with the run's CA)
//! — against stand-ins on 127.0.0.1 (plain HTTP for the Hub and OpenAI, TLS for CONNECT mode).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::standin::{start, Seen, StandIn};
use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const FILE_BODY: &str = "hello from the CDN stand-in\n";

fn bearer(req: &Seen) -> String {
    req.header("authorization")
        .unwrap_or("")
        .trim_start_matches("Bearer ")
        .to_owned()
}

fn read(p: &std::path::Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// The CDN stand-in: serves the file to anyone (its URL is the signature), records what it saw.
fn cdn() -> StandIn {
    start(Arc::new(|_req: &Seen| {
        (
            200,
            vec![("ETag".into(), "\"cdn-etag\"".into())],
            FILE_BODY.to_owned(),
        )
    }))
}

/// A Hub stand-in for whoami-v2, a download (HEAD/GET resolve → 302 to `cdn`), an upload
/// (preupload + commit) and an echo of the Authorization header (the scrubbing test).
fn hub(token: &str, cdn_url: &str) -> StandIn {
    let token = token.to_owned();
    let cdn_url = cdn_url.to_owned();
    start(Arc::new(move |req: &Seen| {
        let json = |status, body: String| (status, vec![], body);
        let authed = bearer(req) == token;
        let path = req.target.split('?').next().unwrap_or("");
        if path == "/api/whoami-v2" {
            return if authed {
                json(200, hub::read_token_body(None))
            } else {
                json(401, hub::UNAUTHORIZED.to_owned())
            };
        }
        if !authed {
            return json(401, hub::UNAUTHORIZED.to_owned());
        }
        if path == "/api/echo" {
            return json(200, format!(r#"{{"you_sent":"{}"}}"#, bearer(req)));
        }
        if path.ends_with("/resolve/main/data.txt") {
            let size = FILE_BODY.len().to_string();
            return (
                302,
                vec![
                    (
                        "Location".into(),
                        format!("{cdn_url}/blobs/data.txt?sig=abc"),
                    ),
                    ("X-Repo-Commit".into(), COMMIT.into()),
                    ("X-Linked-Etag".into(), "\"cdn-etag\"".into()),
                    ("ETag".into(), "\"cdn-etag\"".into()),
                    ("X-Linked-Size".into(), size),
                ],
                String::new(),
            );
        }
        if path.contains("/preupload/") {
            return json(
                200,
                r#"{"files":[{"path":"remote.txt","uploadMode":"regular","shouldIgnore":false}]}"#
                    .to_owned(),
            );
        }
        if path.contains("/commit/") {
            return json(
                200,
                format!(
                    r#"{{"success":true,"commitOid":"{COMMIT}","commitUrl":"https://huggingface.co/alice/demo/commit/{COMMIT}","commitMessage":"up","commitDescription":""}}"#
                ),
            );
        }
        json(404, r#"{"error":"Not found"}"#.to_owned())
    }))
}

/// The placeholder the child got (written by the child to `file`).
fn placeholder_from(file: &std::path::Path) -> String {
    let p = read(file);
    assert!(!p.is_empty(), "the child wrote no placeholder");
    p
}

#[test]
fn huggingface_hub_whoami_upload_and_download_through_base_url_mode() {
    let (mut env, token) = Env::with_hf_token();
    let cdn = cdn();
    let hub = hub(&token, &cdn.url);
    env.vars.push(("HF_ENDPOINT".into(), hub.url.clone()));
    let hf_home = env.test_file("hf-home");
    let environ = env.test_file("environ");
    let seen = env.test_file("placeholder");
    let upload = env.fixture("upload.txt", "uploaded through the proxy\n");
    let download_dir = env.test_file("downloads");
    let probe = env.env_probe(&[]);
    let script = format!(
        "set -e
export HF_HOME={hf_home} HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_XET=1
cat /proc/$$/environ > {environ}
printf %s \"$HF_TOKEN\" > {seen}
hf auth whoami
python3 - <<'EOF'
from huggingface_hub import HfApi
info = HfApi().upload_file(path_or_fileobj='{upload}', path_in_repo='remote.txt', repo_id='alice/demo')
print('uploaded', info.oid)
EOF
hf download alice/demo data.txt --local-dir {download_dir}
curl -sS \"$HF_ENDPOINT/api/echo\" -H \"Authorization: Bearer $HF_TOKEN\"
",
        hf_home = hf_home.display(),
        environ = environ.display(),
        seen = seen.display(),
        upload = upload.display(),
        download_dir = download_dir.display(),
    );
    let out = env.run(&[
        "run",
        "--proxy",
        "-e",
        "HF_TOKEN=huggingface",
        "--",
        &probe,
        "sh",
        "-c",
        &script,
    ]);
    assert_ok(&out);
    let placeholder = placeholder_from(&seen);
    assert_ne!(placeholder, token);
    assert!(placeholder.starts_with("hf_") && placeholder.len() == token.len());
    assert_has(&stdout(&out), "alice");
    assert_has(&stdout(&out), &format!("uploaded {COMMIT}"));
    assert_eq!(
        read(&download_dir.join("data.txt")),
        FILE_BODY,
        "the download followed the redirect to the CDN"
    );

    // The Hub stand-in saw the real token on every request; the CDN saw no token at all.
    let hub_seen = hub.requests();
    let paths: Vec<String> = hub_seen
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect();
    for what in [
        "/api/whoami-v2",
        "/preupload/",
        "/commit/",
        "/resolve/main/data.txt",
    ] {
        assert!(
            paths.iter().any(|p| p.contains(what)),
            "{what} not requested: {paths:?}"
        );
    }
    for r in &hub_seen {
        // `hf` also asks for things anonymously (e.g. /api/agent-harnesses); whatever carried
        // a credential carried the real one.
        let authed = ["/api/whoami-v2", "/preupload/", "/commit/", "/resolve/"]
            .iter()
            .any(|p| r.target.contains(p));
        if authed || !bearer(r).is_empty() {
            assert_eq!(
                bearer(r),
                token,
                "{} {} lacked the real token",
                r.method,
                r.target
            );
        }
    }
    let cdn_seen = cdn.requests();
    assert!(!cdn_seen.is_empty(), "the CDN stand-in was not reached");
    for r in &cdn_seen {
        let auth = r.header("authorization").unwrap_or("");
        assert!(!auth.contains(&token), "the CDN saw the real token");
        assert!(!auth.contains(&placeholder), "the CDN saw a credential");
    }
    // The child's environment held the placeholder only (the env probe checks the same for
    // every registered value on drop).
    let environ = read(&environ);
    assert_lacks(&environ, &token);
    assert_has(&environ, &format!("HF_TOKEN={placeholder}"));
    // The echoed token came back as the placeholder.
    assert_has(&stdout(&out), &format!(r#"{{"you_sent":"{placeholder}"}}"#));
    // Nothing the child wrote holds the token (the Hub client's cache and the download included).
    for f in files_under(&hf_home)
        .into_iter()
        .chain(files_under(&download_dir))
    {
        let bytes = std::fs::read(&f).unwrap_or_default();
        assert_lacks(&String::from_utf8_lossy(&bytes), &token);
    }

    // Every credentialed request is in the audit log.
    let audit = env.run(&["audit"]);
    assert_ok(&audit);
    let text = stdout(&audit);
    assert_has(&text, "run-proxy");
    assert_has(&text, "GET 127.0.0.1");
    assert_has(&text, "/api/whoami-v2 200");
    assert_has(&text, "/commit/main 200");
}

#[test]
fn openai_sdk_through_base_url_mode() {
    let env_ = Env::new();
    let mut env = env_;
    let key = {
        let a = hf_token();
        let b = hf_token();
        format!("sk-proj-{}T3BlbkFJ{}", &a[3..], &b[3..])
    };
    env.set("openai", &key);
    let k = key.clone();
    let api = start(Arc::new(move |req: &Seen| {
        if bearer(req) != k {
            return (401, vec![], r#"{"error":{"message":"bad key","type":"invalid_request_error","code":"invalid_api_key"}}"#.to_owned());
        }
        (
            200,
            vec![],
            r#"{"object":"list","data":[{"id":"gpt-standin","object":"model","created":0,"owned_by":"test"}]}"#.to_owned(),
        )
    }));
    env.vars
        .push(("OPENAI_BASE_URL".into(), format!("{}/v1", api.url)));
    let probe = env.env_probe(&[]);
    let out = env.run(&[
        "run",
        "--proxy",
        "-e",
        "OPENAI_API_KEY=openai",
        "--",
        &probe,
        "python3",
        "-c",
        "import os\nfrom openai import OpenAI\nc = OpenAI()\nprint([m.id for m in c.models.list()], os.environ['OPENAI_BASE_URL'].startswith('http://127.0.0.1:'))",
    ]);
    assert_ok(&out);
    assert_has(&stdout(&out), "['gpt-standin'] True");
    let seen = api.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].target, "/v1/models");
    assert_eq!(bearer(&seen[0]), key, "the stand-in got the real key");
}

/// A TLS stand-in on 127.0.0.1 with a certificate for `localhost` and `127.0.0.1` from a CA the
/// test makes; returns it and the CA file (PEM).
fn tls_standin(env: &Env) -> (u16, std::path::PathBuf, Arc<Mutex<Vec<Seen>>>) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "run_proxy test CA");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let mut leaf =
        rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let ca_file = env.fixture("test-ca.pem", ca_cert.pem());

    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![leaf_cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
            leaf_key.serialize_der(),
        )),
    )
    .unwrap();
    let config = Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (config, seen) = (config.clone(), seen2.clone());
            std::thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let Some(req) = read_request(&mut tls) else {
                    return;
                };
                seen.lock().unwrap().push(req.clone());
                let body = format!(
                    r#"{{"you_sent":"{}","path":"{}"}}"#,
                    bearer(&req),
                    req.target
                );
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(head.as_bytes());
                let _ = tls.write_all(body.as_bytes());
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    (port, ca_file, seen)
}

fn read_request(stream: &mut impl Read) -> Option<Seen> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut headers = Vec::new();
    loop {
        let mut l = String::new();
        if reader.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    let mut parts = line.split_whitespace();
    Some(Seen {
        method: parts.next().unwrap_or("").to_owned(),
        target: parts.next().unwrap_or("").to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// An env for CONNECT mode: the Hub at `https://localhost:PORT` (a TLS stand-in the proxy trusts
/// through TOKENVAULT_PROXY_CA_FILE, and the child through its usual bundle, SSL_CERT_FILE).
fn connect_env() -> (Env, String, u16, Arc<Mutex<Vec<Seen>>>) {
    let (mut env, token) = Env::with_hf_token();
    let (port, ca_file, seen) = tls_standin(&env);
    let ca = ca_file.display().to_string();
    env.vars
        .push(("HF_ENDPOINT".into(), format!("https://localhost:{port}")));
    env.vars
        .push(("TOKENVAULT_PROXY_CA_FILE".into(), ca.clone()));
    env.vars.push(("SSL_CERT_FILE".into(), ca));
    (env, token, port, seen)
}

#[test]
fn curl_and_requests_through_connect_mode_with_the_runs_ca() {
    let (env, token, port, seen) = connect_env();
    let placeholder_file = env.test_file("placeholder");
    let probe = env.env_probe(&[]);
    let script = format!(
        "set -e
printf %s \"$HF_TOKEN\" > {ph}
curl -sS --fail https://localhost:{port}/api/whoami-v2 -H \"Authorization: Bearer $HF_TOKEN\"; echo
python3 -c \"import os, requests; r = requests.get('https://localhost:{port}/api/echo', headers={{'Authorization': 'Bearer ' + os.environ['HF_TOKEN']}}); print(r.status_code, r.text)\"
curl -sS --fail https://127.0.0.1:{port}/not-policy -H \"Authorization: Bearer $HF_TOKEN\"; echo
curl -sS --fail \"$HF_ENDPOINT/via-base-url\" -H \"Authorization: Bearer $HF_TOKEN\"; echo
",
        ph = placeholder_file.display()
    );
    let out = env.run(&[
        "run",
        "--proxy",
        "-e",
        "HF_TOKEN=huggingface",
        "--",
        &probe,
        "sh",
        "-c",
        &script,
    ]);
    assert_ok(&out);
    let placeholder = placeholder_from(&placeholder_file);
    let seen = seen.lock().unwrap().clone();
    let by_path = |p: &str| {
        seen.iter()
            .find(|r| r.target == p)
            .unwrap_or_else(|| panic!("{p} not requested: {seen:?}"))
            .clone()
    };
    // curl and requests reached the allowed host through the proxy: it sent the real token.
    assert_eq!(bearer(&by_path("/api/whoami-v2")), token);
    assert_eq!(bearer(&by_path("/api/echo")), token);
    // Base-URL mode with a TLS upstream: the listener re-encrypts, trusting TOKENVAULT_PROXY_CA_FILE.
    assert_eq!(bearer(&by_path("/via-base-url")), token);
    // A host outside the policy (same server, another name) got the placeholder, tunnelled.
    assert_eq!(bearer(&by_path("/not-policy")), placeholder);
    // The echoed token came back as the placeholder (the leak check also scans stdout).
    let so = stdout(&out);
    assert_has(
        &so,
        &format!(r#"200 {{"you_sent":"{placeholder}","path":"/api/echo"}}"#),
    );
    assert_has(
        &so,
        &format!(r#"{{"you_sent":"{placeholder}","path":"/not-policy"}}"#),
    );
    assert_lacks(&so, &token);
}

#[test]
fn read_only_refuses_a_post_and_the_audit_says_so() {
    let (env, token, port, seen) = connect_env();
    let script = format!(
        "curl -sS -o /dev/null -w '%{{http_code}}\\n' https://localhost:{port}/api/whoami-v2 -H \"Authorization: Bearer $HF_TOKEN\"
curl -sS -w ' %{{http_code}}\\n' -X POST https://localhost:{port}/api/repos/create -H \"Authorization: Bearer $HF_TOKEN\" -d '{{}}'"
    );
    let out = env.run(&[
        "run",
        "--proxy",
        "--read-only",
        "-e",
        "HF_TOKEN=huggingface",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert_ok(&out);
    let so = stdout(&out);
    assert_has(&so, "200\n");
    assert_has(&so, "method POST is not allowed by this run's policy");
    assert_has(&so, " 403\n");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "the POST never left the proxy: {seen:?}");
    assert_eq!(bearer(&seen[0]), token);

    let audit = env.run(&["audit", "--json"]);
    assert_ok(&audit);
    let text = stdout(&audit);
    assert_has(&text, &format!("GET localhost:{port}/api/whoami-v2 200"));
    assert_has(
        &text,
        &format!("POST localhost:{port}/api/repos/create refused"),
    );
}

#[test]
fn exit_status_passes_through_and_unknown_providers_are_refused() {
    let (mut env, _token) = Env::with_hf_token();
    let tmp = env.test_file("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    env.vars.push(("TMPDIR".into(), tmp.display().to_string()));
    // The child gets one CA bundle under every variable clients read, private, holding the
    // run's CA; it is gone with the run.
    let script = r#"echo "$SSL_CERT_FILE"; stat -c %a "$SSL_CERT_FILE"
for v in "$REQUESTS_CA_BUNDLE" "$CURL_CA_BUNDLE" "$NODE_EXTRA_CA_CERTS"; do [ "$v" = "$SSL_CERT_FILE" ] || echo "differs: $v"; done
head -1 "$SSL_CERT_FILE"; exit 7"#;
    let out = env.run(&[
        "run",
        "--proxy",
        "-e",
        "HF_TOKEN=huggingface",
        "--",
        "sh",
        "-c",
        script,
    ]);
    assert_code(&out, 7);
    let so = stdout(&out);
    let lines: Vec<&str> = so.lines().collect();
    assert_eq!(lines.len(), 3, "{so}");
    let bundle = std::path::PathBuf::from(lines[0]);
    assert!(bundle.starts_with(&tmp), "{bundle:?}");
    assert_eq!(lines[1], "600", "the CA bundle is private");
    assert_eq!(lines[2], "-----BEGIN CERTIFICATE-----");
    assert!(!bundle.exists(), "the CA bundle outlived the run");
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "the proxy's temporary directory outlived the run"
    );
    env.set(
        "aws/secret_access_key",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    );
    let out = env.run(&[
        "run",
        "--proxy",
        "-e",
        "AWS_SECRET_ACCESS_KEY=aws/secret_access_key",
        "--",
        "true",
    ]);
    assert_error(&out, 2, &["cannot go through --proxy", "hint:"]);
}

#[test]
fn signals_reach_the_child_and_the_proxy_dies_with_it() {
    let (env, _token) = Env::with_hf_token();
    let ready = env.test_file("ready");
    let marker = env.test_file("got-term");
    let script = format!(
        "trap 'echo TERM > \"{m}\"; exit 5' TERM; echo \"$HTTPS_PROXY\" > \"{r}\"; while :; do sleep 0.05; done",
        m = marker.display(),
        r = ready.display()
    );
    let mut c = env.cmd();
    c.args([
        "run",
        "--proxy",
        "-e",
        "HF_TOKEN=huggingface",
        "--",
        "sh",
        "-c",
        &script,
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while read(&ready).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the child never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let proxy = read(&ready).trim().to_owned();
    let addr = proxy
        .rsplit_once('@')
        .map(|(_, a)| a.to_owned())
        .unwrap_or_default();
    // The proxy listens while the child runs, and serves only requests with the run's token.
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.write_all(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        .unwrap();
    let mut answer = [0u8; 12];
    s.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 407");
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = env.check(&Env::args_of(&c), child.wait_with_output().unwrap());
    assert_code(&out, 5);
    assert_eq!(read(&marker), "TERM\n", "SIGTERM did not reach the child");
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "the proxy outlived the child"
    );
}

#[test]
fn allow_path_and_allow_method_narrow_what_the_credential_may_do() {
    let (env, token, port, seen) = connect_env();
    let script = format!(
        "for p in /api/whoami-v2 /api/whoami-v2/x /api/other /api/whoami-v2/../other; do
  curl -sS --path-as-is -o /dev/null -w \"$p %{{http_code}}\\n\" https://localhost:{port}$p -H \"Authorization: Bearer $HF_TOKEN\"
done
curl -sS -o /dev/null -w 'DELETE %{{http_code}}\\n' -X DELETE https://localhost:{port}/api/whoami-v2 -H \"Authorization: Bearer $HF_TOKEN\""
    );
    let out = env.run(&[
        "run",
        "--proxy",
        "--allow-method",
        "get,head",
        "--allow-path",
        "/api/whoami-v2",
        "-e",
        "HF_TOKEN=huggingface",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert_ok(&out);
    assert_eq!(
        stdout(&out),
        "/api/whoami-v2 200\n/api/whoami-v2/x 200\n/api/other 403\n/api/whoami-v2/../other 403\nDELETE 403\n"
    );
    let seen = seen.lock().unwrap().clone();
    let targets: Vec<&str> = seen.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(targets, ["/api/whoami-v2", "/api/whoami-v2/x"]);
    assert!(seen.iter().all(|r| bearer(r) == token));
    let bad = env.run(&[
        "run",
        "--proxy",
        "--allow-path",
        "api",
        "-e",
        "HF_TOKEN=huggingface",
        "--",
        "true",
    ]);
    assert_error(&bad, 2, &["--allow-path", "hint:"]);
    // An endpoint variable run --proxy cannot use is refused without echoing it (it may hold a
    // password).
    let mut c = env.cmd();
    c.env("HF_ENDPOINT", "https://alice:pw-not-shown@hub.example")
        .args(["run", "--proxy", "-e", "HF_TOKEN=huggingface", "--", "true"]);
    let bad = env.output(&mut c);
    let err = assert_error(&bad, 2, &["HF_ENDPOINT is not an http(s)", "hint:"]);
    assert_lacks(&err, "pw-not-shown");
    let bad = env.run(&[
        "run",
        "--read-only",
        "-e",
        "HF_TOKEN=huggingface",
        "--",
        "true",
    ]);
    assert_error(&bad, 2, &["--proxy"]);
}
