//! The HTTP side: OTLP/HTTP `POST /v1/traces`, `GET /healthz`, `GET /api/stats`, and the
//! community figures (`GET /api/community.json`, `GET /`, see [`crate::community`]), on tokio
//! and hyper, with bounded input and a graceful shutdown.
//!
//! Nothing about a client is stored or logged: the peer address is dropped when the
//! connection is accepted, and headers other than those that select the format, the encoding
//! and the ingest token are never read.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::body::{self, Encoding, InflateError};
use crate::decode::Format;
use crate::ingest::{self, Checker, IngestError, RequestOutcome};
use crate::store::{Store, StoreError};

/// Bounds on what one request and the whole server may take.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body as sent (compressed or not), bytes.
    pub max_body: usize,
    /// Largest body after decompression, bytes.
    pub max_decompressed: usize,
    /// Requests processed at once; the others wait up to `queue_wait`, then get 429.
    pub max_concurrent: usize,
    /// Open connections at once; past this, new connections wait to be accepted.
    pub max_connections: usize,
    /// Time to receive a request's headers.
    pub header_timeout: Duration,
    /// Time to receive a request's body.
    pub read_timeout: Duration,
    /// How long a request waits for a free slot before 429.
    pub queue_wait: Duration,
    /// How long a shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 4 << 20,
            max_decompressed: 16 << 20,
            max_concurrent: 4,
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            queue_wait: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Everything a running server needs.
pub struct Config {
    /// Where spans go.
    pub store: Arc<dyn Store>,
    /// When set, `POST /v1/traces` needs `Authorization: Bearer <token>`.
    pub ingest_token: Option<String>,
    /// Input bounds.
    pub limits: Limits,
    /// Delete spans older than this, at start and every hour.
    pub retain: Option<Duration>,
    /// How the community figures (`/`, `/api/community.json`) are made.
    pub community: crate::community::Settings,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("store", &self.store.kind())
            .field("ingest_token", &self.ingest_token.as_ref().map(|_| "***"))
            .field("limits", &self.limits)
            .field("retain", &self.retain)
            .field("community", &self.community)
            .finish()
    }
}

/// Counters since this process started.
#[derive(Debug, Default)]
struct Counters {
    spans_accepted: AtomicU64,
    spans_rejected: AtomicU64,
    duplicates: AtomicU64,
    requests_ok: AtomicU64,
    requests_refused: AtomicU64,
    requests_failed: AtomicU64,
}

struct State {
    config: Config,
    checker: Checker,
    permits: Semaphore,
    counters: Counters,
    started: Instant,
    community: Arc<crate::community::Community>,
}

/// Serves on `listener` until `shutdown` completes, then stops accepting, lets requests in
/// flight finish (at most [`Limits::shutdown_grace`]) and returns.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let state = Arc::new(State {
        permits: Semaphore::new(config.limits.max_concurrent.max(1)),
        checker: Checker::default(),
        counters: Counters::default(),
        started: Instant::now(),
        community: Arc::new(crate::community::Community::new(config.community.clone())),
        config,
    });
    let community = tokio::spawn(state.community.clone().run(state.config.store.clone()));
    let retention = state
        .config
        .retain
        .map(|age| tokio::spawn(retention_loop(state.config.store.clone(), age)));
    let connections = Arc::new(Semaphore::new(state.config.limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = connections.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            // The peer address is dropped here: nothing identifies a client.
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // Out of descriptors or a connection reset before accept: wait a little.
                eprintln!("specfact-telemetry-server: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let header_timeout = state.config.limits.header_timeout;
        let state = state.clone();
        let service = hyper::service::service_fn(move |req| {
            let state = state.clone();
            async move { Ok::<_, Infallible>(handle(state, req).await) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    let grace = state.config.limits.shutdown_grace;
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(grace) => {
            eprintln!("specfact-telemetry-server: requests still running after {grace:?}; stopping anyway");
        }
    }
    if let Some(r) = retention {
        r.abort();
    }
    community.abort();
    Ok(())
}

async fn retention_loop(store: Arc<dyn Store>, age: Duration) {
    loop {
        let cut = SystemTime::now()
            .checked_sub(age)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let s = store.clone();
        match tokio::task::spawn_blocking(move || s.retain(cut)).await {
            Ok(Ok(n)) if n > 0 => {
                eprintln!(
                    "specfact-telemetry-server: retention deleted {n} events older than {}",
                    humantime::format_duration(age)
                );
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => eprintln!("specfact-telemetry-server: retention failed: {e}"),
            Err(_) => eprintln!("specfact-telemetry-server: retention failed"),
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

type Resp = Response<Full<Bytes>>;

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Resp {
    let path = req.uri().path();
    match (req.method(), path) {
        (&Method::POST, "/v1/traces") => traces(state, req).await,
        (&Method::GET | &Method::HEAD, "/healthz") => plain(StatusCode::OK, "ok\n"),
        (&Method::GET, "/api/stats") => stats(&state).await,
        (&Method::GET | &Method::HEAD, "/" | "/api/community.json") => {
            crate::community::respond(&state.community, req.method(), path, req.headers())
        }
        (_, "/v1/traces") => {
            with_allow(plain(StatusCode::METHOD_NOT_ALLOWED, "use POST\n"), "POST")
        }
        (_, "/healthz" | "/api/stats" | "/" | "/api/community.json") => {
            with_allow(plain(StatusCode::METHOD_NOT_ALLOWED, "use GET\n"), "GET")
        }
        _ => plain(
            StatusCode::NOT_FOUND,
            "not found: this server has POST /v1/traces, GET /healthz, GET /api/stats, GET /api/community.json and GET /\n",
        ),
    }
}

fn plain(status: StatusCode, text: &'static str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn with_allow(mut r: Resp, allow: &'static str) -> Resp {
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// A failure response: a `google.rpc.Status` in the request's format.
fn status(format: Option<Format>, code: StatusCode, message: &str) -> Resp {
    // google.rpc.Status codes: INVALID_ARGUMENT 3, RESOURCE_EXHAUSTED 8, UNAUTHENTICATED 16,
    // PERMISSION_DENIED 7, UNAVAILABLE 14, UNIMPLEMENTED 12, DEADLINE_EXCEEDED 4.
    let rpc = match code {
        StatusCode::UNAUTHORIZED => 16,
        StatusCode::FORBIDDEN => 7,
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::TOO_MANY_REQUESTS => 8,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => 12,
        StatusCode::SERVICE_UNAVAILABLE => 14,
        StatusCode::REQUEST_TIMEOUT => 4,
        _ => 3,
    };
    let (body, content_type) = match format {
        Some(Format::Protobuf) => {
            let mut buf = Vec::new();
            prost::encoding::int32::encode(1, &rpc, &mut buf);
            prost::encoding::string::encode(2, &message.to_owned(), &mut buf);
            (buf, "application/x-protobuf")
        }
        _ => (
            serde_json::json!({ "code": rpc, "message": message })
                .to_string()
                .into_bytes(),
            "application/json",
        ),
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = code;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if matches!(
        code,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    }
    if code == StatusCode::UNAUTHORIZED {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

/// The success response: an `ExportTraceServiceResponse`, with `partial_success` when spans
/// were refused.
fn success(format: Format, outcome: &RequestOutcome) -> Resp {
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTracePartialSuccess, ExportTraceServiceResponse,
    };
    let partial = (outcome.rejected() > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: i64::try_from(outcome.rejected()).unwrap_or(i64::MAX),
        error_message: outcome.message(),
    });
    let (body, content_type) = match format {
        Format::Protobuf => (
            ExportTraceServiceResponse {
                partial_success: partial,
            }
            .encode_to_vec(),
            "application/x-protobuf",
        ),
        Format::Json => {
            let json = match partial {
                Some(p) => serde_json::json!({ "partialSuccess": {
                    "rejectedSpans": p.rejected_spans.to_string(),
                    "errorMessage": p.error_message,
                }}),
                None => serde_json::json!({}),
            };
            (json.to_string().into_bytes(), "application/json")
        }
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn token_matches(given: &[u8], expected: &[u8]) -> bool {
    // Constant time in the token's contents.
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

async fn traces(state: Arc<State>, req: Request<Incoming>) -> Resp {
    let counters = &state.counters;
    let refuse = |format, code, message: &str| {
        counters.requests_refused.fetch_add(1, Ordering::Relaxed);
        status(format, code, message)
    };
    let headers = req.headers();
    let format = body::format(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    );
    if let Some(expected) = &state.config.ingest_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes())
            .and_then(|v| {
                v.strip_prefix(b"Bearer ")
                    .or_else(|| v.strip_prefix(b"bearer "))
            });
        match given {
            None => {
                return refuse(
                    format,
                    StatusCode::UNAUTHORIZED,
                    "this server needs an ingest token: send the header Authorization: Bearer <token>",
                );
            }
            Some(t) if !token_matches(t.trim_ascii(), expected.as_bytes()) => {
                return refuse(
                    format,
                    StatusCode::FORBIDDEN,
                    "the ingest token is not valid",
                );
            }
            Some(_) => {}
        }
    }
    let Some(format) = format else {
        return refuse(
            None,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported Content-Type: send application/x-protobuf or application/json",
        );
    };
    let Some(encoding) = body::encoding(
        headers
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok()),
    ) else {
        return refuse(
            Some(format),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported Content-Encoding: send gzip or no encoding",
        );
    };
    let limits = &state.config.limits;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        refuse(
            Some(format),
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "the body is larger than {} bytes: send smaller batches",
                limits.max_body
            ),
        )
    };
    if declared.is_some_and(|n| n > limits.max_body as u64) {
        return too_large();
    }
    // Wait for a slot before reading the body, so memory is bounded by the slots.
    let permit = match tokio::time::timeout(limits.queue_wait, state.permits.acquire()).await {
        Ok(Ok(p)) => p,
        _ => {
            return refuse(
                Some(format),
                StatusCode::TOO_MANY_REQUESTS,
                "the server is busy: retry later",
            );
        }
    };
    let collected = tokio::time::timeout(
        limits.read_timeout,
        Limited::new(req.into_body(), limits.max_body).collect(),
    )
    .await;
    let raw = match collected {
        Ok(Ok(c)) => c.to_bytes(),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return too_large();
        }
        Ok(Err(_)) => {
            return refuse(
                Some(format),
                StatusCode::BAD_REQUEST,
                "the body could not be read",
            );
        }
        Err(_) => {
            return refuse(
                Some(format),
                StatusCode::REQUEST_TIMEOUT,
                "the body did not arrive in time",
            );
        }
    };
    let max_decompressed = limits.max_decompressed;
    let shared = state.clone();
    let result = tokio::task::spawn_blocking(move || {
        let state = shared;
        let inflated;
        let bytes: &[u8] = match encoding {
            Encoding::Identity => &raw,
            Encoding::Gzip => match body::gunzip(&raw, max_decompressed) {
                Ok(v) => {
                    inflated = v;
                    &inflated
                }
                Err(e) => return Err(Refusal::Inflate(e)),
            },
        };
        ingest::ingest(
            &state.checker,
            &*state.config.store,
            bytes,
            format,
            SystemTime::now(),
        )
        .map_err(Refusal::Ingest)
    })
    .await
    .unwrap_or(Err(Refusal::Panicked));
    drop(permit);
    match result {
        Ok(outcome) => {
            counters.requests_ok.fetch_add(1, Ordering::Relaxed);
            counters
                .spans_accepted
                .fetch_add(outcome.accepted, Ordering::Relaxed);
            counters
                .spans_rejected
                .fetch_add(outcome.rejected(), Ordering::Relaxed);
            counters
                .duplicates
                .fetch_add(outcome.duplicates, Ordering::Relaxed);
            success(format, &outcome)
        }
        Err(Refusal::Inflate(InflateError::TooLarge { limit })) => refuse(
            Some(format),
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the body inflates to more than {limit} bytes: send smaller batches"),
        ),
        Err(Refusal::Inflate(InflateError::Corrupt)) => refuse(
            Some(format),
            StatusCode::BAD_REQUEST,
            "Content-Encoding is gzip but the body is not valid gzip",
        ),
        Err(Refusal::Ingest(IngestError::Decode(e))) => {
            refuse(Some(format), StatusCode::BAD_REQUEST, &e.to_string())
        }
        Err(Refusal::Panicked) => {
            counters.requests_failed.fetch_add(1, Ordering::Relaxed);
            eprintln!("specfact-telemetry-server: a request's processing failed unexpectedly");
            status(
                Some(format),
                StatusCode::SERVICE_UNAVAILABLE,
                "internal error: retry later",
            )
        }
        Err(Refusal::Ingest(IngestError::Store(e))) => {
            counters.requests_failed.fetch_add(1, Ordering::Relaxed);
            eprintln!("specfact-telemetry-server: storing spans failed: {e}");
            let message = match e {
                StoreError::Unavailable(_) => "the store is busy: retry later",
                _ => "the spans could not be stored: retry later",
            };
            status(Some(format), StatusCode::SERVICE_UNAVAILABLE, message)
        }
    }
}

enum Refusal {
    Inflate(InflateError),
    Ingest(IngestError),
    Panicked,
}

async fn stats(state: &State) -> Resp {
    let store = state.config.store.clone();
    let stored = tokio::task::spawn_blocking(move || store.stats()).await;
    let stored = match stored {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            eprintln!("specfact-telemetry-server: reading store statistics failed: {e}");
            return status(
                None,
                StatusCode::SERVICE_UNAVAILABLE,
                "the store cannot be read: retry later",
            );
        }
        Err(_) => {
            return status(
                None,
                StatusCode::SERVICE_UNAVAILABLE,
                "the store cannot be read: retry later",
            );
        }
    };
    let c = &state.counters;
    let time = |n: Option<u64>| {
        n.map(|n| {
            specfact_telemetry::event::format_timestamp(
                SystemTime::UNIX_EPOCH + Duration::from_nanos(n),
            )
        })
    };
    let json = serde_json::json!({
        "events_stored": stored.events_stored,
        "spans_accepted": c.spans_accepted.load(Ordering::Relaxed),
        "spans_rejected": c.spans_rejected.load(Ordering::Relaxed),
        "duplicates": c.duplicates.load(Ordering::Relaxed),
        "duplicates_total": stored.duplicates,
        "requests_ok": c.requests_ok.load(Ordering::Relaxed),
        "requests_refused": c.requests_refused.load(Ordering::Relaxed),
        "requests_failed": c.requests_failed.load(Ordering::Relaxed),
        "oldest_event": time(stored.oldest_start_unix_nano),
        "newest_event": time(stored.newest_start_unix_nano),
        "store": state.config.store.kind(),
        "uptime_seconds": state.started.elapsed().as_secs(),
    });
    let mut r = Response::new(Full::new(Bytes::from(json.to_string())));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Binds `addr`.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}
