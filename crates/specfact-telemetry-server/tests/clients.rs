//! Real clients deliver to the server, once per store: our CLI (`record` with an endpoint,
//! then `export`), rotel forwarding OTLP, and the original SpecFact CLI 0.20.5 with its
//! OpenTelemetry Python exporter (protobuf).

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use specfact_telemetry_server::store::StoredSpan;
use support::{
    Backend, cli_binary, find_rotel, free_port, gzip, otlp, required, run_specfact, stored,
    wait_listening, workspace_root,
};

store_tests!(
    our_cli_record_and_export_deliver_every_event_once,
    rotel_forwards_to_the_server,
    specfact_0_20_5_exports_to_the_server,
);

fn our_cli_record_and_export_deliver_every_event_once(b: &Backend) {
    let server = b.start(&[]);
    let home = b.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let cli = cli_binary();
    let run = |args: &[&str]| {
        let out = Command::new(&cli)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("SPECFACT_TELEMETRY_OPT_IN", "true")
            .env("SPECFACT_TELEMETRY_ENDPOINT", server.traces_url())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    run(&[
        "record",
        "import.from_code",
        "--field",
        "files_analyzed=143",
        "--field",
        "mode=cicd",
        "--duration-ms",
        "8511.68",
        "--cli-version",
        "0.20.5",
    ]);
    run(&[
        "record",
        "repro.run",
        "--field",
        "checks_total=3",
        "--field",
        "repo=/srv/acme",
        "--duration-ms",
        "12",
    ]);
    run(&[
        "record",
        "plan.compare",
        "--failure",
        "--error",
        "Exit",
        "--duration-ms",
        "4.39",
    ]);
    // `record` delivers in the background.
    assert_eq!(
        server.wait_for("events_stored", 3, Duration::from_secs(30)),
        3,
        "{}",
        server.stats()
    );

    // `export --all` sends the whole log again: acknowledged, stored once.
    let summary: serde_json::Value =
        serde_json::from_str(&run(&["export", "--all", "--json"])).unwrap();
    assert_eq!(
        (summary["sent"].as_u64(), summary["rejected"].as_u64()),
        (Some(3), Some(0)),
        "{summary}"
    );
    let stats = server.stats();
    assert_eq!(stats["events_stored"], 3, "{stats}");
    assert_eq!(stats["duplicates"], 3, "{stats}");
    assert_eq!(stats["spans_rejected"], 0, "{stats}");

    // What is stored is what the local log holds.
    let log = std::fs::read_to_string(home.join(".specfact/telemetry.log")).unwrap();
    let mut logged: Vec<specfact_telemetry::Event> = log
        .lines()
        .map(|l| specfact_telemetry::Event::from_json_line(l.as_bytes()).unwrap())
        .collect();
    let mut back: Vec<specfact_telemetry::Event> =
        stored(b).iter().map(StoredSpan::to_event).collect();
    let key = |e: &specfact_telemetry::Event| e.event_id;
    logged.sort_by_key(key);
    back.sort_by_key(key);
    assert_eq!(logged.len(), back.len());
    for (l, s) in logged.iter().zip(&back) {
        assert_eq!(s.event_id, l.event_id);
        assert_eq!(s.command, l.command);
        assert_eq!(s.success, l.success);
        assert_eq!(s.error, l.error);
        assert_eq!(s.session_id, l.session_id);
        assert_eq!(s.cli_version, l.cli_version);
        assert_eq!(s.opt_in_source, l.opt_in_source);
        assert!((s.duration_ms.unwrap_or(-1.0) - l.duration_ms.unwrap_or(-1.0)).abs() < 1e-9);
        let millis = |t: Option<SystemTime>| {
            t.unwrap()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_millis()
        };
        assert_eq!(millis(s.timestamp), millis(l.timestamp));
        let mut lf = l.fields.clone();
        let mut sf = s.fields.clone();
        lf.sort_by(|a, b| a.0.cmp(&b.0));
        sf.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(sf, lf);
    }
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rotel_forwards_to_the_server(b: &Backend) {
    let Some(rotel) = required(find_rotel(), "rotel-agent") else {
        return;
    };
    let server = b.start(&[]);
    let (http, grpc) = (free_port(), free_port());
    let dir = b.dir.path();
    let _rotel = Child(
        Command::new(rotel)
            .args([
                "start",
                "--otlp-http-endpoint",
                &format!("127.0.0.1:{http}"),
                "--otlp-grpc-endpoint",
                &format!("127.0.0.1:{grpc}"),
                "--exporter",
                "otlp",
                "--otlp-exporter-endpoint",
                &format!("http://127.0.0.1:{}", server.port),
                "--otlp-exporter-protocol",
                "http",
                "--otlp-exporter-compression",
                "gzip",
                "--pid-file",
                &dir.join("rotel.pid").to_string_lossy(),
                "--log-file",
                &dir.join("rotel.log").to_string_lossy(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("rotel.err")).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_listening(http, "rotel-agent");
    // Three requests of 100 spans into rotel, one with a span of another service.
    for k in 0..3u64 {
        let mut spans: Vec<_> = (k * 100..k * 100 + 100)
            .map(|n| otlp::repro(n + 1))
            .collect();
        if k == 1 {
            spans[0].name = "GET /checkout".into();
        }
        let body = gzip(&otlp::encode(&otlp::request_of("specfact-cli", spans)));
        let r = support::http(
            http,
            "POST",
            "/v1/traces",
            &[
                ("Content-Type", "application/x-protobuf"),
                ("Content-Encoding", "gzip"),
            ],
            &body,
        );
        assert_eq!(r.status, 200, "rotel: {}", r.text());
    }
    let got = server.wait_for("events_stored", 299, Duration::from_secs(30));
    assert_eq!(got, 299, "{}", server.stats());
    let rejected = server.wait_for("spans_rejected", 1, Duration::from_secs(10));
    assert_eq!(rejected, 1);
    let spans = stored(b);
    assert_eq!(spans.len(), 299);
    assert!(
        spans
            .iter()
            .all(|s| s.command == "repro.run" && s.service_name == "specfact-cli")
    );
}

fn specfact_0_20_5_exports_to_the_server(b: &Backend) {
    let specfact = workspace_root().join(".venv-test/bin/specfact");
    let Some(specfact) = required(
        specfact.is_file().then_some(specfact),
        "SpecFact CLI 0.20.5 (.venv-test/bin/specfact)",
    ) else {
        return;
    };
    let server = b.start(&[]);
    let home = b.dir.path().join("home");
    let repo = b.dir.path().join("repo");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "."]);
    let endpoint = server.traces_url();
    let run = |args: &[&str]| run_specfact(&specfact, &home, &repo, &endpoint, args);
    run(&["--no-banner", "plan", "init", "demo", "--no-interactive"]);
    run(&["--no-banner", "enforce", "stage", "--preset", "strict"]);
    // Its exporter sends at process exit; each run's span is there by now or shortly.
    assert_eq!(
        server.wait_for("events_stored", 2, Duration::from_secs(30)),
        2,
        "{}",
        server.stats()
    );
    let stats = server.stats();
    assert_eq!(
        (
            stats["spans_accepted"].as_u64(),
            stats["spans_rejected"].as_u64()
        ),
        (Some(2), Some(0)),
        "{stats}"
    );
    let mut commands: Vec<String> = stored(b).iter().map(|s| s.command.clone()).collect();
    commands.sort();
    assert_eq!(commands, ["enforce.stage", "plan.init"]);
    for s in stored(b) {
        assert!(s.success);
        assert_eq!(s.cli_version.as_deref(), Some("0.20.5"));
        assert_eq!(s.opt_in_source.as_deref(), Some("env"));
        assert_eq!(s.service_name, "specfact-cli");
        assert_eq!(s.telemetry_version.as_deref(), Some("1.0"));
        assert_eq!(s.session_id.len(), 32);
    }
    // The local log it wrote and the server agree on the events.
    let log = std::fs::read_to_string(home.join(".specfact/telemetry.log")).unwrap();
    assert_eq!(log.lines().count(), 2);
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}
