//! The store-parameterised harness: each test body takes a [`Backend`] and runs against the
//! real server binary started on 127.0.0.1 with that store. [`store_tests!`] instantiates the
//! bodies once per store, so every store runs the same tests and must give the same counts.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use specfact_telemetry_server::store::{self, StoreLocation, StoredSpan};

pub mod clickhouse;

/// A store the server is started with.
pub struct Backend {
    /// `sqlite` or `clickhouse`.
    pub kind: &'static str,
    /// The `--store` value.
    pub store_arg: String,
    /// Scratch space of the test (scratch HOME, logs, the SQLite file).
    pub dir: tempfile::TempDir,
    /// The ClickHouse the `clickhouse` backend stores in; stopped with the backend.
    pub clickhouse: Option<clickhouse::ClickHouse>,
}

impl Backend {
    /// A fresh SQLite file in a temporary directory.
    pub fn sqlite() -> Backend {
        let dir = tempfile::tempdir().unwrap();
        let store_arg = format!(
            "sqlite:{}",
            dir.path().join("store/telemetry.sqlite3").display()
        );
        Backend {
            kind: "sqlite",
            store_arg,
            dir,
            clickhouse: None,
        }
    }

    /// A fresh ClickHouse of its own (`support/clickhouse.rs`), database `telemetry`; `None`
    /// (the test skips) where clickhouse-server is not installed and not required.
    pub fn clickhouse() -> Option<Backend> {
        let ch = clickhouse::ClickHouse::start()?;
        Some(Backend {
            kind: "clickhouse",
            store_arg: ch.store_arg("telemetry"),
            dir: tempfile::tempdir().unwrap(),
            clickhouse: Some(ch),
        })
    }

    /// Starts the server on a free port with this store.
    pub fn start(&self, extra: &[&str]) -> Server {
        Server::start(self, extra)
    }
}

/// Instantiates test bodies `fn name(backend: &Backend)` once per store: a module per store
/// (`sqlite::name`, …). Another store joins by adding a `Backend` constructor for it and a
/// module here; every test file then runs on it unchanged.
#[macro_export]
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name(&$crate::support::Backend::sqlite());
                }
            )*
        }
        mod clickhouse {
            $(
                #[test]
                fn $name() {
                    if let Some(backend) = $crate::support::Backend::clickhouse() {
                        super::$name(&backend);
                    }
                }
            )*
        }
    };
}

/// The server binary, running.
pub struct Server {
    child: Option<Child>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its process id.
    pub pid: u32,
    stderr: PathBuf,
    store_arg: String,
    extra: Vec<String>,
    dir: PathBuf,
}

impl Server {
    fn start(backend: &Backend, extra: &[&str]) -> Server {
        Self::spawn(
            backend.dir.path(),
            &backend.store_arg,
            extra.iter().map(|s| s.to_string()).collect(),
            "127.0.0.1:0",
        )
    }

    fn spawn(dir: &Path, store_arg: &str, extra: Vec<String>, listen: &str) -> Server {
        let n = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
        let stdout = dir.join(format!("server-{n}.out"));
        let stderr = dir.join(format!("server-{n}.err"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_specfact-telemetry-server"))
            .args(["--listen", listen, "--store", store_arg])
            .args(&extra)
            .env_remove("SPECFACT_TELEMETRY_SERVER_INGEST_TOKEN")
            .env("HOME", dir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = loop {
            let text = std::fs::read_to_string(&stdout).unwrap_or_default();
            if let Some(rest) = text.split("listening on http://127.0.0.1:").nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                break digits.parse::<u16>().unwrap();
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the server exited ({status}): {}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        Server {
            pid: child.id(),
            child: Some(child),
            port,
            stderr,
            store_arg: store_arg.to_owned(),
            extra,
            dir: dir.to_owned(),
        }
    }

    /// `http://127.0.0.1:PORT/v1/traces`.
    pub fn traces_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1/traces", self.port)
    }

    /// `GET /api/stats`.
    pub fn stats(&self) -> serde_json::Value {
        let r = http(self.port, "GET", "/api/stats", &[], b"");
        assert_eq!(r.status, 200, "{}", r.text());
        serde_json::from_slice(&r.body).unwrap()
    }

    /// A number from `/api/stats`.
    pub fn stat(&self, key: &str) -> u64 {
        self.stats()[key]
            .as_u64()
            .unwrap_or_else(|| panic!("no {key} in stats"))
    }

    /// Waits until `/api/stats` has `key >= n` (for clients that deliver in the background).
    pub fn wait_for(&self, key: &str, n: u64, within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        loop {
            let v = self.stat(key);
            if v >= n || Instant::now() > deadline {
                return v;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `POST /v1/traces` with a content type and optional encoding.
    pub fn post(&self, content_type: &str, encoding: Option<&str>, body: &[u8]) -> Reply {
        let mut headers = vec![("Content-Type", content_type)];
        if let Some(e) = encoding {
            headers.push(("Content-Encoding", e));
        }
        http(self.port, "POST", "/v1/traces", &headers, body)
    }

    /// Peak resident memory (VmHWM) in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// SIGKILL, then wait for it to be gone.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM; returns the exit status once it exits (panics after 30 s).
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(c.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = c.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the same server again (same store, same port) after it stopped.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop it first");
        let listen = format!("127.0.0.1:{}", self.port);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            // The port may linger briefly after a kill.
            if std::net::TcpListener::bind(&listen).is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "the port stayed busy");
            std::thread::sleep(Duration::from_millis(50));
        }
        let s = Server::spawn(&self.dir, &self.store_arg, self.extra.clone(), &listen);
        *self = s;
    }

    /// What the server printed on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Header lines, lowercase names.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request on a new connection (`Connection: close`).
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    try_http(port, method, path, headers, body).unwrap()
}

/// [`http`], with errors (a connection refused or reset) returned.
pub fn try_http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    // The server may answer (413) and close before the whole body is written.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> std::io::Result<Reply> {
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response");
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad())?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(bad)?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(std::str::from_utf8(&b[..i]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + n]);
        b = &b[i + 4 + n..];
    }
    out
}

/// gzip of `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The `rotel-agent` binary: on `PATH` or inside the installed `rotel` Python package.
pub fn find_rotel() -> Option<PathBuf> {
    let name = "rotel-agent";
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    for python in [
        workspace_root().join(".venv-test/bin/python"),
        PathBuf::from("python3"),
    ] {
        let Ok(out) = Command::new(&python)
            .args([
                "-c",
                "import os, rotel; print(os.path.dirname(rotel.__file__))",
            ])
            .stderr(Stdio::null())
            .output()
        else {
            continue;
        };
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let p = PathBuf::from(dir).join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    None
}

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something listens on `port`.
pub fn wait_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Skips (returns `None`) when a tool is missing, unless `SPECFACT_REQUIRE_ROTEL` is set
/// (`scripts/test`, CI), where a missing tool fails.
pub fn required<T>(tool: Option<T>, what: &str) -> Option<T> {
    if tool.is_none() {
        assert!(
            std::env::var_os("SPECFACT_REQUIRE_ROTEL").is_none(),
            "{what} not found: run scripts/install-test-deps"
        );
        eprintln!("skipped: {what} not found");
    }
    tool
}

/// Builders of OTLP requests.
pub mod otlp {
    pub use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message;

    /// A string attribute.
    pub fn s(key: &str, v: &str) -> KeyValue {
        kv(key, any_value::Value::StringValue(v.into()))
    }

    /// An int attribute.
    pub fn i(key: &str, v: i64) -> KeyValue {
        kv(key, any_value::Value::IntValue(v))
    }

    /// An attribute.
    pub fn kv(key: &str, v: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }

    /// A specfact span numbered `n` (ids derived from `n`), starting now-ish.
    pub fn span(n: u64, command: &str, attributes: Vec<KeyValue>) -> Span {
        let mut trace_id = [0u8; 16];
        trace_id[..8].copy_from_slice(&n.to_be_bytes());
        trace_id[15] = 1;
        let mut span_id = [0u8; 8];
        span_id.copy_from_slice(&(n ^ 0x5a5a_0000_0000_0000).to_be_bytes());
        span_id[0] |= 0x80;
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            - 60_000_000_000;
        Span {
            trace_id: trace_id.to_vec(),
            span_id: span_id.to_vec(),
            name: format!("specfact.{command}"),
            kind: 1,
            start_time_unix_nano: start,
            end_time_unix_nano: start + 14_000_000,
            attributes,
            ..Default::default()
        }
    }

    /// A typical `repro.run` span numbered `n`.
    pub fn repro(n: u64) -> Span {
        span(
            n,
            "repro.run",
            vec![
                s("specfact.mode", "repro"),
                i("specfact.files_analyzed", 2),
                i("specfact.checks_total", 3),
                i("specfact.checks_failed", 0),
                i("specfact.violations_detected", 0),
                s("specfact.session_id", "e66ed2f0ed0a4d81bf92d91b2add3fed"),
                kv("specfact.success", any_value::Value::BoolValue(true)),
                kv("specfact.duration_ms", any_value::Value::DoubleValue(14.79)),
                s("specfact.command", "repro.run"),
                s("specfact.telemetry_version", "1.0"),
                s("specfact.cli_version", "0.20.5"),
                s("specfact.opt_in_source", "env"),
            ],
        )
    }

    /// One request holding `spans` under a SpecFact resource with `service_name`.
    pub fn request_of(service_name: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        s("service.name", service_name),
                        s("service.version", "0.20.5"),
                        s("deployment.environment", "production"),
                        s("telemetry.opt_in_source", "env"),
                        s(
                            "service.instance.id",
                            "0be0ab3e-588b-4da6-8e97-3b5819d75b66",
                        ),
                    ],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    /// `repro.run` spans numbered `from..from + n`, as protobuf.
    pub fn repro_batch(from: u64, n: u64) -> Vec<u8> {
        request_of("specfact-cli", (from..from + n).map(repro).collect()).encode_to_vec()
    }

    /// Protobuf encoding.
    pub fn encode(r: &ExportTraceServiceRequest) -> Vec<u8> {
        r.encode_to_vec()
    }
}

/// Every stored span, read back through the store itself.
pub fn stored(backend: &Backend) -> Vec<StoredSpan> {
    let location: StoreLocation = backend.store_arg.parse().unwrap();
    let store = store::open(&location).unwrap();
    let mut out = Vec::new();
    store
        .events(SystemTime::UNIX_EPOCH, &mut |s| out.push(s))
        .unwrap();
    out
}

/// The `specfact-telemetry` CLI binary, built beside this package's binary (built here when
/// only this package's tests were built).
pub fn cli_binary() -> PathBuf {
    let server = PathBuf::from(env!("CARGO_BIN_EXE_specfact-telemetry-server"));
    let cli = server.with_file_name("specfact-telemetry");
    if !cli.is_file() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "-p",
                "specfact-telemetry-cli",
                "--bin",
                "specfact-telemetry",
            ])
            .current_dir(workspace_root())
            .status()
            .unwrap();
        assert!(status.success(), "building the CLI failed");
    }
    cli
}

/// Runs the original SpecFact CLI (`exe`) in `repo` with `home` as HOME, opted in and
/// exporting to `endpoint`; fails the test, with its output, when the command fails.
pub fn run_specfact(exe: &Path, home: &Path, repo: &Path, endpoint: &str, args: &[&str]) {
    let out = Command::new(exe)
        .args(args)
        .current_dir(repo)
        .env("HOME", home)
        .env_remove("SPECFACT_TELEMETRY_HEADERS")
        .env("SPECFACT_TELEMETRY_OPT_IN", "true")
        .env("SPECFACT_TELEMETRY_ENDPOINT", endpoint)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "specfact {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
