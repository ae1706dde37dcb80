//! Community figures through the real server binary, once per store: what `/api/community.json`
//! and `/` publish (k-anonymity end to end), caching, and `publish --out`.

mod support;

use std::time::{Duration, Instant};

use support::{Backend, http, otlp};

store_tests!(
    a_command_in_fewer_than_k_sessions_is_published_nowhere,
    community_json_is_cacheable_and_the_page_is_locked_down,
    publish_writes_the_page_and_the_json,
    doctors_test_spans_are_stored_but_counted_nowhere,
);

const K: u64 = 3;

fn session(n: u64) -> String {
    format!("{n:032x}")
}

/// Spans numbered from `first`: `command` once in each of `sessions`.
fn post(backend_server: &support::Server, first: u64, command: &str, sessions: &[u64]) {
    post_with(backend_server, first, command, sessions, &[]);
}

/// [`post`], each span with the `extra` attributes too.
fn post_with(
    backend_server: &support::Server,
    first: u64,
    command: &str,
    sessions: &[u64],
    extra: &[(&str, &str)],
) {
    let spans = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            otlp::span(
                first + i as u64,
                command,
                vec![
                    otlp::s("specfact.session_id", &session(*s)),
                    otlp::i("specfact.violations_detected", 2),
                    otlp::kv(
                        "specfact.duration_ms",
                        opentelemetry_proto::tonic::common::v1::any_value::Value::DoubleValue(40.0),
                    ),
                ]
                .into_iter()
                .chain(extra.iter().map(|(k, v)| otlp::s(k, v)))
                .collect(),
            )
        })
        .collect();
    let body = otlp::encode(&otlp::request_of("specfact-cli", spans));
    let r = backend_server.post("application/x-protobuf", None, &body);
    assert_eq!(r.status, 200, "{}", r.text());
}

fn start(backend: &Backend) -> support::Server {
    backend.start(&[
        "--min-sessions",
        &K.to_string(),
        "--community-cutoff",
        "now",
        "--community-refresh",
        "1s",
    ])
}

/// Waits until `/api/community.json` counts `events`; returns it.
fn community(server: &support::Server, events: u64) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = http(server.port, "GET", "/api/community.json", &[], b"");
        if r.status == 200 {
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            if v["events"] == events {
                return v;
            }
        } else {
            assert_eq!(r.status, 503, "{}", r.text());
            assert_eq!(r.header("retry-after"), Some("5"));
        }
        assert!(
            Instant::now() < deadline,
            "the figures never counted {events} events: {}",
            r.text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn a_command_in_fewer_than_k_sessions_is_published_nowhere(backend: &Backend) {
    let server = start(backend);
    post(&server, 1, "repro.run", &[1, 2, 3, 4, 5]);
    post(&server, 100, "plan.compare", &[1, 2, 3, 6]);
    post(&server, 200, "acme.internal-deploy", &[7, 8]); // K - 1 sessions
    let json = community(&server, 11);
    assert_eq!(json["schema"], "specfact-community/1");
    assert_eq!(json["min_sessions"], K);
    assert_eq!(json["sessions"], 8);
    let page = http(server.port, "GET", "/", &[], b"").text();
    for (what, text) in [("JSON", json.to_string()), ("page", page.clone())] {
        assert!(
            !text.contains("acme"),
            "{what} names the rare command: {text}"
        );
        assert!(!text.contains("internal-deploy"), "{what}: {text}");
    }
    // The rare command (2 sessions) and its partner (plan.compare, the smallest shown) are
    // pooled: 6 sessions, so the pool is published, by count only.
    let commands: Vec<&str> = json["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap())
        .collect();
    assert_eq!(commands, ["repro.run"]);
    assert_eq!(json["held_back"]["commands"], 2);
    assert_eq!(json["other_commands"]["commands"], 2);
    assert!(page.contains(r#"data-command="repro.run""#), "{page}");
    // The "other" category (2 sessions) and plan drift (4) are held back likewise.
    assert_eq!(json["regressions"]["other"], serde_json::Value::Null);
    assert_eq!(json["regressions"]["plan_drift"], serde_json::Value::Null);
    assert_eq!(json["regressions"]["contract_violations"]["count"], 10);
    assert_eq!(json["held_back"]["cells"], 4);
    assert!(page.contains(r#"id="held-back" data-cells="4""#), "{page}");

    // One more session of it: k sessions, published everywhere.
    post(&server, 300, "acme.internal-deploy", &[9]);
    let json = community(&server, 12);
    let text = json.to_string();
    assert!(text.contains("acme.internal-deploy"), "{text}");
    assert_eq!(json["held_back"]["cells"], 0, "{text}");
    let page = http(server.port, "GET", "/", &[], b"").text();
    assert!(
        page.contains(r#"data-command="acme.internal-deploy""#),
        "{page}"
    );
}

fn community_json_is_cacheable_and_the_page_is_locked_down(backend: &Backend) {
    let server = start(backend);
    post(&server, 1, "repro.run", &[1, 2, 3]);
    community(&server, 3);
    let r = http(server.port, "GET", "/api/community.json", &[], b"");
    let etag = r.header("etag").unwrap().to_owned();
    assert!(etag.starts_with('"'), "{etag}");
    assert_eq!(r.header("cache-control"), Some("public, max-age=10"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let again = http(
        server.port,
        "GET",
        "/api/community.json",
        &[("If-None-Match", &etag)],
        b"",
    );
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    // Several refreshes later, with nothing new stored, the ETag holds.
    std::thread::sleep(Duration::from_millis(2500));
    let later = http(server.port, "GET", "/api/community.json", &[], b"");
    assert_eq!(later.header("etag"), Some(etag.as_str()));
    assert_eq!(later.body, r.body);
    let stale = http(
        server.port,
        "GET",
        "/api/community.json",
        &[("If-None-Match", "\"something-else\"")],
        b"",
    );
    assert_eq!(stale.status, 200);

    let page = http(server.port, "GET", "/", &[], b"");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    let html = page.text();
    assert!(!html.contains("<script"), "no script on the public page");
    let without_ns = html.replace(r#"xmlns="http://www.w3.org/2000/svg""#, "");
    assert!(
        !without_ns.contains("http://") && !without_ns.contains("https://"),
        "nothing fetched"
    );
    let head = http(server.port, "HEAD", "/", &[], b"");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let post = http(server.port, "POST", "/api/community.json", &[], b"");
    assert_eq!(post.status, 405);
}

fn publish_writes_the_page_and_the_json(backend: &Backend) {
    let server = start(backend);
    post(&server, 1, "repro.run", &[1, 2, 3, 4]);
    let served = community(&server, 4);
    drop(server);
    let out = backend.dir.path().join("public");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_specfact-telemetry-server"))
        .args(["publish", "--out"])
        .arg(&out)
        .args(["--store", &backend.store_arg, "--min-sessions", "3"])
        .args(["--community-cutoff", "now"])
        .env_remove("SPECFACT_TELEMETRY_SERVER_INGEST_TOKEN")
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("api/community.json")).unwrap()).unwrap();
    let strip = |mut v: serde_json::Value| {
        v["generated_at"] = serde_json::Value::Null;
        v
    };
    assert_eq!(strip(json), strip(served));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        html.contains("Content-Security-Policy"),
        "the static page carries its CSP"
    );
    assert!(html.contains(r#"data-command="repro.run""#));
}

/// `doctor`'s test span (command `doctor.check`, mode `diagnostic`) is stored like any span
/// but counted in no community figure; a `doctor.check` of another mode is a use and counts.
fn doctors_test_spans_are_stored_but_counted_nowhere(backend: &Backend) {
    let server = start(backend);
    // The probes come first, in the sessions of repro.run: a publication that counted them
    // would reach 6 events with 3 sessions before the look-alikes are stored.
    post_with(
        &server,
        1,
        "doctor.check",
        &[1, 2, 3],
        &[("specfact.mode", "diagnostic")],
    );
    post(&server, 100, "repro.run", &[1, 2, 3]);
    post_with(
        &server,
        200,
        "doctor.check",
        &[4, 5, 6],
        &[("specfact.mode", "repro")],
    );
    assert_eq!(server.stat("events_stored"), 9);
    let json = community(&server, 6);
    assert_eq!(json["sessions"], 6, "{json}");
    let mut commands: Vec<(&str, u64)> = json["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["command"].as_str().unwrap(), c["runs"].as_u64().unwrap()))
        .collect();
    commands.sort_unstable();
    assert_eq!(commands, [("doctor.check", 3), ("repro.run", 3)], "{json}");
}
