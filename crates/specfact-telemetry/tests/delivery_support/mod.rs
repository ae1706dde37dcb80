//! A tiny OTLP/HTTP collector on 127.0.0.1 for delivery tests and benchmarks.
//!
//! It speaks just enough HTTP/1.1 (keep-alive, `Content-Length` bodies), decodes
//! protobuf and OTLP/JSON requests (gzipped or not), and can misbehave on purpose:
//! answer with any status (and `Retry-After`), never answer, answer late, or report
//! a partial success. Everything stops when the collector is dropped; every loop is
//! bounded.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

/// Longest any connection thread lingers (black-holed or slow answers).
const MAX_LINGER: Duration = Duration::from_secs(60);

/// How the collector answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// 200 with an empty success body.
    Healthy,
    /// Reads the request and never answers.
    BlackHole,
    /// Answers 200 after this long.
    Slow(Duration),
    /// Answers with this status, optional `Retry-After` seconds and body.
    Status(u16, Option<u64>, &'static str),
    /// 200 with a partial-success body.
    Partial(i64, &'static str),
    /// Answers 413 to requests with more spans than this, 200 otherwise.
    MaxSpans(usize),
    /// Only counts bodies (benchmarks): 200 without decoding.
    CountOnly,
}

/// One span as received.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    pub trace_id: Vec<u8>,
    pub span_id: Vec<u8>,
    pub name: String,
    pub start: u64,
    pub end: u64,
    pub status_code: i32,
    pub attributes: Vec<(String, String)>,
    pub resource: Vec<(String, String)>,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub spans: Vec<ReceivedSpan>,
    pub body_bytes: usize,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Shared {
    mode: Mutex<Mode>,
    received: Mutex<Vec<Received>>,
    stop: AtomicBool,
    span_count: std::sync::atomic::AtomicUsize,
}

pub struct Collector {
    pub port: u16,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

/// A port on 127.0.0.1 with nothing listening (bound, then released).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl Collector {
    pub fn start(mode: Mode) -> Collector {
        Self::start_on(0, mode)
    }

    /// Starts on a given port (0: any), e.g. to come up where a "closed" port was.
    pub fn start_on(port: u16, mode: Mode) -> Collector {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            mode: Mutex::new(mode),
            received: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            span_count: std::sync::atomic::AtomicUsize::new(0),
        });
        let s = Arc::clone(&shared);
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = conn {
                    let s2 = Arc::clone(&s);
                    std::thread::spawn(move || serve(stream, &s2));
                }
            }
        });
        Collector {
            port,
            shared,
            accept: Some(accept),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/v1/traces", self.port)
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    pub fn requests(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.requests().into_iter().flat_map(|r| r.spans).collect()
    }

    pub fn span_count(&self) -> usize {
        self.shared.span_count.load(Ordering::SeqCst)
    }

    /// Waits (bounded) until at least `n` spans arrived.
    pub fn wait_for_spans(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.span_count() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.span_count() >= n
    }

    /// Waits (bounded) until at least `n` requests arrived.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.shared.received.lock().unwrap().len() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn serve(stream: TcpStream, s: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    let started = Instant::now();
    loop {
        if s.stop.load(Ordering::SeqCst) || started.elapsed() > MAX_LINGER {
            return;
        }
        let Some((path, headers, body)) = read_request(&mut reader, s) else {
            return;
        };
        let at = Instant::now();
        let mode = s.mode.lock().unwrap().clone();
        let ct = header(&headers, "content-type").unwrap_or_default();
        let json = ct.contains("json");
        let spans = if mode == Mode::CountOnly {
            Vec::new()
        } else {
            decode(&headers, &body)
        };
        let n = if mode == Mode::CountOnly {
            0
        } else {
            spans.len()
        };
        let accepted = !matches!(mode, Mode::Status(..) | Mode::BlackHole)
            && !matches!(mode, Mode::MaxSpans(max) if n > max);
        if accepted {
            s.span_count.fetch_add(n, Ordering::SeqCst);
        }
        s.received.lock().unwrap().push(Received {
            at,
            path,
            headers,
            spans,
            body_bytes: body.len(),
        });
        let (status, retry_after, body): (u16, Option<u64>, Vec<u8>) = match mode {
            Mode::Healthy | Mode::CountOnly => (200, None, Vec::new()),
            Mode::BlackHole => {
                while !s.stop.load(Ordering::SeqCst) && started.elapsed() < MAX_LINGER {
                    std::thread::sleep(Duration::from_millis(50));
                }
                return;
            }
            Mode::Slow(d) => {
                let until = Instant::now() + d;
                while Instant::now() < until && !s.stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                (200, None, Vec::new())
            }
            Mode::Status(code, ra, text) => (code, ra, text.as_bytes().to_vec()),
            Mode::Partial(rejected, msg) => {
                let r = ExportTraceServiceResponse {
                    partial_success: Some(ExportTracePartialSuccess {
                        rejected_spans: rejected,
                        error_message: msg.to_owned(),
                    }),
                };
                let b = if json {
                    serde_json::to_vec(&r).unwrap()
                } else {
                    r.encode_to_vec()
                };
                (200, None, b)
            }
            Mode::MaxSpans(max) if n > max => (413, None, b"too large".to_vec()),
            Mode::MaxSpans(_) => (200, None, Vec::new()),
        };
        let mut head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
            if json {
                "application/json"
            } else {
                "application/x-protobuf"
            },
            body.len()
        );
        if let Some(ra) = retry_after {
            head.push_str(&format!("Retry-After: {ra}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&body).is_err() {
            return;
        }
        let _ = writer.flush();
        if status >= 400 && status != 413 {
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
    }
}

fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// Path, headers and body of one request.
type RawRequest = (String, Vec<(String, String)>, Vec<u8>);

/// Reads one request; `None` at end of stream or on stop.
fn read_request(r: &mut BufReader<TcpStream>, s: &Shared) -> Option<RawRequest> {
    let mut line = String::new();
    let deadline = Instant::now() + MAX_LINGER;
    loop {
        match r.read_line(&mut line) {
            Ok(0) => return None,
            Ok(_) => break,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if s.stop.load(Ordering::SeqCst) || Instant::now() > deadline {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        match r.read_line(&mut h) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if s.stop.load(Ordering::SeqCst) || Instant::now() > deadline {
                    return None;
                }
                continue;
            }
            Err(_) => return None,
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let len: usize = header(&headers, "content-length")?.parse().ok()?;
    let mut body = vec![0u8; len];
    let mut got = 0;
    while got < len {
        match r.read(&mut body[got..]) {
            Ok(0) => return None,
            Ok(n) => got += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if s.stop.load(Ordering::SeqCst) || Instant::now() > deadline {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
    Some((path, headers, body))
}

/// Decodes a request body into spans (empty when it cannot be decoded).
pub fn decode(headers: &[(String, String)], body: &[u8]) -> Vec<ReceivedSpan> {
    let raw = if header(headers, "content-encoding").as_deref() == Some("gzip") {
        let mut out = Vec::new();
        if flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .is_err()
        {
            return Vec::new();
        }
        out
    } else {
        body.to_vec()
    };
    let ct = header(headers, "content-type").unwrap_or_default();
    let req = if ct.contains("json") {
        serde_json::from_slice::<ExportTraceServiceRequest>(&raw).ok()
    } else {
        ExportTraceServiceRequest::decode(raw.as_slice()).ok()
    };
    let Some(req) = req else { return Vec::new() };
    let mut out = Vec::new();
    for rs in req.resource_spans {
        let resource = rs
            .resource
            .map(|r| attrs(&r.attributes))
            .unwrap_or_default();
        for ss in rs.scope_spans {
            for sp in ss.spans {
                out.push(ReceivedSpan {
                    trace_id: sp.trace_id,
                    span_id: sp.span_id,
                    name: sp.name,
                    start: sp.start_time_unix_nano,
                    end: sp.end_time_unix_nano,
                    status_code: sp.status.map(|s| s.code).unwrap_or(0),
                    attributes: attrs(&sp.attributes),
                    resource: resource.clone(),
                });
            }
        }
    }
    out
}

fn attrs(kvs: &[opentelemetry_proto::tonic::common::v1::KeyValue]) -> Vec<(String, String)> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
    kvs.iter()
        .map(|kv| {
            let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(V::StringValue(s)) => s.clone(),
                Some(V::IntValue(i)) => i.to_string(),
                Some(V::DoubleValue(d)) => d.to_string(),
                Some(V::BoolValue(b)) => b.to_string(),
                _ => String::new(),
            };
            (kv.key.clone(), v)
        })
        .collect()
}
