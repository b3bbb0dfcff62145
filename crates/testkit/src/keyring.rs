//! A private, real Secret Service for one test: a session bus run by `dbus-run-session` plus an
//! unlocked `gnome-keyring-daemon`, each in its own process group, in a fresh temporary home.
//!
//! Why it is built this way (SPEC §10 "Known pitfalls"):
//! - The bus is `dbus-run-session --config-file=…` with a generated config rather than the default
//!   session one. The default session config lists the system's D-Bus service files, so a call to
//!   `org.freedesktop.secrets` before our daemon owns the name would *activate a second, locked*
//!   gnome-keyring; our config has no service directories, so nothing is ever activated, and a bus
//!   started without a keyring really has no Secret Service. It also lets the bus listen on
//!   `$XDG_RUNTIME_DIR/bus`, where the "no `DBUS_SESSION_BUS_ADDRESS`" fallback looks.
//! - The keyring gets the login password on stdin (`--unlock`), and [`KeyringSession::start`]
//!   returns only once `org.freedesktop.secrets` has an owner and the default collection exists and
//!   is unlocked.
//! - HOME and every XDG directory point into the session's own temporary directory, so keyrings
//!   never mix between tests or touch the developer's real keyring.
//! - The daemon can outlive its bus, so [`Drop`] kills both process groups and reaps them.

use crate::process::run_with_timeout;
use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long start-up may take before the session is declared broken.
const STARTUP_LIMIT: Duration = Duration::from_secs(10);
/// How long one helper call (dbus-send, secret-tool) may take.
const CALL_LIMIT: Duration = Duration::from_secs(10);
/// The login keyring's password. Test-only: the keyring lives in a temporary directory.
const LOGIN_PASSWORD: &[u8] = b"tokenvault-testkit-login";
const INSTALL_HINT: &str = "install Debian packages gnome-keyring dbus libsecret-tools";
const SECRETS_NAME: &str = "org.freedesktop.secrets";
const SECRETS_PATH: &str = "/org/freedesktop/secrets";

/// A running private session bus, with or without a Secret Service on it. Everything stops when
/// it is dropped.
pub struct KeyringSession {
    dir: tempfile::TempDir,
    bus_address: String,
    bus: Child,
    keyring: Option<Child>,
}

impl KeyringSession {
    /// Starts a session bus and an unlocked gnome-keyring on it; returns once the Secret Service
    /// is usable (name owned, default collection present and unlocked), or an error that says
    /// what did not come up, within about ten seconds.
    pub fn start() -> Result<Self, String> {
        require(&[
            "dbus-run-session",
            "dbus-daemon",
            "dbus-send",
            "gnome-keyring-daemon",
            "secret-tool",
        ])?;
        let mut session = Self::start_bus()?;
        session.start_keyring()?;
        Ok(session)
    }

    /// Starts a session bus with no Secret Service on it (and none that could be activated).
    pub fn start_without_keyring() -> Result<Self, String> {
        require(&["dbus-run-session", "dbus-daemon", "dbus-send"])?;
        Self::start_bus()
    }

    /// The bus address, as `DBUS_SESSION_BUS_ADDRESS` would hold it.
    pub fn bus_address(&self) -> &str {
        &self.bus_address
    }

    /// `$XDG_RUNTIME_DIR` of the session; the bus socket is `bus` inside it.
    pub fn runtime_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// `$HOME` of the session.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// The variables a child process needs to use this session: `DBUS_SESSION_BUS_ADDRESS`,
    /// `HOME` and the XDG directories. `PATH` is not included.
    pub fn env(&self) -> Vec<(String, String)> {
        let home = self.home();
        let path = |p: PathBuf| p.to_string_lossy().into_owned();
        vec![
            ("DBUS_SESSION_BUS_ADDRESS".into(), self.bus_address.clone()),
            ("HOME".into(), path(home.clone())),
            ("XDG_DATA_HOME".into(), path(home.join(".local/share"))),
            ("XDG_CONFIG_HOME".into(), path(home.join(".config"))),
            ("XDG_CACHE_HOME".into(), path(home.join(".cache"))),
            ("XDG_RUNTIME_DIR".into(), path(self.runtime_dir())),
        ]
    }

    /// A command for `program` with a clean environment: `PATH` plus [`env`](Self::env).
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear();
        if let Some(p) = std::env::var_os("PATH") {
            cmd.env("PATH", p);
        }
        cmd.envs(self.env());
        cmd
    }

    /// Runs `secret-tool ARGS` against this session, `stdin` as its input (exactly those bytes:
    /// `secret-tool store` keeps a trailing newline). Panics if it cannot run or hangs.
    pub fn secret_tool(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = self.command("secret-tool");
        cmd.args(args);
        run_with_timeout(&mut cmd, stdin.map(str::as_bytes), CALL_LIMIT)
            .unwrap_or_else(|e| panic!("testkit: secret-tool {args:?}: {e}"))
    }

    /// `secret-tool lookup` of the value tokenvault keeps for `item/field` in `slot` (`current`,
    /// `previous`), by the documented attributes. Panics if it cannot run or hangs.
    pub fn lookup_tokenvault(&self, item: &str, field: &str, slot: &str) -> Output {
        let mut args = vec!["lookup"];
        args.extend(tokenvault_attributes(item, field, slot));
        self.secret_tool(&args, None)
    }

    /// `secret-tool store --label=LABEL` of `value` (exactly those bytes) under tokenvault's
    /// attributes for `item/field` in the `current` slot, plus `extra` attribute pairs, as a user
    /// or another tool would put it there. Panics unless it succeeds.
    pub fn store_tokenvault(
        &self,
        label: &str,
        item: &str,
        field: &str,
        extra: &[&str],
        value: &str,
    ) {
        let label = format!("--label={label}");
        let mut args = vec!["store", &label];
        args.extend(tokenvault_attributes(item, field, "current"));
        args.extend_from_slice(extra);
        let out = self.secret_tool(&args, Some(value));
        assert!(
            out.status.success(),
            "testkit: secret-tool {args:?}: {out:?}"
        );
    }

    /// The object path of the collection behind the `default` alias, if there is one.
    pub fn default_collection(&self) -> Result<Option<String>, String> {
        let out = self.dbus_send(
            SECRETS_NAME,
            SECRETS_PATH,
            "org.freedesktop.Secret.Service.ReadAlias",
            &["string:default"],
        )?;
        let path = out.trim();
        Ok((path != "/" && !path.is_empty()).then(|| path.to_owned()))
    }

    /// Whether the collection at `path` is locked.
    pub fn is_locked(&self, path: &str) -> Result<bool, String> {
        let out = self.dbus_send(
            SECRETS_NAME,
            path,
            "org.freedesktop.DBus.Properties.Get",
            &["string:org.freedesktop.Secret.Collection", "string:Locked"],
        )?;
        parse_bool(&out).ok_or_else(|| format!("unexpected Locked property reply: {out:?}"))
    }

    /// Locks the default collection (`org.freedesktop.Secret.Service.Lock`), as a screen lock or
    /// `seahorse` would, and checks that it is locked.
    pub fn lock_collection(&self) -> Result<(), String> {
        let path = self
            .default_collection()?
            .ok_or("testkit: no default collection to lock")?;
        self.dbus_send(
            SECRETS_NAME,
            SECRETS_PATH,
            "org.freedesktop.Secret.Service.Lock",
            &[&format!("array:objpath:{path}")],
        )?;
        match self.is_locked(&path)? {
            true => Ok(()),
            false => Err(format!("testkit: {path} is still unlocked after Lock")),
        }
    }

    /// Stops (SIGSTOP) the keyring daemon: it keeps its bus name but answers nothing, to test
    /// that callers time out instead of hanging. Drop still ends it.
    pub fn freeze_keyring(&self) -> Result<(), String> {
        let child = self.keyring.as_ref().ok_or("testkit: no keyring daemon")?;
        signal_group(child, libc::SIGSTOP);
        Ok(())
    }

    /// Stops (SIGSTOP) the bus daemon: new connections hang in their handshake, as with a wedged
    /// desktop bus. Drop still ends it.
    pub fn freeze_bus(&self) {
        signal_group(&self.bus, libc::SIGSTOP);
    }

    fn start_bus() -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("tv-keyring-")
            .tempdir()
            .map_err(|e| format!("testkit: cannot create a temporary directory: {e}"))?;
        let root = dir.path();
        for sub in ["home/.local/share", "home/.config", "home/.cache", "run"] {
            fs::create_dir_all(root.join(sub))
                .map_err(|e| format!("testkit: cannot create {}: {e}", root.join(sub).display()))?;
        }
        // XDG_RUNTIME_DIR must be private (XDG base directory spec; gnome-keyring checks).
        fs::set_permissions(root.join("run"), fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("testkit: chmod {}: {e}", root.join("run").display()))?;

        let socket = root.join("run/bus");
        let listen = format!("unix:path={}", escape_address_value(&socket));
        let config = root.join("bus.conf");
        fs::write(&config, bus_config(&listen))
            .map_err(|e| format!("testkit: cannot write {}: {e}", config.display()))?;
        let log = log_file(root, "dbus-daemon.log")?;

        // dbus-run-session runs a session bus for the life of one program: ours prints the bus
        // address and then waits to be killed. Our config replaces the default session config
        // (see the module docs); the bus dies with the session.
        let mut cmd = Command::new("dbus-run-session");
        cmd.arg(format!("--config-file={}", config.display()))
            .args([
                "--",
                "sh",
                "-c",
                "printf '%s\\n' \"$DBUS_SESSION_BUS_ADDRESS\"; exec sleep 2147483647",
            ])
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            // Its own process group, so Drop can end it and anything it started in one call.
            .process_group(0);
        if let Some(p) = std::env::var_os("PATH") {
            cmd.env("PATH", p);
        }
        let mut bus = cmd
            .spawn()
            .map_err(|e| format!("testkit: cannot start dbus-run-session: {e}; {INSTALL_HINT}"))?;

        // The daemon prints its address once it listens. Read it on a thread so a daemon that
        // never gets that far cannot block us past the start-up limit.
        let stdout = bus.stdout.take();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            if let Some(out) = stdout {
                let _ = BufReader::new(out).read_line(&mut line);
            }
            let _ = tx.send(line);
        });
        let address = match rx.recv_timeout(STARTUP_LIMIT) {
            Ok(line) if !line.trim().is_empty() => line.trim().to_owned(),
            other => {
                signal_group(&bus, libc::SIGKILL);
                let _ = bus.wait();
                let why = if other.is_ok() {
                    "it exited without printing its address"
                } else {
                    "it printed no address in time"
                };
                return Err(format!(
                    "testkit: dbus-daemon did not start: {why}; its log:\n{}",
                    read_log(root, "dbus-daemon.log")
                ));
            }
        };
        Ok(KeyringSession {
            dir,
            bus_address: address,
            bus,
            keyring: None,
        })
    }

    fn start_keyring(&mut self) -> Result<(), String> {
        let root = self.dir.path().to_owned();
        let log = log_file(&root, "gnome-keyring.log")?;
        let log2 = log
            .try_clone()
            .map_err(|e| format!("testkit: cannot reuse the keyring log: {e}"))?;
        let mut cmd = self.command("gnome-keyring-daemon");
        // --foreground keeps it our child (in its own group) instead of a daemon we lose track
        // of; --unlock reads the login password from stdin and creates the login keyring.
        cmd.args(["--foreground", "--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(log)
            .stderr(log2)
            .process_group(0);
        let mut child = cmd.spawn().map_err(|e| {
            format!("testkit: cannot start gnome-keyring-daemon: {e}; {INSTALL_HINT}")
        })?;
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write;
            stdin
                .write_all(LOGIN_PASSWORD)
                .map_err(|e| format!("testkit: cannot pass the password to the keyring: {e}"))?;
        }
        self.keyring = Some(child);
        self.wait_until_ready()
    }

    /// Polls until the Secret Service is usable. Using it earlier is what makes D-Bus activate a
    /// second, locked daemon elsewhere; here it would just fail, so wait.
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_LIMIT;
        let mut state = String::from("not checked yet");
        while Instant::now() < deadline {
            if let Some(child) = self.keyring.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!(
                        "testkit: gnome-keyring-daemon exited ({status}) before it was ready; its log:\n{}",
                        read_log(self.dir.path(), "gnome-keyring.log")
                    ));
                }
            }
            match self.readiness() {
                Ok(None) => return Ok(()),
                Ok(Some(s)) | Err(s) => state = s,
            }
            thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "testkit: the Secret Service was not ready after {STARTUP_LIMIT:?}: {state}; keyring log:\n{}",
            read_log(self.dir.path(), "gnome-keyring.log")
        ))
    }

    /// `None` when ready, else what is still missing.
    fn readiness(&self) -> Result<Option<String>, String> {
        let owned = self.dbus_send(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            &[&format!("string:{SECRETS_NAME}")],
        )?;
        if parse_bool(&owned) != Some(true) {
            return Ok(Some(format!("{SECRETS_NAME} has no owner")));
        }
        let Some(path) = self.default_collection()? else {
            return Ok(Some("there is no default collection".into()));
        };
        if self.is_locked(&path)? {
            return Ok(Some(format!("{path} is locked")));
        }
        Ok(None)
    }

    fn dbus_send(
        &self,
        dest: &str,
        path: &str,
        method: &str,
        args: &[&str],
    ) -> Result<String, String> {
        let mut cmd = self.command("dbus-send");
        cmd.args([
            "--session",
            "--print-reply=literal",
            "--reply-timeout=5000",
            &format!("--dest={dest}"),
            path,
            method,
        ])
        .args(args);
        let out = run_with_timeout(&mut cmd, None, CALL_LIMIT)?;
        if !out.status.success() {
            return Err(format!(
                "dbus-send {method} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for KeyringSession {
    fn drop(&mut self) {
        // The keyring first: it would otherwise notice the bus going away and log noise.
        if let Some(child) = self.keyring.as_mut() {
            signal_group(child, libc::SIGKILL);
            let _ = child.wait();
        }
        signal_group(&self.bus, libc::SIGKILL);
        let _ = self.bus.wait();
    }
}

/// Sends `signal` to the process group led by `child` (spawned with `process_group(0)`, so its
/// group id is its pid).
fn signal_group(child: &Child, signal: libc::c_int) {
    let Ok(pgid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // SAFETY: kill(2) takes plain integers and touches no memory of ours; a negative pid names
    // the process group we created for this child.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// Fails with the install hint when a needed program is not on `PATH`.
fn require(programs: &[&str]) -> Result<(), String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|p| !std::env::split_paths(&path).any(|dir| is_executable(&dir.join(p))))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "testkit: {} not found on PATH; {INSTALL_HINT}",
            missing.join(", ")
        ))
    }
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn log_file(root: &Path, name: &str) -> Result<File, String> {
    File::create(root.join(name))
        .map_err(|e| format!("testkit: cannot create {}: {e}", root.join(name).display()))
}

fn read_log(root: &Path, name: &str) -> String {
    fs::read_to_string(root.join(name)).unwrap_or_else(|e| format!("(no log: {e})"))
}

/// `boolean true` / `variant boolean false` as printed by `dbus-send --print-reply=literal`.
fn parse_bool(reply: &str) -> Option<bool> {
    match reply.split_whitespace().last()? {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// D-Bus address value escaping: bytes outside `[-0-9A-Za-z_/.\*]` become `%XX`. The result has
/// no XML special characters either, so it can go into the config file as it is.
fn escape_address_value(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_/.\\*".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// A session bus that listens where we say, lets this user do anything, and knows no service
/// files: nothing can be activated, so the only Secret Service is the one we start.
fn bus_config(listen: &str) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>{listen}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#
    )
}

/// The attributes tokenvault's keychain backend stores a value under (its documented contract).
fn tokenvault_attributes<'a>(item: &'a str, field: &'a str, slot: &'a str) -> [&'a str; 8] {
    [
        "service",
        "tokenvault",
        "item",
        item,
        "field",
        field,
        "slot",
        slot,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_address_values() {
        assert_eq!(
            escape_address_value(Path::new("/tmp/a b/ü,=;bus")),
            "/tmp/a%20b/%c3%bc%2c%3d%3bbus"
        );
    }

    #[test]
    fn parses_dbus_send_booleans() {
        assert_eq!(parse_bool("   boolean true\n"), Some(true));
        assert_eq!(parse_bool("   variant       boolean false\n"), Some(false));
        assert_eq!(parse_bool("   /org/x\n"), None);
    }

    #[test]
    fn session_without_keyring_has_no_secret_service() {
        let s = KeyringSession::start_without_keyring().unwrap_or_else(|e| panic!("{e}"));
        assert!(s.runtime_dir().join("bus").exists());
        assert!(
            s.default_collection().is_err(),
            "nothing answers for {SECRETS_NAME}"
        );
    }

    #[test]
    fn session_with_keyring_is_unlocked_and_lockable() {
        let s = KeyringSession::start().unwrap_or_else(|e| panic!("{e}"));
        let path = s.default_collection().unwrap().expect("default collection");
        assert!(!s.is_locked(&path).unwrap());
        let out = s.secret_tool(&["store", "--label=t", "a", "b"], Some("v"));
        assert!(out.status.success(), "{out:?}");
        let out = s.secret_tool(&["lookup", "a", "b"], None);
        assert_eq!(out.stdout, b"v");
        s.lock_collection().unwrap();
        assert!(s.is_locked(&path).unwrap());
    }
}
