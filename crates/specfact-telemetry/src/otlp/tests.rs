//! The encoders, checked against the official OTLP message types.

use super::reference::encode;
use super::reference::*;
use super::*;
use crate::event::parse_timestamp;
use uuid::Uuid;

const FIXTURE_LINE: &str = r#"{"mode":"repro","files_analyzed":2,"checks_total":3,"checks_failed":0,"violations_detected":0,"session_id":"e66ed2f0ed0a4d81bf92d91b2add3fed","success":true,"duration_ms":14.79,"command":"repro.run","telemetry_version":"1.0","cli_version":"0.20.5","opt_in_source":"env"}"#;

fn info() -> ResourceInfo {
    ResourceInfo {
        service_name: "specfact-cli".into(),
        service_namespace: "cli".into(),
        deployment_environment: "production".into(),
    }
}

fn attrs(kvs: &[KeyValue]) -> Vec<(String, any_value::Value)> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), kv.value.clone().unwrap().value.unwrap()))
        .collect()
}

#[test]
fn a_python_event_matches_the_reference_span_attributes() {
    let e = Event::from_json_line(FIXTURE_LINE.as_bytes()).unwrap();
    let now = parse_timestamp("2026-11-24T06:00:00Z").unwrap();
    let s = event_span(&e, now);
    assert_eq!(s.name, "specfact.repro.run");
    assert_eq!(s.kind, SpanKind::Internal as i32);
    let a = attrs(&s.attributes);
    let keys: Vec<&str> = a.iter().map(|(k, _)| k.as_str()).collect();
    // The reference's keys, in the reference's order.
    assert_eq!(
        keys,
        [
            "specfact.mode",
            "specfact.files_analyzed",
            "specfact.checks_total",
            "specfact.checks_failed",
            "specfact.violations_detected",
            "specfact.session_id",
            "specfact.success",
            "specfact.duration_ms",
            "specfact.command",
            "specfact.telemetry_version",
            "specfact.cli_version",
            "specfact.opt_in_source",
        ]
    );
    assert_eq!(a[1].1, any_value::Value::IntValue(2));
    assert_eq!(a[6].1, any_value::Value::BoolValue(true));
    assert_eq!(a[7].1, any_value::Value::DoubleValue(14.79));
    assert_eq!(s.end_time_unix_nano, unix_nanos(now));
    assert_eq!(s.end_time_unix_nano - s.start_time_unix_nano, 14_790_000);
    assert_eq!(s.status, Some(Status::default()));
    // Deterministic ids, derived from the line.
    assert_eq!(s.trace_id, event_span(&e, now).trace_id);
    assert_eq!(s.trace_id.len(), 16);
    assert_eq!(s.span_id.len(), 8);
    assert!(s.span_id.iter().any(|b| *b != 0));
}

#[test]
fn our_events_have_real_times_error_status_and_ids_from_the_event_id() {
    let id = Uuid::parse_str("01936b2e-1f00-7abc-8def-0123456789ab").unwrap();
    let e = Event {
        success: false,
        error: Some("TimeoutError".into()),
        timestamp: parse_timestamp("2026-01-02T03:04:05.500Z"),
        duration_ms: Some(1500.0),
        event_id: Some(id),
        ..Event::from_json_line(FIXTURE_LINE.as_bytes()).unwrap()
    };
    let s = event_span(&e, SystemTime::now());
    assert_eq!(s.start_time_unix_nano, 1_767_323_045_500_000_000);
    assert_eq!(s.end_time_unix_nano, 1_767_323_047_000_000_000);
    assert_eq!(s.trace_id, id.as_bytes().to_vec());
    assert_eq!(s.span_id, id.as_bytes()[8..].to_vec());
    let st = s.status.unwrap();
    assert_eq!(
        (st.code, st.message.as_str()),
        (StatusCode::Error as i32, "TimeoutError")
    );
    let a = attrs(&s.attributes);
    assert!(a.contains(&("specfact.error".into(), string("TimeoutError"))));
    assert!(a.contains(&("specfact.event_id".into(), string(&id.to_string()))));
}

#[test]
fn events_are_grouped_by_resource_and_the_fixture_resource_is_reproduced() {
    let e = Event::from_json_line(FIXTURE_LINE.as_bytes()).unwrap();
    let other = Event {
        cli_version: Some("0.21.0".into()),
        ..e.clone()
    };
    let mut b = RequestBuilder::new(info(), SystemTime::now());
    b.push(&e);
    b.push(&other);
    b.push(&e);
    assert_eq!(b.len(), 3);
    let req = b.build();
    assert_eq!(req.resource_spans.len(), 2);
    let counts: Vec<usize> = req
        .resource_spans
        .iter()
        .map(|rs| rs.scope_spans[0].spans.len())
        .collect();
    assert_eq!(counts, [2, 1]);
    let scope = req.resource_spans[0].scope_spans[0].scope.as_ref().unwrap();
    assert_eq!(scope.name, SCOPE_NAME);
    let res = attrs(&req.resource_spans[0].resource.as_ref().unwrap().attributes);
    for (k, v) in [
        ("service.name", "specfact-cli"),
        ("service.namespace", "cli"),
        ("service.version", "0.20.5"),
        ("deployment.environment", "production"),
        ("telemetry.opt_in_source", "env"),
    ] {
        assert!(res.contains(&(k.into(), string(v))), "{k}: {res:?}");
    }
    let res2 = attrs(&req.resource_spans[1].resource.as_ref().unwrap().attributes);
    assert!(res2.contains(&("service.version".into(), string("0.21.0"))));
}

#[test]
fn protobuf_and_json_encodings_decode_back() {
    let e = Event::from_json_line(FIXTURE_LINE.as_bytes()).unwrap();
    let mut b = RequestBuilder::new(info(), SystemTime::now());
    b.push(&e);
    let req = b.build();
    let pb = encode(&req, Protocol::Protobuf).unwrap();
    assert_eq!(
        ExportTraceServiceRequest::decode(pb.as_slice()).unwrap(),
        req
    );
    let json = encode(&req, Protocol::Json).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let span = &v["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    // OTLP/JSON: hex ids, integer enums, 64-bit integers as strings.
    assert_eq!(span["traceId"].as_str().unwrap().len(), 32);
    assert_eq!(span["spanId"].as_str().unwrap().len(), 16);
    assert_eq!(span["kind"], 1);
    assert!(span["startTimeUnixNano"].is_string());
    assert_eq!(span["attributes"][1]["value"]["intValue"], "2");
    let back: ExportTraceServiceRequest = serde_json::from_slice(&json).unwrap();
    assert_eq!(back, req);
    #[cfg(feature = "otlp")]
    {
        let gz = gzip(&pb).unwrap();
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut out)
            .unwrap();
        assert_eq!(out, pb);
    }
}

#[test]
fn the_reference_protobuf_payload_has_the_same_shape_as_ours() {
    let pb = include_bytes!("../../tests/fixtures/python-specfact-0.20.5/otlp-repro.run.pb");
    let theirs = ExportTraceServiceRequest::decode(pb.as_slice()).unwrap();
    let e = Event::from_json_line(FIXTURE_LINE.as_bytes()).unwrap();
    let mut b = RequestBuilder::new(info(), SystemTime::now());
    b.push(&e);
    let ours = b.build();
    let (t, o) = (&theirs.resource_spans[0], &ours.resource_spans[0]);
    assert_eq!(
        t.scope_spans[0].scope.as_ref().unwrap().name,
        o.scope_spans[0].scope.as_ref().unwrap().name
    );
    let (ts, os) = (&t.scope_spans[0].spans[0], &o.scope_spans[0].spans[0]);
    assert_eq!(ts.name, os.name);
    assert_eq!(ts.kind, os.kind);
    assert_eq!(attrs(&ts.attributes), attrs(&os.attributes));
    let their_res = attrs(&t.resource.as_ref().unwrap().attributes);
    for kv in attrs(&o.resource.as_ref().unwrap().attributes) {
        if !kv.0.starts_with("telemetry.sdk.") {
            assert!(
                their_res.contains(&kv),
                "{kv:?} not in the reference resource"
            );
        }
    }
}

#[test]
fn the_direct_protobuf_writer_matches_the_official_messages() {
    let base = Event::from_json_line(FIXTURE_LINE.as_bytes()).unwrap();
    let events = vec![
        base.clone(),
        Event {
            success: false,
            error: Some("TimeoutError".into()),
            event_id: Some(Uuid::now_v7()),
            timestamp: Some(SystemTime::now()),
            cli_version: Some("0.21.0".into()),
            fields: vec![
                ("shadow_mode".into(), FieldValue::Bool(false)),
                ("files_analyzed".into(), FieldValue::Int(-1)),
                ("big".into(), FieldValue::Int(i64::MAX)),
                ("ratio".into(), FieldValue::Float(0.25)),
                ("long".into(), FieldValue::Str("x".repeat(300))),
            ],
            ..base.clone()
        },
        Event {
            success: false,
            error: None,
            opt_in_source: None,
            ..base.clone()
        },
        base,
    ];
    let now = SystemTime::now();
    let mut b = RequestBuilder::new(info(), now);
    for e in &events {
        b.push(e);
    }
    let want = b.build();
    let bytes = encode_protobuf(&info(), &events, now);
    assert_eq!(
        ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap(),
        want
    );
    assert_eq!(bytes.len(), want.encoded_len());
}

/// Events covering every attribute kind, a failure with and without a message, two
/// resources, and strings that need escaping in JSON.
fn varied_events() -> Vec<Event> {
    let base = Event::from_json_line(FIXTURE_LINE.as_bytes()).unwrap();
    vec![
        base.clone(),
        Event {
            success: false,
            error: Some("TimeoutError".into()),
            event_id: Some(Uuid::now_v7()),
            timestamp: Some(SystemTime::now()),
            cli_version: Some("0.21.0".into()),
            fields: vec![
                ("shadow_mode".into(), FieldValue::Bool(false)),
                ("files_analyzed".into(), FieldValue::Int(-1)),
                ("big".into(), FieldValue::Int(i64::MAX)),
                ("small".into(), FieldValue::Int(i64::MIN)),
                ("ratio".into(), FieldValue::Float(0.25)),
                ("tiny".into(), FieldValue::Float(1e-300)),
                ("long".into(), FieldValue::Str("x".repeat(300))),
                (
                    "quoted".into(),
                    FieldValue::Str("a \"b\" \\ c\n\t\u{1} é 😀 \u{2028}".into()),
                ),
            ],
            ..base.clone()
        },
        Event {
            success: false,
            error: None,
            opt_in_source: None,
            ..base.clone()
        },
        base,
    ]
}

#[test]
fn the_direct_json_writer_matches_the_official_messages() {
    let events = varied_events();
    let now = SystemTime::now();
    let mut b = RequestBuilder::new(info(), now);
    for e in &events {
        b.push(e);
    }
    let want = b.build();
    let json = encode_json(&info(), &events, now);
    let back: ExportTraceServiceRequest = serde_json::from_slice(&json).unwrap();
    assert_eq!(back, want);
    // And the official types' own JSON reads back the same as ours.
    let theirs: serde_json::Value =
        serde_json::from_slice(&encode(&want, Protocol::Json).unwrap()).unwrap();
    let ours: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let span = |v: &serde_json::Value, k: &str| {
        v["resourceSpans"][1]["scopeSpans"][0]["spans"][0][k].clone()
    };
    for k in [
        "traceId",
        "spanId",
        "kind",
        "flags",
        "startTimeUnixNano",
        "endTimeUnixNano",
        "attributes",
        "status",
        "name",
    ] {
        assert_eq!(span(&ours, k), span(&theirs, k), "{k}");
    }
    assert_eq!(
        encode(&want, Protocol::Protobuf).unwrap(),
        encode_protobuf(&info(), &events, now)
    );
    // The pretty form is the same document.
    let pretty: serde_json::Value =
        serde_json::from_str(&to_json_pretty(&info(), &events, now)).unwrap();
    assert_eq!(pretty, ours);
}

#[test]
fn partial_success_answers_are_read_in_both_encodings() {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;
    let r = ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: 3,
            error_message: "too old".into(),
        }),
    };
    let want = Some(PartialSuccess {
        rejected_spans: 3,
        error_message: "too old".into(),
    });
    assert_eq!(
        decode_response(&r.encode_to_vec(), Some("application/x-protobuf")),
        want
    );
    let json = serde_json::to_vec(&r).unwrap();
    assert_eq!(decode_response(&json, Some("application/json")), want);
    assert_eq!(decode_response(b"", None), None);
    // Unknown fields are skipped; a truncated answer is no answer.
    let mut with_unknown = vec![0x78, 0x05, 0x22, 0x01, 0xff];
    with_unknown.extend(r.encode_to_vec());
    assert_eq!(
        decode_response(&with_unknown, Some("application/x-protobuf")),
        want
    );
    let full = r.encode_to_vec();
    assert_eq!(
        decode_response(&full[..full.len() - 2], Some("application/x-protobuf")),
        None
    );
    assert_eq!(
        decode_response(
            br#"{"partial_success":{"rejected_spans":3,"error_message":"too old"}}"#,
            Some("application/json")
        ),
        want
    );
    assert_eq!(decode_response(b"{}", Some("application/json")), None);
}
