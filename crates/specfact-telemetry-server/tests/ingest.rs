//! The server binary end to end, once per store: formats, status codes, duplicates, the
//! ingest token, retention, hostile input and faults.

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use specfact_telemetry_server::store::StoredSpan;
use support::otlp::{self, i, kv, repro, request_of, s, span};
use support::{Backend, Server, gzip, http, stored, try_http};

const PB: &str = "application/x-protobuf";
const JSON: &str = "application/json";

store_tests!(
    formats_status_codes_and_duplicates,
    the_ingest_token_is_required_when_set,
    retention_deletes_older_events_at_start,
    hostile_input_is_refused_and_nothing_hostile_is_stored,
    sigkill_under_load_loses_no_acknowledged_span,
    sigterm_finishes_requests_in_flight,
    overload_gets_429_with_retry_after,
);

fn response(body: &[u8]) -> ExportTraceServiceResponse {
    ExportTraceServiceResponse::decode(body).unwrap()
}

fn formats_status_codes_and_duplicates(b: &Backend) {
    let server = b.start(&[]);
    assert_eq!(http(server.port, "GET", "/healthz", &[], b"").status, 200);
    assert_eq!(http(server.port, "GET", "/nowhere", &[], b"").status, 404);
    let r = http(server.port, "GET", "/v1/traces", &[], b"");
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));

    // Protobuf, as the reference's exporter sends it.
    let body = otlp::repro_batch(1, 10);
    let r = server.post(PB, None, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some(PB));
    assert_eq!(response(&r.body).partial_success, None);
    // The same request again: acknowledged, stored once, counted as duplicates.
    let r = server.post(PB, None, &body);
    assert_eq!(r.status, 200);
    assert_eq!(response(&r.body).partial_success, None);
    // gzip.
    let r = server.post(PB, Some("gzip"), &gzip(&otlp::repro_batch(100, 5)));
    assert_eq!(r.status, 200, "{}", r.text());
    // OTLP/JSON, gzip and plain, one span of another service among them.
    let mut spans = vec![repro(200), repro(201)];
    spans.push(span(202, "x", vec![]));
    spans[2].name = "GET /checkout".into();
    let json = serde_json::to_vec(&request_of("specfact-cli", spans)).unwrap();
    assert!(String::from_utf8_lossy(&json).contains("\"traceId\":\"00000000000000c8"));
    let r = server.post(JSON, Some("gzip"), &gzip(&json));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some(JSON));
    let answer: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(answer["partialSuccess"]["rejectedSpans"], "1");
    assert!(
        answer["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("1 not named specfact.<command>")
    );
    let r = server.post("application/json; charset=utf-8", None, &json);
    assert_eq!(r.status, 200, "{}", r.text());

    let stats = server.stats();
    assert_eq!(stats["events_stored"], 17, "{stats}");
    assert_eq!(stats["spans_accepted"], 10 + 10 + 5 + 2 + 2, "{stats}");
    assert_eq!(stats["spans_rejected"], 2, "{stats}");
    assert_eq!(stats["duplicates"], 12, "{stats}");
    assert_eq!(stats["duplicates_total"], 12, "{stats}");
    assert_eq!(stats["store"], b.kind);

    let spans = stored(b);
    assert_eq!(spans.len(), 17);
    let any = &spans[0];
    assert_eq!(any.command, "repro.run");
    assert_eq!(any.cli_version.as_deref(), Some("0.20.5"));
    assert_eq!(any.service_name, "specfact-cli");
    assert_eq!(any.session_id, "e66ed2f0ed0a4d81bf92d91b2add3fed");
    assert_eq!(any.to_event().count("checks_total"), Some(3));
}

fn the_ingest_token_is_required_when_set(b: &Backend) {
    let server = b.start(&["--ingest-token", "s3cret-token"]);
    let body = otlp::repro_batch(1, 3);
    let post = |auth: Option<&str>| {
        let mut h = vec![("Content-Type", PB)];
        if let Some(a) = auth {
            h.push(("Authorization", a));
        }
        http(server.port, "POST", "/v1/traces", &h, &body)
    };
    let r = post(None);
    assert_eq!(
        (r.status, r.header("www-authenticate")),
        (401, Some("Bearer"))
    );
    assert_eq!(post(Some("Bearer wrong")).status, 403);
    assert_eq!(post(Some("Basic czNjcmV0")).status, 401);
    assert_eq!(post(Some("Bearer s3cret-token")).status, 200);
    assert_eq!(server.stat("events_stored"), 3);
    assert!(!server.stderr().contains("s3cret"), "{}", server.stderr());
}

fn retention_deletes_older_events_at_start(b: &Backend) {
    let mut server = b.start(&[]);
    let day = 86_400_000_000_000u64;
    let mut old = repro(1);
    old.start_time_unix_nano -= 500 * day;
    old.end_time_unix_nano -= 500 * day;
    let mut recent = repro(2);
    recent.start_time_unix_nano -= 300 * day;
    recent.end_time_unix_nano -= 300 * day;
    let body = otlp::encode(&request_of("specfact-cli", vec![old, recent, repro(3)]));
    assert_eq!(server.post(PB, None, &body).status, 200);
    assert_eq!(server.stat("events_stored"), 3);
    server.terminate();
    let mut retained = b.start(&["--retain", "400d"]);
    assert_eq!(retained.wait_for_at_most("events_stored", 2), 2);
    let left: BTreeSet<u8> = stored(b).iter().map(|s| s.trace_id[7]).collect();
    assert_eq!(left, BTreeSet::from([2, 3]));
    assert_eq!(retained.terminate().code(), Some(0));
}

trait WaitDown {
    fn wait_for_at_most(&mut self, key: &str, n: u64) -> u64;
}

impl WaitDown for Server {
    fn wait_for_at_most(&mut self, key: &str, n: u64) -> u64 {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let v = self.stat(key);
            if v <= n || std::time::Instant::now() > deadline {
                return v;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn hostile_input_is_refused_and_nothing_hostile_is_stored(b: &Backend) {
    let server = b.start(&[]);
    let status = |ct: &str, enc: Option<&str>, body: &[u8]| server.post(ct, enc, body).status;

    // Malformed bodies.
    assert_eq!(status(PB, None, b"\x0a\xff\xff\xff\xff\x0f garbage"), 400);
    let truncated = otlp::repro_batch(1, 3);
    assert_eq!(status(PB, None, &truncated[..truncated.len() - 3]), 400);
    assert_eq!(status(JSON, None, b"{\"resourceSpans\": [ {"), 400);
    assert_eq!(status(JSON, None, b"[1,2,3]"), 400);
    assert_eq!(
        status(
            JSON,
            None,
            b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"\xff\xfe\"}]}]}]}"
        ),
        400
    );
    assert_eq!(status(PB, Some("gzip"), b"not gzip at all"), 400);
    // Wrong content types and encodings.
    assert_eq!(status("text/plain", None, &truncated), 415);
    assert_eq!(status("application/grpc", None, &truncated), 415);
    assert_eq!(status(PB, Some("br"), &truncated), 415);
    let r = http(server.port, "POST", "/v1/traces", &[], &truncated);
    assert_eq!(r.status, 415);

    // A gzip bomb: 512 MiB of zeros (512 gzip members of 1 MiB each), about 0.5 MiB sent.
    let member = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![0u8; 1 << 20]).unwrap();
        e.finish().unwrap()
    };
    let bomb = member.repeat(512);
    assert!(bomb.len() < 1 << 20);
    let r = server.post(PB, Some("gzip"), &bomb);
    assert_eq!(r.status, 413, "{}", r.text());
    // A 64 MiB body: refused on its declared length, before it is sent.
    assert_eq!(declared_post(server.port, 64 << 20), 413);
    // 64 MiB without a declared length (chunked): refused while streaming.
    let big = vec![0x0a; 64 << 20];
    assert_eq!(chunked_post(server.port, &big), 413);

    // 10,000 attributes on one span, paths, e-mail addresses, invalid UTF-8, another
    // service's spans, a message as the error.
    let mut many = repro(10);
    for n in 0..10_000 {
        many.attributes
            .push(s(&format!("specfact.attr_{n}"), "/home/ada/secret"));
    }
    let mut leaky = span(
        11,
        "plan.init",
        vec![
            s("specfact.mode", "/home/ada/payments"),
            s("specfact.execution_mode", "ada@example.com"),
            s(
                "specfact.error",
                "[Errno 2] No such file or directory: '/home/ada/x'",
            ),
            kv(
                "specfact.success",
                opentelemetry_proto::tonic::common::v1::any_value::Value::BoolValue(false),
            ),
            s("specfact.repository", "acme/payments"),
            s("user.email", "ada@example.com"),
            i("specfact.files_analyzed", -5),
            s("specfact.session_id", "/tmp/x"),
        ],
    );
    leaky.status = Some(opentelemetry_proto::tonic::trace::v1::Status {
        code: 2,
        message: "failed reading /home/ada/payments/.env".into(),
    });
    let mut other_service = span(
        12,
        "x",
        vec![s("http.url", "https://shop.example.com/cart")],
    );
    other_service.name = "HTTP GET /cart".into();
    let mut path_command = span(13, "x", vec![]);
    path_command.name = "specfact./etc/passwd".into();
    let mut email_command = span(14, "x", vec![]);
    email_command.name = "specfact.ada@example.com".into();
    let mut body = otlp::encode(&request_of(
        "specfact-cli",
        vec![many, leaky, path_command, email_command],
    ));
    body.extend(otlp::encode(&request_of(
        "shop-frontend",
        vec![other_service],
    )));
    let r = server.post(PB, None, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let partial = response(&r.body).partial_success.unwrap();
    assert_eq!(partial.rejected_spans, 3);
    assert!(!partial.error_message.contains("passwd") && !partial.error_message.contains("ada"));

    // Invalid UTF-8 inside protobuf strings: the span name and an attribute value.
    let mut bad_name = otlp::encode(&request_of(
        "specfact-cli",
        vec![span(15, "plan.zzzz", vec![])],
    ));
    let at = bad_name.windows(4).position(|w| w == b"zzzz").unwrap();
    bad_name[at..at + 2].copy_from_slice(b"\xff\xfe");
    let r = server.post(PB, None, &bad_name);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(response(&r.body).partial_success.unwrap().rejected_spans, 1);
    let mut bad_value = otlp::encode(&request_of(
        "specfact-cli",
        vec![span(16, "plan.init", vec![s("specfact.mode", "qqqq")])],
    ));
    let at = bad_value.windows(4).position(|w| w == b"qqqq").unwrap();
    bad_value[at] = 0xc3;
    assert_eq!(server.post(PB, None, &bad_value).status, 200);

    // A million empty scope spans in OTLP/JSON (3 MB): nothing to store, nothing kept per entry.
    let mut empty = String::from("{\"resourceSpans\":[{\"scopeSpans\":[{}");
    empty.push_str(&",{}".repeat(1_000_000));
    empty.push_str("]}]}");
    let r = server.post(JSON, None, empty.as_bytes());
    assert_eq!((r.status, r.text()), (200, "{}".to_owned()));

    // The server is up, its memory bounded, and only checked values are stored.
    assert_eq!(http(server.port, "GET", "/healthz", &[], b"").status, 200);
    let peak = server.peak_rss_kib();
    eprintln!("server peak RSS after the hostile input: {peak} KiB");
    assert!(peak < 256 * 1024, "peak RSS {peak} KiB");
    let spans = stored(b);
    let commands: BTreeSet<(u8, String)> = spans
        .iter()
        .map(|s| (s.trace_id[7], s.command.clone()))
        .collect();
    assert_eq!(
        commands,
        BTreeSet::from([
            (10, "repro.run".into()),
            (11, "plan.init".into()),
            (16, "plan.init".into())
        ])
    );
    let text = format!("{spans:?}");
    for leak in [
        "/home",
        "ada",
        "example.com",
        "passwd",
        "attr_",
        "secret",
        "acme",
        "shop",
        "Errno",
        "0be0ab3e",
    ] {
        assert!(!text.contains(leak), "{leak} stored: {text}");
    }
    let leaky = spans.iter().find(|s| s.trace_id[7] == 11).unwrap();
    assert!(!leaky.success);
    assert_eq!(leaky.error, None);
    assert!(leaky.fields.is_empty(), "{:?}", leaky.fields);
    let many = spans.iter().find(|s| s.trace_id[7] == 10).unwrap();
    assert_eq!(many.fields.len(), 5, "{:?}", many.fields);
    assert_eq!(server.stat("events_stored"), 3);
    assert!(!server.stderr().contains("ada"), "{}", server.stderr());
}

/// Sends only the headers of a POST declaring `length` bytes and reads the answer.
fn declared_post(port: u16, length: usize) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: {PB}\r\nContent-Length: {length}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut raw = [0u8; 64];
    let n = s.read(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw[..n]);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// POST with `Transfer-Encoding: chunked`, so no length is declared up front.
fn chunked_post(port: u16, body: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: {PB}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let _ = s.write_all(head.as_bytes());
    for chunk in body.chunks(1 << 20) {
        if s.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .is_err()
            || s.write_all(chunk).is_err()
            || s.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn sigkill_under_load_loses_no_acknowledged_span(b: &Backend) {
    const CLIENTS: u64 = 4;
    const BATCHES: u64 = 60;
    const SPANS: u64 = 64;
    let mut server = b.start(&[]);
    let port = server.port;
    let acked: Arc<Mutex<BTreeSet<u64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    // Each client sends its batches in order until the server dies under it.
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let acked = acked.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for batch in 0..BATCHES {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let id = c * BATCHES + batch;
                    let body = gzip(&otlp::repro_batch(1 + id * SPANS, SPANS));
                    let r = try_http(
                        port,
                        "POST",
                        "/v1/traces",
                        &[("Content-Type", PB), ("Content-Encoding", "gzip")],
                        &body,
                    );
                    match r {
                        Ok(r) if r.status == 200 => {
                            acked.lock().unwrap().insert(id);
                        }
                        _ => return,
                    }
                }
            })
        })
        .collect();
    // Kill it while the clients are busy.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 20 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill9();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 20,
        "only {} batches acknowledged",
        acked.len()
    );
    let acked_spans: BTreeSet<u64> = acked
        .iter()
        .flat_map(|id| (1 + id * SPANS)..(1 + (id + 1) * SPANS))
        .collect();

    server.restart();
    // Everything acknowledged before the kill is there.
    let ids: BTreeSet<u64> = stored(b).iter().map(span_number).collect();
    assert!(acked_spans.is_subset(&ids), "acknowledged spans lost");
    // Clients re-send everything not acknowledged (at least once: some of it may have been
    // committed when the answer was lost); nothing is stored twice.
    let stored_before = server.stat("events_stored");
    for id in 0..CLIENTS * BATCHES {
        if !acked.contains(&id) {
            let body = gzip(&otlp::repro_batch(1 + id * SPANS, SPANS));
            assert_eq!(server.post(PB, Some("gzip"), &body).status, 200);
        }
    }
    let total = CLIENTS * BATCHES * SPANS;
    let stats = server.stats();
    assert_eq!(stats["events_stored"], total, "{stats}");
    assert_eq!(
        stats["duplicates"].as_u64().unwrap(),
        stored_before - acked_spans.len() as u64,
        "{stats}"
    );
    let ids: Vec<u64> = stored(b).iter().map(span_number).collect();
    assert_eq!(ids.len() as u64, total);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len() as u64, total);
}

/// The number a test span was built from (its trace id's first eight bytes).
fn span_number(s: &StoredSpan) -> u64 {
    u64::from_be_bytes(s.trace_id[..8].try_into().unwrap())
}

fn sigterm_finishes_requests_in_flight(b: &Backend) {
    use std::io::{Read, Write};
    let mut server = b.start(&[]);
    let body = otlp::repro_batch(1, 50);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: {PB}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body[..body.len() / 2]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = server.pid;
    // SAFETY: kill(2) on the server child's pid.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    std::thread::sleep(Duration::from_millis(300));
    // New connections are refused, the request in flight completes.
    assert!(try_http(server.port, "GET", "/healthz", &[], b"").is_err());
    s.write_all(&body[body.len() / 2..]).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&raw).contains("\r\n\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed without an answer");
        raw.extend_from_slice(&buf[..n]);
    }
    assert!(
        String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    drop(s);
    assert_eq!(server.terminate().code(), Some(0));
    assert_eq!(stored(b).len(), 50);
}

fn overload_gets_429_with_retry_after(b: &Backend) {
    use std::io::{Read, Write};
    let server = b.start(&["--max-concurrent", "1"]);
    let body = otlp::repro_batch(1, 20);
    // The one slot is taken by a request whose body is still arriving.
    let mut slow = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: {PB}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    slow.write_all(head.as_bytes()).unwrap();
    slow.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let r = server.post(PB, None, &otlp::repro_batch(100, 5));
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.header("retry-after").is_some());
    // The slow request still completes, and the server takes new ones again.
    slow.write_all(&body[10..]).unwrap();
    let mut raw = Vec::new();
    slow.read_to_end(&mut raw).unwrap();
    assert!(String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 200"));
    assert_eq!(
        server.post(PB, None, &otlp::repro_batch(100, 5)).status,
        200
    );
    let stats = server.stats();
    assert_eq!(stats["events_stored"], 25, "{stats}");
    assert_eq!(stats["requests_refused"], 1, "{stats}");
}
