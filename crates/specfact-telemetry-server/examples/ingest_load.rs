//! Load generator for the ingest benchmark (`scripts/bench-server`): sends gzip protobuf OTLP
//! requests of N spans over C keep-alive connections to an OTLP/HTTP receiver and prints the
//! throughput of acknowledged spans as one JSON line.
//!
//! ```text
//! cargo run --release -p specfact-telemetry-server --example ingest_load -- \
//!     --port 4318 --connections 4 --spans 512 --requests 400
//! ```
//!
//! Every span has its own id, so a store really inserts each one. Bodies are built before the
//! clock starts.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

fn kv(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn s(key: &str, v: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(v.into()))
}

fn body(run: u64, request: u64, spans: u64) -> Vec<u8> {
    use any_value::Value::{BoolValue, DoubleValue, IntValue};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let spans = (0..spans)
        .map(|i| {
            let n = request * spans + i;
            let mut trace_id = [0u8; 16];
            trace_id[..8].copy_from_slice(&run.to_be_bytes());
            trace_id[8..].copy_from_slice(&(n + 1).to_be_bytes());
            Span {
                trace_id: trace_id.to_vec(),
                span_id: trace_id[8..].to_vec(),
                name: "specfact.repro.run".into(),
                kind: 1,
                flags: 0x101,
                start_time_unix_nano: now - 60_000_000_000 + n,
                end_time_unix_nano: now - 59_000_000_000 + n,
                attributes: vec![
                    s("specfact.mode", "repro"),
                    kv("specfact.files_analyzed", IntValue(140)),
                    kv("specfact.checks_total", IntValue(6)),
                    kv("specfact.checks_failed", IntValue((n % 3) as i64)),
                    kv("specfact.violations_detected", IntValue((n % 2) as i64)),
                    s("specfact.session_id", &format!("{:032x}", n / 4 + 1)),
                    kv("specfact.success", BoolValue(!n.is_multiple_of(5))),
                    kv("specfact.duration_ms", DoubleValue(12.5 + (n % 100) as f64)),
                    s("specfact.command", "repro.run"),
                    s("specfact.telemetry_version", "1.0"),
                    s("specfact.cli_version", "0.20.5"),
                    s("specfact.opt_in_source", "env"),
                    s("specfact.event_id", &uuid_like(run, n)),
                ],
                ..Default::default()
            }
        })
        .collect();
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    s("service.name", "specfact-cli"),
                    s("service.namespace", "cli"),
                    s("service.version", "0.20.5"),
                    s("deployment.environment", "production"),
                    s("telemetry.opt_in_source", "env"),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&request.encode_to_vec()).unwrap_or_default();
    e.finish().unwrap_or_default()
}

fn uuid_like(run: u64, n: u64) -> String {
    let x = (u128::from(run) << 64) | u128::from(n);
    let h = format!("{x:032x}");
    format!(
        "{}-{}-7{}-8{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..]
    )
}

/// Sends `bodies` on one keep-alive connection; returns how many were acknowledged with 200.
fn send_all(port: u16, bodies: &[Vec<u8>]) -> std::io::Result<u64> {
    let stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut ok = 0;
    for body in bodies {
        let head = format!(
            "POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        writer.write_all(head.as_bytes())?;
        writer.write_all(body)?;
        let mut status = String::new();
        reader.read_line(&mut status)?;
        let mut length = 0usize;
        let mut chunked = false;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let l = line.trim_end().to_ascii_lowercase();
            if l.is_empty() {
                break;
            }
            if let Some(v) = l.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if l.starts_with("transfer-encoding:") && l.contains("chunked") {
                chunked = true;
            }
        }
        if chunked {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size)?;
                let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0u8; n + 2];
                reader.read_exact(&mut chunk)?;
                if n == 0 {
                    break;
                }
            }
        } else {
            let mut rest = vec![0u8; length];
            reader.read_exact(&mut rest)?;
        }
        if status.split(' ').nth(1) == Some("200") {
            ok += 1;
        }
    }
    Ok(ok)
}

fn main() {
    let mut port = 4318u16;
    let mut connections = 4usize;
    let mut spans = 512u64;
    let mut requests = 400u64;
    let mut run = std::process::id() as u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_default();
        match a.as_str() {
            "--port" => port = v.parse().unwrap_or(port),
            "--connections" => connections = v.parse().unwrap_or(connections),
            "--spans" => spans = v.parse().unwrap_or(spans),
            "--requests" => requests = v.parse().unwrap_or(requests),
            "--run" => run = v.parse().unwrap_or(run),
            _ => {
                eprintln!(
                    "usage: ingest_load --port P --connections C --spans N --requests R [--run ID]"
                );
                std::process::exit(2);
            }
        }
    }
    let bodies: Vec<Vec<u8>> = (0..requests).map(|r| body(run, r, spans)).collect();
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    let per = bodies.len().div_ceil(connections.max(1));
    let started = Instant::now();
    let acknowledged: u64 = std::thread::scope(|scope| {
        let handles: Vec<_> = bodies
            .chunks(per.max(1))
            .map(|part| scope.spawn(move || send_all(port, part).unwrap_or(0)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"requests\":{requests},\"acknowledged\":{acknowledged},\"spans\":{},\"seconds\":{secs:.3},\"spans_per_second\":{:.0},\"gzip_bytes_per_request\":{}}}",
        acknowledged * spans,
        (acknowledged * spans) as f64 / secs,
        bytes / bodies.len().max(1)
    );
}
