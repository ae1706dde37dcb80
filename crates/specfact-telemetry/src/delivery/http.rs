//! One OTLP/HTTP request and what its answer means for delivery.
//!
//! A small blocking client (ureq, rustls with the operating system's trust store,
//! `HTTPS_PROXY`/`NO_PROXY` honoured). Redirects are not followed: a redirect of a
//! request that carries credentials could hand them to another host. Messages are
//! written here, never copied from the transport, so they cannot carry a credential
//! or the endpoint's user-info.

use std::time::{Duration, SystemTime};

use ureq::Agent;
use ureq::tls::{RootCerts, TlsConfig};

use super::config::{Compression, DeliveryConfig};
use crate::otlp::{self, PartialSuccess};

/// Largest answer body read (partial-success messages are short).
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// Longest collector message kept in the delivery state.
const MAX_MESSAGE_CHARS: usize = 300;

/// What an export request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// 2xx: the spans are acknowledged (some may be reported rejected).
    Accepted(Option<PartialSuccess>),
    /// Worth retrying: connection failures, timeouts, 429, 502, 503, 504.
    Retry {
        status: Option<u16>,
        reason: String,
        retry_after: Option<Duration>,
    },
    /// 413: the batch must be split.
    TooLarge,
    /// Another 4xx about this batch: it will not be accepted as it is.
    Rejected { status: u16, reason: String },
    /// Nothing can be delivered now and retrying soon will not help: the endpoint or
    /// credentials are wrong (401, 403, 404, 405, 407, 3xx, a bad URL), or the collector
    /// has a server error OTLP says not to retry (500, 501, …). The batch stays pending
    /// for the next run.
    Halt { status: Option<u16>, reason: String },
}

/// A client for one endpoint.
pub(crate) struct Client {
    agent: Agent,
    url: String,
    headers: Vec<(String, String)>,
    content_type: &'static str,
    gzip: bool,
    timeout: Duration,
    scrub: DeliveryConfig,
}

impl Client {
    pub(crate) fn new(config: &DeliveryConfig) -> Client {
        let agent: Agent = Agent::config_builder()
            .timeout_global(Some(config.export_timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("specfact-telemetry/", env!("CARGO_PKG_VERSION")))
            .tls_config(
                TlsConfig::builder()
                    .root_certs(RootCerts::PlatformVerifier)
                    .unversioned_rustls_crypto_provider(std::sync::Arc::new(
                        rustls::crypto::ring::default_provider(),
                    ))
                    .build(),
            )
            .build()
            .into();
        Client {
            agent,
            url: config.endpoint.clone(),
            headers: config
                .headers
                .iter()
                .map(|h| (h.name.clone(), h.value.expose().to_owned()))
                .collect(),
            content_type: config.protocol.content_type(),
            gzip: config.compression == Compression::Gzip,
            timeout: config.export_timeout,
            scrub: config.clone(),
        }
    }

    /// Whether bodies must be gzipped before [`Client::send`].
    pub(crate) fn gzip(&self) -> bool {
        self.gzip
    }

    /// Sends one encoded (and, if [`Client::gzip`], compressed) body.
    pub(crate) fn send(&self, body: &[u8]) -> Outcome {
        let mut req = self
            .agent
            .post(&self.url)
            .header("Content-Type", self.content_type);
        if self.gzip {
            req = req.header("Content-Encoding", "gzip");
        }
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let response = match req.send(body) {
            Ok(r) => r,
            Err(e) => return self.transport_error(&e),
        };
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let retry_after =
            header("retry-after").and_then(|v| parse_retry_after(&v, SystemTime::now()));
        let content_type = header("content-type");
        let body = response
            .into_body()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_vec()
            .unwrap_or_default();
        classify(status, &body, content_type.as_deref(), retry_after, &|s| {
            self.scrub.scrub(s)
        })
    }

    fn transport_error(&self, e: &ureq::Error) -> Outcome {
        use ureq::Error as E;
        let secs = self.timeout.as_secs_f64();
        let reason = match e {
            E::Timeout(_) => format!("no answer within the export timeout ({secs}s)"),
            E::HostNotFound => "the collector's host name could not be resolved".to_owned(),
            E::ConnectionFailed => "cannot connect to the collector".to_owned(),
            E::Io(io) => format!("connection to the collector failed ({:?})", io.kind()),
            E::Tls(what) => format!("TLS error: {what}"),
            E::BadUri(_) | E::InvalidProxyUrl => {
                return Outcome::Halt {
                    status: None,
                    reason: "the endpoint or proxy URL is not valid".to_owned(),
                };
            }
            E::Protocol(_) => "the collector's answer is not valid HTTP".to_owned(),
            _ => "the request to the collector failed".to_owned(),
        };
        Outcome::Retry {
            status: None,
            reason,
            retry_after: None,
        }
    }
}

/// What an HTTP answer means.
pub(crate) fn classify(
    status: u16,
    body: &[u8],
    content_type: Option<&str>,
    retry_after: Option<Duration>,
    scrub: &dyn Fn(&str) -> String,
) -> Outcome {
    match status {
        200..=299 => Outcome::Accepted(otlp::decode_response(body, content_type).map(|mut p| {
            p.error_message = short(&scrub(&p.error_message));
            p
        })),
        429 | 502 | 503 | 504 => Outcome::Retry {
            status: Some(status),
            reason: format!("the collector answered {status}{}", detail(body, scrub)),
            retry_after,
        },
        413 => Outcome::TooLarge,
        300..=399 | 401 | 403 | 404 | 405 | 407 => Outcome::Halt {
            status: Some(status),
            reason: format!(
                "the collector answered {status}{}{}",
                match status {
                    401 | 403 => " (check the headers / credentials)",
                    404 | 405 => " (check the endpoint URL: it should end in /v1/traces)",
                    407 => " (the proxy wants credentials)",
                    _ => " (redirects are not followed; configure the final URL)",
                },
                detail(body, scrub)
            ),
        },
        500..=599 => Outcome::Halt {
            status: Some(status),
            reason: format!("the collector answered {status}{}", detail(body, scrub)),
        },
        _ => Outcome::Rejected {
            status,
            reason: format!("the collector answered {status}{}", detail(body, scrub)),
        },
    }
}

fn detail(body: &[u8], scrub: &dyn Fn(&str) -> String) -> String {
    let text = String::from_utf8_lossy(body);
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    let text = text.trim();
    if text.is_empty() || body.iter().take(64).any(|b| *b == 0) {
        String::new()
    } else {
        format!(": {}", short(&scrub(text)))
    }
}

fn short(s: &str) -> String {
    if s.chars().count() <= MAX_MESSAGE_CHARS {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(MAX_MESSAGE_CHARS).collect();
        t.push('…');
        t
    }
}

/// Parses `Retry-After`: delta-seconds or an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(v)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn parse_http_date(v: &str) -> Option<SystemTime> {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    let rest = v.split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u64 = parts.next()?.parse().ok()?;
    let time = parts.next()?;
    if parts.next()? != "GMT" {
        return None;
    }
    let rfc3339 = format!("{year:04}-{month:02}-{day:02}T{time}Z");
    humantime::parse_rfc3339(&rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(s: &str) -> String {
        s.to_owned()
    }

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        let now = humantime::parse_rfc3339("1994-11-06T08:49:30Z").unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(
            classify(200, b"", None, None, &plain),
            Outcome::Accepted(None)
        );
        assert!(matches!(
            classify(503, b"busy", None, Some(Duration::from_secs(2)), &plain),
            Outcome::Retry { status: Some(503), retry_after: Some(d), .. } if d == Duration::from_secs(2)
        ));
        for s in [429, 502, 504] {
            assert!(
                matches!(classify(s, b"", None, None, &plain), Outcome::Retry { .. }),
                "{s}"
            );
        }
        assert_eq!(classify(413, b"", None, None, &plain), Outcome::TooLarge);
        assert!(
            matches!(classify(400, b"bad span", None, None, &plain), Outcome::Rejected { status: 400, reason } if reason.contains("bad span"))
        );
        assert!(matches!(
            classify(422, b"", None, None, &plain),
            Outcome::Rejected { status: 422, .. }
        ));
        for s in [301, 401, 403, 404, 500, 501] {
            assert!(
                matches!(classify(s, b"", None, None, &plain), Outcome::Halt { .. }),
                "{s}"
            );
        }
    }

    #[test]
    fn collector_text_is_scrubbed_and_shortened() {
        let scrub = |s: &str| s.replace("tok123", "****");
        let long = format!("denied for tok123 {}", "x".repeat(1000));
        match classify(400, long.as_bytes(), None, None, &scrub) {
            Outcome::Rejected { reason, .. } => {
                assert!(!reason.contains("tok123"));
                assert!(reason.chars().count() < 400);
            }
            other => panic!("{other:?}"),
        }
    }
}
