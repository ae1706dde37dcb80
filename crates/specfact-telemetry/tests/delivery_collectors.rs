//! Delivery against collectors started on 127.0.0.1, driven in the foreground
//! through the export API (the code path the uploader process runs).

#![cfg(feature = "otlp")]

mod delivery_support;

use std::collections::HashSet;
use std::fs;
use std::time::{Duration, SystemTime};

use delivery_support::{Collector, Mode, closed_port};
use specfact_telemetry::delivery::{
    self, Compression, Delivery, DeliveryError, DeliveryMode, DeliveryOptions, ExportRequest,
    Protocol, RetryPolicy, Selection,
};
use specfact_telemetry::{EnvSnapshot, LocalLog, Settings, Telemetry, metadata};
use tempfile::TempDir;

const TOKEN: &str = "s3cr3t-token-value";

/// Short retries, for exports and handles.
const RETRY: RetryPolicy = RetryPolicy {
    initial_backoff: Duration::from_millis(50),
    max_backoff: Duration::from_millis(200),
    max_elapsed: Duration::from_millis(2500),
};

/// Uploads only when the test asks (export), with short retries.
fn manual() -> DeliveryOptions {
    DeliveryOptions {
        mode: DeliveryMode::Manual,
        retry: RETRY,
        ..DeliveryOptions::default()
    }
}

struct Host {
    home: TempDir,
    settings: Settings,
}

impl Host {
    fn new(endpoint: Option<&str>) -> Host {
        Host::with_headers(endpoint, &format!("Authorization: Bearer {TOKEN}"))
    }

    fn with_headers(endpoint: Option<&str>, headers: &str) -> Host {
        let home = tempfile::tempdir().unwrap();
        let mut env = EnvSnapshot::from_pairs([
            ("SPECFACT_TELEMETRY_OPT_IN", "true"),
            ("SPECFACT_TELEMETRY_HEADERS", headers),
        ]);
        if let Some(e) = endpoint {
            env = env.with("SPECFACT_TELEMETRY_ENDPOINT", e);
        }
        let mut settings = Settings::resolve(&env, Some(home.path()));
        assert!(settings.enabled);
        settings.export_timeout.value = Duration::from_millis(500);
        Host { home, settings }
    }

    fn with_endpoint(&self, endpoint: &str) -> Settings {
        let mut s = self.settings.clone();
        s.endpoint.value = Some(endpoint.to_owned());
        s
    }

    fn record(&self, n: usize) {
        record_with(&self.settings, "1.2.3", n);
    }

    fn log(&self) -> LocalLog {
        LocalLog::new(self.settings.local_path.value.clone().unwrap())
    }

    fn export(&self, request: ExportRequest) -> delivery::ExportSummary {
        let request = ExportRequest {
            retry: RETRY,
            ..request
        };
        delivery::export(&self.settings, &request, &mut |_| {}).unwrap()
    }

    fn pending(&self) -> delivery::ExportSummary {
        self.export(ExportRequest::default())
    }
}

fn record_with(settings: &Settings, version: &str, n: usize) {
    let t = Telemetry::builder(settings.clone())
        .cli_version(version)
        .delivery(manual())
        .build();
    for i in 0..n {
        let mut g = t.track_command("repro.run", metadata! { "mode" => "repro" });
        g.record(metadata! { "checks_total" => i });
        g.success();
    }
}

fn event_span_ids(log: &LocalLog) -> Vec<Vec<u8>> {
    log.read()
        .unwrap()
        .map(|l| l.unwrap().entry.unwrap().event_id.unwrap().as_bytes()[8..].to_vec())
        .collect()
}

fn no_secret(text: &str) {
    assert!(!text.contains(TOKEN), "credential leaked: {text}");
}

#[test]
fn a_healthy_collector_gets_each_event_once_with_ids_from_the_event_ids() {
    let c = Collector::start(Mode::Healthy);
    let h = Host::new(Some(&c.endpoint()));
    h.record(5);
    let s = h.pending();
    assert_eq!((s.selected, s.sent, s.unsent, s.requests), (5, 5, 0, 1));
    let reqs = c.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.path, "/v1/traces");
    assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.header("authorization"), Some(&*format!("Bearer {TOKEN}")));
    let got: Vec<Vec<u8>> = r.spans.iter().map(|s| s.span_id.clone()).collect();
    assert_eq!(got, event_span_ids(&h.log()));
    let span = &r.spans[0];
    assert_eq!(span.name, "specfact.repro.run");
    assert!(span.end >= span.start && span.start > 1_700_000_000_000_000_000);
    assert!(
        span.resource
            .contains(&("service.version".into(), "1.2.3".into()))
    );
    assert!(
        span.resource
            .contains(&("service.name".into(), "specfact-cli".into()))
    );
    assert!(
        span.attributes
            .contains(&("specfact.checks_total".into(), "0".into()))
    );

    // Nothing is sent twice.
    let again = h.pending();
    assert_eq!((again.sent, again.requests), (0, 0));
    let st = delivery::state(&h.settings);
    assert_eq!((st.pending, st.sent_spans), (0, 5));
    assert!(st.last_success.is_some() && st.last_error.is_none());
    assert_eq!(st.endpoint.as_deref(), Some(&*c.endpoint()));
}

#[test]
fn events_logged_before_the_endpoint_are_sent_only_when_all_is_asked_for() {
    let c = Collector::start(Mode::Healthy);
    let mut h = Host::new(None);
    h.record(3);
    h.settings = h.with_endpoint(&c.endpoint());
    h.record(2);
    assert_eq!(delivery::state(&h.settings).pending, 2);
    assert_eq!(h.pending().sent, 2);
    let all = h.export(ExportRequest {
        selection: Selection::All,
        ..ExportRequest::default()
    });
    assert_eq!((all.selected, all.sent), (5, 5));
    let ids: HashSet<Vec<u8>> = c.spans().into_iter().map(|s| s.span_id).collect();
    assert_eq!(ids.len(), 5);
    assert_eq!(delivery::state(&h.settings).pending, 0);
    assert_eq!(h.pending().requests, 0);
}

#[test]
fn a_rewritten_log_does_not_send_events_logged_before_the_endpoint() {
    let c = Collector::start(Mode::Status(500, None, "down"));
    let mut h = Host::new(None);
    h.record(3);
    // Event times have millisecond resolution.
    std::thread::sleep(Duration::from_millis(5));
    h.settings = h.with_endpoint(&c.endpoint());
    h.record(1);
    let failed = h.pending();
    assert_eq!((failed.sent, failed.unsent), (0, 1));
    // What `purge --older-than` does: a filtered copy renamed over the log.
    h.log().rewrite(|_| true).unwrap();
    c.set_mode(Mode::Healthy);
    let failed_requests = c.requests().len();
    assert_eq!(delivery::state(&h.settings).pending, 1);
    let s = h.pending();
    assert_eq!((s.sent, s.unsent), (1, 0));
    let last = h.log().read().unwrap().last().unwrap().unwrap();
    let want = last.entry.unwrap().event_id.unwrap().as_bytes()[8..].to_vec();
    let got: Vec<Vec<u8>> = c.requests()[failed_requests..]
        .iter()
        .flat_map(|r| r.spans.iter().map(|s| s.span_id.clone()))
        .collect();
    assert_eq!(got, vec![want]);
    // A later event is sent, and `--all` still sends everything.
    h.record(1);
    assert_eq!(h.pending().sent, 1);
    let all = h.export(ExportRequest {
        selection: Selection::All,
        ..ExportRequest::default()
    });
    assert_eq!((all.selected, all.sent), (5, 5));
}

#[test]
fn since_selects_by_timestamp_and_leaves_the_cursor_alone() {
    let c = Collector::start(Mode::Healthy);
    let h = Host::new(Some(&c.endpoint()));
    h.record(2);
    let later = SystemTime::now() + Duration::from_secs(3600);
    let none = h.export(ExportRequest {
        selection: Selection::Since(later),
        ..ExportRequest::default()
    });
    assert_eq!((none.selected, none.sent), (0, 0));
    let some = h.export(ExportRequest {
        selection: Selection::Since(SystemTime::now() - Duration::from_secs(3600)),
        ..ExportRequest::default()
    });
    assert_eq!(some.sent, 2);
    assert_eq!(delivery::state(&h.settings).pending, 2);
}

#[test]
fn a_503_with_retry_after_is_retried_after_the_wait() {
    let c = Collector::start(Mode::Status(503, Some(1), "busy"));
    let h = Host::new(Some(&c.endpoint()));
    h.record(2);
    std::thread::scope(|s| {
        s.spawn(|| {
            assert!(c.wait_for_requests(1, Duration::from_secs(10)));
            c.set_mode(Mode::Healthy);
        });
        let sum = h.pending();
        assert_eq!(sum.sent, 2, "{sum:?}");
    });
    let reqs = c.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1].at.duration_since(reqs[0].at) >= Duration::from_millis(950));
}

#[test]
fn a_retry_after_beyond_the_run_leaves_the_events_for_later() {
    let c = Collector::start(Mode::Status(503, Some(120), "later"));
    let h = Host::new(Some(&c.endpoint()));
    h.record(2);
    let s = h.pending();
    assert_eq!((s.sent, s.unsent, s.requests), (0, 2, 1));
    assert!(s.errors[0].contains("503"), "{:?}", s.errors);
    let st = delivery::state(&h.settings);
    assert_eq!(st.pending, 2);
    assert!(st.retry_not_before.unwrap() > SystemTime::now() + Duration::from_secs(100));
    assert_eq!(st.last_error.unwrap().kind, "transient");
}

#[test]
fn a_400_rejects_the_batch_once_and_keeps_the_events_in_the_log() {
    let c = Collector::start(Mode::Status(400, None, "bad payload"));
    let h = Host::new(Some(&c.endpoint()));
    h.record(3);
    let s = h.pending();
    assert_eq!((s.sent, s.rejected, s.requests), (0, 3, 1));
    assert!(s.errors[0].contains("400") && s.errors[0].contains("bad payload"));
    let st = delivery::state(&h.settings);
    let err = st.last_error.unwrap();
    assert_eq!((err.kind.as_str(), err.status), ("rejected", Some(400)));
    assert_eq!((st.rejected_spans, st.pending), (3, 0));
    assert_eq!(h.log().stats().unwrap().events, 3);
    // Not retried forever.
    assert_eq!(h.pending().requests, 0);
}

#[test]
fn a_401_halts_keeps_everything_pending_and_never_shows_the_credential() {
    let c = Collector::start(Mode::Status(
        401,
        None,
        "token s3cr3t-token-value is invalid",
    ));
    let h = Host::new(Some(&c.endpoint()));
    h.record(3);
    let s = h.pending();
    assert_eq!((s.sent, s.unsent, s.requests), (0, 3, 1));
    assert!(s.errors[0].contains("401") && s.errors[0].contains("credentials"));
    no_secret(&format!("{s:?}"));
    let st = delivery::state(&h.settings);
    assert_eq!(st.pending, 3);
    assert_eq!(st.last_error.as_ref().unwrap().kind, "config");
    no_secret(&format!("{st:?}"));
    for f in fs::read_dir(h.home.path().join(".specfact/telemetry-delivery")).unwrap() {
        no_secret(&fs::read_to_string(f.unwrap().path()).unwrap_or_default());
    }
}

/// Everything a user or a support request could see: the export summary, `status`
/// and the delivery state files.
fn assert_nowhere(h: &Host, s: &delivery::ExportSummary, secrets: &[&str]) {
    let st = delivery::state(&h.settings);
    let mut texts = vec![format!("{s:?}"), format!("{st:?}")];
    for f in fs::read_dir(h.home.path().join(".specfact/telemetry-delivery")).unwrap() {
        texts.push(fs::read_to_string(f.unwrap().path()).unwrap_or_default());
    }
    for text in texts {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
}

#[test]
fn a_credential_echoed_json_escaped_by_the_collector_is_scrubbed() {
    let c = Collector::start(Mode::Status(
        401,
        None,
        r#"{"got":"Basic dXNlcjpwYXNz\/ab+c="}"#,
    ));
    let h = Host::with_headers(
        Some(&c.endpoint()),
        "Authorization: Basic dXNlcjpwYXNz/ab+c=",
    );
    h.record(1);
    let s = h.pending();
    assert_eq!((s.sent, s.unsent), (0, 1));
    assert!(s.errors[0].contains("401"), "{s:?}");
    assert_nowhere(&h, &s, &["dXNlcjpwYXNz", "ab+c="]);
}

#[test]
fn a_query_secret_echoed_by_the_collector_is_scrubbed() {
    let c = Collector::start(Mode::Status(
        404,
        None,
        "Cannot POST /v1/trace?api_key=QSECRET999",
    ));
    let endpoint = format!("http://127.0.0.1:{}/v1/trace?api_key=QSECRET999", c.port);
    let h = Host::new(Some(&endpoint));
    h.record(1);
    let s = h.pending();
    assert_eq!(s.sent, 0);
    assert!(s.errors[0].contains("404"), "{s:?}");
    assert_nowhere(&h, &s, &["QSECRET999", TOKEN]);
}

#[test]
fn status_creates_no_lock_files() {
    let c = Collector::start(Mode::Healthy);
    let h = Host::new(Some(&c.endpoint()));
    h.record(2);
    assert_eq!(h.pending().sent, 2);
    let dir = h.home.path().join(".specfact/telemetry-delivery");
    let files = || -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    for f in files() {
        if f.ends_with(".lock") {
            fs::remove_file(dir.join(f)).unwrap();
        }
    }
    let before = files();
    assert!(before.iter().any(|f| f.ends_with(".cursor.json")));
    let st = delivery::state(&h.settings);
    assert!(st.enrolled && !st.uploader_running);
    assert_eq!(files(), before);
}

#[test]
fn partial_success_is_recorded() {
    let c = Collector::start(Mode::Partial(2, "2 spans too old"));
    let h = Host::new(Some(&c.endpoint()));
    h.record(3);
    let s = h.pending();
    assert_eq!((s.sent, s.partially_rejected), (3, 2));
    let st = delivery::state(&h.settings);
    assert_eq!(st.partial_rejected_spans, 2);
    assert!(st.last_partial_message.unwrap().contains("too old"));
}

#[test]
fn a_closed_port_keeps_events_pending_until_the_collector_comes_up() {
    let port = closed_port();
    let endpoint = format!("http://127.0.0.1:{port}/v1/traces");
    let h = Host::new(Some(&endpoint));
    h.record(2);
    let s = h.pending();
    assert_eq!((s.sent, s.unsent), (0, 2));
    assert!(s.requests >= 2, "retried: {s:?}");
    let st = delivery::state(&h.settings);
    assert_eq!(st.pending, 2);
    assert!(st.last_error.unwrap().message.contains("connect"));

    let c = Collector::start_on(port, Mode::Healthy);
    h.record(1);
    assert_eq!(h.pending().sent, 3);
    assert_eq!(c.span_count(), 3);
}

#[test]
fn a_collector_that_never_answers_times_out() {
    let c = Collector::start(Mode::BlackHole);
    let h = Host::new(Some(&c.endpoint()));
    h.record(1);
    let s = h.pending();
    assert_eq!((s.sent, s.unsent), (0, 1));
    assert!(
        s.errors.iter().any(|e| e.contains("export timeout")),
        "{s:?}"
    );
}

#[test]
fn a_collector_answering_after_ten_seconds_times_out_and_is_retried_later() {
    let c = Collector::start(Mode::Slow(Duration::from_secs(10)));
    let h = Host::new(Some(&c.endpoint()));
    h.record(1);
    let s = h.pending();
    assert_eq!(s.sent, 0);
    assert!(
        s.errors.iter().any(|e| e.contains("export timeout")),
        "{s:?}"
    );
    c.set_mode(Mode::Healthy);
    assert_eq!(h.pending().sent, 1);
}

#[test]
fn json_without_compression_is_accepted_and_a_dry_run_sends_nothing() {
    let c = Collector::start(Mode::Healthy);
    let h = Host::new(Some(&c.endpoint()));
    h.record(2);
    let dry = h.export(ExportRequest {
        dry_run: true,
        ..ExportRequest::default()
    });
    assert_eq!((dry.sent, dry.payloads.len(), dry.requests), (2, 1, 0));
    let v: serde_json::Value = serde_json::from_str(&dry.payloads[0]).unwrap();
    let spans = &v["resourceSpans"][0]["scopeSpans"][0]["spans"];
    assert_eq!(spans.as_array().unwrap().len(), 2);
    assert_eq!(spans[0]["name"], "specfact.repro.run");
    assert!(c.requests().is_empty());
    assert_eq!(delivery::state(&h.settings).pending, 2);

    let s = h.export(ExportRequest {
        protocol: Protocol::Json,
        compression: Compression::None,
        ..ExportRequest::default()
    });
    assert_eq!(s.sent, 2);
    let r = &c.requests()[0];
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.spans.len(), 2);
}

#[test]
fn credentials_over_plain_http_to_another_host_are_refused() {
    let mut h = Host::new(Some("http://collector.example.invalid:4318/v1/traces"));
    h.record(1);
    let st = delivery::state(&h.settings);
    let why = st.refused.clone().unwrap();
    assert!(why.contains("allow_insecure_http") && why.contains("collector.example.invalid"));
    assert_eq!(st.last_error.unwrap().kind, "refused");
    assert_eq!(st.pending, 1);
    match delivery::export(&h.settings, &ExportRequest::default(), &mut |_| {}) {
        Err(DeliveryError::Refused(m)) => no_secret(&m),
        other => panic!("{other:?}"),
    }
    h.settings.allow_insecure_http.value = true;
    assert_eq!(delivery::state(&h.settings).refused, None);
    // Loopback and https are fine.
    h.settings.allow_insecure_http.value = false;
    h.settings.endpoint.value = Some("https://collector.example.invalid/v1/traces".into());
    assert_eq!(delivery::state(&h.settings).refused, None);
}

#[test]
fn a_rotated_truncated_or_deleted_log_is_recovered_without_resending() {
    let c = Collector::start(Mode::Healthy);
    let h = Host::new(Some(&c.endpoint()));
    let path = h.log().path().to_owned();
    h.record(3);
    assert_eq!(h.pending().sent, 3);

    fs::rename(&path, path.with_extension("log.1")).unwrap();
    h.record(2);
    assert_eq!(h.pending().sent, 2);

    fs::write(&path, "").unwrap();
    h.record(1);
    assert_eq!(h.pending().sent, 1);

    fs::remove_file(&path).unwrap();
    assert_eq!(h.pending().sent, 0);
    h.record(1);
    assert_eq!(h.pending().sent, 1);

    let ids: Vec<Vec<u8>> = c.spans().into_iter().map(|s| s.span_id).collect();
    let distinct: HashSet<_> = ids.iter().collect();
    assert_eq!((ids.len(), distinct.len()), (7, 7));
    assert!(delivery::state(&h.settings).log_resets >= 2);
}

#[test]
fn a_413_splits_the_batch() {
    let c = Collector::start(Mode::MaxSpans(2));
    let h = Host::new(Some(&c.endpoint()));
    h.record(5);
    let s = h.pending();
    assert_eq!((s.sent, s.rejected), (5, 0));
    assert_eq!(c.span_count(), 5);
}

#[test]
fn batch_size_caps_spans_per_request_and_resources_are_grouped() {
    let c = Collector::start(Mode::Healthy);
    let mut h = Host::new(Some(&c.endpoint()));
    h.settings.batch_size.value = 2;
    record_with(&h.settings, "1.0.0", 3);
    record_with(&h.settings, "2.0.0", 2);
    let s = h.pending();
    assert_eq!((s.sent, s.requests), (5, 3));
    let versions: Vec<String> = c
        .spans()
        .iter()
        .map(|s| {
            s.resource
                .iter()
                .find(|(k, _)| k == "service.version")
                .unwrap()
                .1
                .clone()
        })
        .collect();
    assert_eq!(versions, ["1.0.0", "1.0.0", "1.0.0", "2.0.0", "2.0.0"]);
}

#[test]
fn lines_appended_before_the_cursor_was_created_are_backfilled() {
    let c = Collector::start(Mode::Healthy);
    let h = Host::new(Some(&c.endpoint()));
    // Two processes append; the later line's process creates the cursor first.
    let log = h.log();
    let mut e = specfact_telemetry::Event::from_json_line(
        br#"{"session_id":"8b9b064be73c4ceb9176ec5b6af08d1a","success":true,"duration_ms":14.19,"command":"plan.init"}"#,
    )
    .unwrap();
    let first = log.append(&e).unwrap();
    e.session_id = "9b9b064be73c4ceb9176ec5b6af08d1a".into();
    let second = log.append(&e).unwrap();
    let d = Delivery::new(manual());
    d.after_append(&h.settings, &log, &second);
    d.after_append(&h.settings, &log, &first);
    assert_eq!(delivery::state(&h.settings).pending, 2);
    assert_eq!(h.pending().sent, 2);
    assert_eq!(h.pending().sent, 0);
    assert_eq!(c.span_count(), 2);
}

#[test]
fn debug_lines_and_errors_never_carry_the_credential() {
    let c = Collector::start(Mode::Status(403, None, "Bearer s3cr3t-token-value denied"));
    let h = Host::new(Some(&c.endpoint()));
    h.record(1);
    let s = h.pending();
    for e in &s.errors {
        no_secret(e);
    }
    let st = delivery::state(&h.settings);
    no_secret(&st.last_error.unwrap().message);
}
