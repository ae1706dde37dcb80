//! A throwaway ClickHouse server for tests: [`ClickHouse::start`] runs `clickhouse-server`
//! as the current user on 127.0.0.1 with the configuration kept in `tests/clickhouse/`, a
//! free HTTP port and every directory under a fresh temporary directory; dropping the
//! handle kills the server, waits for it and removes the directory.
//!
//! Test files reach it as `support::clickhouse` (through `support/mod.rs`, whose
//! `Backend::clickhouse` runs the store-parameterised tests on it), or on its own with
//! `#[path = "support/clickhouse.rs"] mod clickhouse;` (it needs only `tempfile` and `ureq`).
//!
//! Where no `clickhouse-server` is installed, [`ClickHouse::start`] returns `None` and the
//! test skips itself with a note on stderr, unless `SPECFACT_REQUIRE_CLICKHOUSE` is set
//! (`scripts/test` sets it, so CI fails instead of skipping). `SPECFACT_CLICKHOUSE_SERVER`
//! names the binary when it is elsewhere than `PATH` or `/usr/sbin`.
//!
//! Debian's ClickHouse 18.16 is ready about 0.15 s after the start on a 2-core machine
//! (its `GET /ping` answers `Ok.`), with about 70 MB resident.

#![allow(dead_code)] // each test binary uses the part it needs

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Set (to anything) where a missing `clickhouse-server` must fail the test.
pub const REQUIRE_VAR: &str = "SPECFACT_REQUIRE_CLICKHOUSE";
/// Overrides where `clickhouse-server` is looked for.
pub const SERVER_VAR: &str = "SPECFACT_CLICKHOUSE_SERVER";

/// How long a start may take before the harness gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts with a new port when the chosen one was taken in between.
const START_ATTEMPTS: usize = 3;

/// A running test ClickHouse; killed and cleaned up on drop.
pub struct ClickHouse {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    agent: ureq::Agent,
}

impl ClickHouse {
    /// Starts a server and waits until it answers `GET /ping`.
    ///
    /// Returns `None` (after a note on stderr) when `clickhouse-server` is not installed and
    /// [`REQUIRE_VAR`] is not set. Panics with the server's own log when it fails to start.
    pub fn start() -> Option<ClickHouse> {
        Self::start_with(find_server(), std::env::var_os(REQUIRE_VAR).is_some())
    }

    /// [`ClickHouse::start`] with the binary already looked for and whether it is required.
    pub fn start_with(server: Option<PathBuf>, required: bool) -> Option<ClickHouse> {
        let Some(bin) = server else {
            assert!(
                !required,
                "clickhouse-server not found on PATH or in /usr/sbin, and {REQUIRE_VAR} is set: \
                 install it (scripts/install-test-deps installs Debian's clickhouse-server) or \
                 point {SERVER_VAR} at the binary"
            );
            eprintln!("skipped: clickhouse-server not found (set {SERVER_VAR} or install it)");
            return None;
        };
        let mut last_log = String::new();
        for _ in 0..START_ATTEMPTS {
            match Self::try_start(&bin) {
                Ok(server) => return Some(server),
                Err(log) => last_log = log,
            }
        }
        panic!(
            "clickhouse-server ({}) did not start after {START_ATTEMPTS} attempts; its log:\n{last_log}",
            bin.display()
        );
    }

    /// One attempt: `Err` carries the server's log when it exited or never answered.
    fn try_start(bin: &Path) -> Result<ClickHouse, String> {
        let dir = tempfile::Builder::new()
            .prefix("specfact-clickhouse-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let port = free_port();
        let root = dir.path();
        let sub = |name: &str| format!("{}/{name}/", root.display());
        let log_path = root.join("server.log");
        let log = File::create(&log_path).map_err(|e| format!("cannot create the log: {e}"))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cannot share the log: {e}"))?;
        let child = Command::new(bin)
            .arg(format!(
                "--config-file={}",
                config_dir().join("config.xml").display()
            ))
            .arg("--")
            .arg(format!("--http_port={port}"))
            .arg(format!("--path={}", sub("data")))
            .arg(format!("--tmp_path={}", sub("tmp")))
            .arg(format!("--user_files_path={}", sub("user_files")))
            .arg(format!("--format_schema_path={}", sub("format_schemas")))
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut server = ClickHouse {
            child,
            port,
            dir,
            agent,
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            // Another server may have taken the port in between (this one then exits):
            // only ours keeps its data under our directory.
            if server.ping() && server.is_ours() {
                return Ok(server);
            }
            let exited = server.child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() >= deadline {
                let what = match exited {
                    Some(status) => format!("exited ({status})"),
                    None => format!("did not answer /ping within {READY_TIMEOUT:?}"),
                };
                let text = std::fs::read_to_string(&log_path).unwrap_or_default();
                return Err(format!("{what}\n{text}"));
                // `server` drops here: killed, waited for, directory removed.
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the server answers `GET /ping` with `Ok.`.
    pub fn ping(&self) -> bool {
        let Ok(response) = self.agent.get(format!("{}/ping", self.base_url())).call() else {
            return false;
        };
        response.status() == 200
            && response
                .into_body()
                .read_to_string()
                .is_ok_and(|body| body.trim() == "Ok.")
    }

    /// Whether the server answering on our port keeps its data under our directory.
    fn is_ours(&self) -> bool {
        self.try_query("SELECT data_path FROM system.databases WHERE name = 'system'")
            .is_ok_and(|path| {
                let path = Path::new(path.trim());
                let dir = self.dir.path();
                path.starts_with(dir) || dir.canonicalize().is_ok_and(|d| path.starts_with(d))
            })
    }

    /// The HTTP port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The store's URL for `database`: `http://127.0.0.1:PORT/DATABASE`.
    pub fn database_url(&self, database: &str) -> String {
        format!("{}/{database}", self.base_url())
    }

    /// The server's `--store` argument for `database`: `clickhouse:http://127.0.0.1:PORT/DATABASE`.
    pub fn store_arg(&self, database: &str) -> String {
        format!("clickhouse:{}", self.database_url(database))
    }

    /// The temporary directory holding the server's data and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs `sql` as the `default` user and returns the answer's body; `Err` holds the
    /// status and ClickHouse's message.
    pub fn try_query(&self, sql: &str) -> Result<String, String> {
        let response = self
            .agent
            .post(format!("{}/", self.base_url()))
            .send(sql)
            .map_err(|e| format!("request failed: {e}"))?;
        let status = response.status();
        let body = response
            .into_body()
            .read_to_string()
            .map_err(|e| format!("cannot read the answer: {e}"))?;
        if status == 200 {
            Ok(body)
        } else {
            Err(format!("{status}: {}", body.trim()))
        }
    }

    /// Runs `sql` and returns the answer's body, trimmed; panics with ClickHouse's message
    /// when it fails.
    pub fn query(&self, sql: &str) -> String {
        match self.try_query(sql) {
            Ok(body) => body.trim().to_owned(),
            Err(e) => panic!("ClickHouse refused `{sql}`: {e}"),
        }
    }

    /// Runs `sql`, which must answer one number.
    pub fn query_u64(&self, sql: &str) -> u64 {
        let text = self.query(sql);
        text.parse()
            .unwrap_or_else(|_| panic!("`{sql}` answered {text:?}, not a number"))
    }

    /// Kills the server (SIGKILL), waits for it and removes its directory; returns how it
    /// ended. Dropping the handle does the same.
    pub fn stop(mut self) -> ExitStatus {
        self.kill_and_wait()
            .unwrap_or_else(|e| panic!("cannot stop clickhouse-server: {e}"))
    }

    fn kill_and_wait(&mut self) -> std::io::Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status);
        }
        self.child.kill()?;
        self.child.wait()
    }
}

impl Drop for ClickHouse {
    fn drop(&mut self) {
        let _ = self.kill_and_wait();
        // The TempDir member removes the directory after this.
    }
}

/// The directory of `config.xml` and `users.xml`.
pub fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clickhouse")
}

/// `clickhouse-server`: [`SERVER_VAR`], else on `PATH`, else `/usr/sbin` (Debian puts it
/// there, outside a normal user's `PATH`).
pub fn find_server() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(SERVER_VAR) {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "{SERVER_VAR}={} is not a file", p.display());
        return Some(p);
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("clickhouse-server"))
        .find(|p| p.is_file())
}

/// A port nothing listens on right now (the OS picks it; a race is handled by retrying).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot find a free port: {e}"))
}
