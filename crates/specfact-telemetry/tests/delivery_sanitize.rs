//! What leaves the machine is sanitized again: lines in the log that the Python tool
//! wrote (error messages, arbitrary metadata) or that someone edited by hand never
//! reach the collector as they are.

#![cfg(feature = "otlp")]

mod delivery_support;

use std::fs;
use std::time::Duration;

use delivery_support::{Collector, Mode};
use specfact_telemetry::delivery::{self, ExportRequest, Selection};
use specfact_telemetry::{EnvSnapshot, Settings};

const HOSTILE: &[&str] = &[
    r#"{"mode":"cicd","files_analyzed":143,"repository":"/srv/acme/payments","owner":"ada@example.com","token":"ghp_0123456789abcdefghijABCDEFGHIJ0123","session_id":"7ef3a78e77384ba1be852ab72911422f","success":false,"error":"[Errno 2] No such file: /srv/acme/payments/plan.yaml","duration_ms":85.5,"command":"import.from_code","telemetry_version":"1.0","cli_version":"0.20.5","opt_in_source":"env"}"#,
    r#"{"session_id":"not-hex","success":true,"duration_ms":-5,"command":"/home/ada/bin/tool","telemetry_version":"1.0; rm","opt_in_source":"evil"}"#,
    r#"{"session_id":"8b9b064be73c4ceb9176ec5b6af08d1a","success":true,"duration_ms":1.5,"command":"plan.init","telemetry_version":"1.0; rm","cli_version":"see https://example.com","opt_in_source":"evil","custom_ratio":0.25,"custom_label":"Hello World"}"#,
];

fn settings(endpoint: &str, home: &std::path::Path) -> Settings {
    let env = EnvSnapshot::from_pairs([
        ("SPECFACT_TELEMETRY_OPT_IN", "true"),
        ("SPECFACT_TELEMETRY_ENDPOINT", endpoint),
    ]);
    let s = Settings::resolve(&env, Some(home));
    let log = s.local_path.value.clone().unwrap();
    fs::create_dir_all(log.parent().unwrap()).unwrap();
    fs::write(&log, HOSTILE.join("\n") + "\n").unwrap();
    s
}

fn assert_clean(text: &str) {
    for leak in [
        "/srv/acme",
        "Errno",
        "ada@example.com",
        "ghp_",
        "/home/ada",
        "repository",
        "owner",
        "token",
        "Hello World",
        "evil",
        "rm",
        "https://example.com",
        "not-hex",
    ] {
        assert!(!text.contains(leak), "{leak:?} left the machine: {text}");
    }
}

#[test]
fn the_exact_payload_holds_only_sanitized_fields() {
    let home = tempfile::tempdir().unwrap();
    let s = settings("http://127.0.0.1:9/v1/traces", home.path());
    let request = ExportRequest {
        selection: Selection::All,
        dry_run: true,
        ..ExportRequest::default()
    };
    let summary = delivery::export(&s, &request, &mut |_| {}).unwrap();
    let payload = summary.payloads.join("\n");
    assert_clean(&payload);
    // What is fine is kept: the command, the typed counts (rounded), a host's number.
    assert!(payload.contains("specfact.import.from_code"), "{payload}");
    assert!(payload.contains("\"specfact.files_analyzed\""), "{payload}");
    assert!(
        payload.contains("\"140\""),
        "files_analyzed is rounded: {payload}"
    );
    assert!(payload.contains("specfact.custom_ratio"), "{payload}");
    assert!(payload.contains("specfact.plan.init"), "{payload}");
    assert!(
        !payload.contains("specfact./"),
        "an unacceptable command is not sent: {payload}"
    );
}

#[test]
fn a_collector_receives_only_sanitized_fields() {
    let c = Collector::start(Mode::Healthy);
    let home = tempfile::tempdir().unwrap();
    let s = settings(&c.endpoint(), home.path());
    let request = ExportRequest {
        selection: Selection::All,
        ..ExportRequest::default()
    };
    let summary = delivery::export(&s, &request, &mut |_| {}).unwrap();
    assert_eq!(summary.unsent, 0, "{summary:?}");
    assert!(c.wait_for_spans(2, Duration::from_secs(5)));
    let spans = c.spans();
    assert_eq!(
        spans.len(),
        2,
        "the event with a path for a command is not sent"
    );
    let text = format!("{spans:?}");
    assert_clean(&text);
    let import = spans
        .iter()
        .find(|s| s.name == "specfact.import.from_code")
        .unwrap();
    assert!(
        import.attributes.iter().all(|(k, _)| k != "specfact.error"),
        "{import:?}"
    );
    assert!(
        import
            .attributes
            .iter()
            .any(|(k, v)| k == "specfact.success" && v == "false")
    );
}
