//! A real OTLP receiver accepts our requests: rotel (`pip install --pre rotel`,
//! binary `rotel-agent`) with its debug log of received spans.
//!
//! Runs when `rotel-agent` is on `PATH` or inside the installed `rotel` Python
//! package; otherwise it is skipped, unless `SPECFACT_REQUIRE_ROTEL` is set (CI),
//! where a missing receiver fails the test.

#![cfg(feature = "otlp")]

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use specfact_telemetry::delivery::{
    self, Compression, DeliveryMode, DeliveryOptions, ExportRequest, Protocol, Selection,
};
use specfact_telemetry::{EnvSnapshot, LocalLog, Settings, Telemetry, metadata};

fn find_rotel() -> Option<PathBuf> {
    let name = "rotel-agent";
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import os, rotel; print(os.path.dirname(rotel.__file__))",
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let dir = String::from_utf8(out.stdout).ok()?;
    let p = PathBuf::from(dir.trim()).join(name);
    p.is_file().then_some(p)
}

struct Rotel {
    child: Child,
    out: PathBuf,
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_rotel(bin: &PathBuf, dir: &std::path::Path, http: u16) -> Rotel {
    let out = dir.join("rotel.out");
    let child = Command::new(bin)
        .args([
            "start",
            "--otlp-http-endpoint",
            &format!("127.0.0.1:{http}"),
            "--otlp-grpc-endpoint",
            &format!("127.0.0.1:{}", free_port()),
            "--exporter",
            "blackhole",
            "--debug-log",
            "traces",
            "--debug-log-verbosity",
            "detailed",
            "--pid-file",
            &dir.join("rotel.pid").to_string_lossy(),
            "--log-file",
            &dir.join("rotel.log").to_string_lossy(),
        ])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", http)).is_err() {
        assert!(
            Instant::now() < deadline,
            "rotel-agent did not start listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Rotel { child, out }
}

#[test]
fn rotel_accepts_protobuf_json_and_gzip() {
    let Some(bin) = find_rotel() else {
        assert!(
            std::env::var_os("SPECFACT_REQUIRE_ROTEL").is_none(),
            "rotel-agent not found (pip install --pre rotel)"
        );
        eprintln!("skipped: rotel-agent not found");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let rotel = start_rotel(&bin, dir.path(), port);

    let env = EnvSnapshot::from_pairs([
        ("SPECFACT_TELEMETRY_OPT_IN", "true"),
        (
            "SPECFACT_TELEMETRY_ENDPOINT",
            &*format!("http://127.0.0.1:{port}/v1/traces"),
        ),
    ]);
    let settings = Settings::resolve(&env, Some(dir.path()));
    let t = Telemetry::builder(settings.clone())
        .cli_version("9.8.7")
        .delivery(DeliveryOptions {
            mode: DeliveryMode::Manual,
            ..DeliveryOptions::default()
        })
        .build();
    for i in 0..3 {
        let mut g = t.track_command("repro.run", metadata! { "mode" => "repro" });
        g.record(metadata! { "checks_total" => i, "checks_failed" => 1 });
        if i == 2 {
            g.failure("TimeoutError");
        } else {
            g.success();
        }
    }
    let combos = [
        (Protocol::Protobuf, Compression::Gzip),
        (Protocol::Protobuf, Compression::None),
        (Protocol::Json, Compression::Gzip),
        (Protocol::Json, Compression::None),
    ];
    for (protocol, compression) in combos {
        let s = delivery::export(
            &settings,
            &ExportRequest {
                selection: Selection::All,
                protocol,
                compression,
                ..ExportRequest::default()
            },
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(
            (s.sent, s.rejected),
            (3, 0),
            "{protocol:?} {compression:?}: {s:?}"
        );
        assert!(s.errors.is_empty(), "{s:?}");
    }

    // The receiver decoded what we sent: ids, names, typed attributes, status.
    let log = LocalLog::new(settings.local_path.value.clone().unwrap());
    let ids: Vec<String> = log
        .read()
        .unwrap()
        .map(|l| {
            // The trace id is the event id (its hex holds the span id too).
            l.unwrap()
                .entry
                .unwrap()
                .event_id
                .unwrap()
                .simple()
                .to_string()
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = std::fs::read_to_string(&rotel.out).unwrap_or_default();
        let complete = ids
            .iter()
            .all(|id| text.matches(id.as_str()).count() >= combos.len());
        if complete || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    for id in &ids {
        assert_eq!(
            text.matches(id.as_str()).count(),
            combos.len(),
            "span {id} in:\n{text}"
        );
    }
    assert!(text.contains("specfact.repro.run"));
    assert!(text.contains("specfact.checks_total: Int(2)"), "{text}");
    assert!(text.contains("service.version: Str(9.8.7)"));
    assert!(text.contains("STATUS_CODE_ERROR"));
}
