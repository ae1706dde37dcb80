//! What one uploader needs to know, derived from [`Settings`] once, plus the
//! endpoint checks (plain http with credentials, redaction) and the file names of
//! the delivery state.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use uuid::Uuid;

use crate::settings::{Header, Settings};

/// Name of the directory under the config directory that holds delivery state.
pub const STATE_DIR_NAME: &str = "telemetry-delivery";

/// Namespace for the name-based UUIDs this module derives (state keys, line ids).
pub(crate) const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_9a57_3b1e_4c2d_9f0e_5a4b_7c8d_2e10);

/// How export requests are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// `application/x-protobuf` (OTLP/HTTP binary), the default.
    #[default]
    Protobuf,
    /// `application/json` (OTLP/JSON).
    Json,
}

impl Protocol {
    /// The `Content-Type` of a request body in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Protocol::Protobuf => "application/x-protobuf",
            Protocol::Json => "application/json",
        }
    }
}

/// Whether request bodies are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// `Content-Encoding: gzip`, the default.
    #[default]
    Gzip,
    /// Uncompressed bodies.
    None,
}

/// How failed requests are retried within one uploader run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait before the first retry (doubled after each attempt, with jitter).
    pub initial_backoff: Duration,
    /// Longest wait between two attempts.
    pub max_backoff: Duration,
    /// Longest time one uploader run keeps trying; what is left waits for the next run.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(60),
        }
    }
}

/// Everything an upload needs, resolved from [`Settings`].
///
/// `Debug` never shows header values or the endpoint's user-info and query.
#[derive(Clone)]
pub struct DeliveryConfig {
    /// The OTLP/HTTP traces URL, exactly as configured (may hold credentials: see
    /// [`DeliveryConfig::endpoint_display`]).
    pub endpoint: String,
    /// Headers sent with every request.
    pub headers: Vec<Header>,
    /// `service.name`.
    pub service_name: String,
    /// `service.namespace`.
    pub service_namespace: String,
    /// `deployment.environment`.
    pub deployment_environment: String,
    /// Maximum spans per request (at least 1).
    pub batch_size: usize,
    /// Maximum wait before a partial batch is sent (thread mode).
    pub batch_timeout: Duration,
    /// Timeout of one request.
    pub export_timeout: Duration,
    /// Whether debug lines go to stderr.
    pub debug: bool,
    /// Whether credentials may go over plain http to a host that is not loopback.
    pub allow_insecure_http: bool,
    /// The local log (the spool).
    pub log_path: PathBuf,
    /// Directory of the cursor, lock and state files.
    pub state_dir: PathBuf,
    /// Request encoding.
    pub protocol: Protocol,
    /// Request compression.
    pub compression: Compression,
    /// Retry behaviour.
    pub retry: RetryPolicy,
}

impl std::fmt::Debug for DeliveryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryConfig")
            .field("endpoint", &self.endpoint_display())
            .field("headers", &self.headers)
            .field("batch_size", &self.batch_size)
            .field("batch_timeout", &self.batch_timeout)
            .field("export_timeout", &self.export_timeout)
            .field("debug", &self.debug)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("log_path", &self.log_path)
            .field("state_dir", &self.state_dir)
            .field("protocol", &self.protocol)
            .field("compression", &self.compression)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl DeliveryConfig {
    /// The delivery configuration for `settings`, or `None` when there is nothing to
    /// deliver to (no endpoint) or from (no local log path).
    pub fn from_settings(settings: &Settings) -> Option<DeliveryConfig> {
        let endpoint = settings.endpoint.value.clone()?;
        let log_path = settings.local_path.value.clone()?;
        let state_dir = state_dir_for(settings.config_dir.as_deref(), &log_path);
        Some(DeliveryConfig {
            endpoint,
            headers: settings.headers.clone(),
            service_name: settings.service_name.value.clone(),
            service_namespace: settings.service_namespace.value.clone(),
            deployment_environment: settings.deployment_environment.value.clone(),
            batch_size: settings.batch_size.value.max(1),
            batch_timeout: settings.batch_timeout.value,
            export_timeout: settings.export_timeout.value,
            debug: settings.debug.value,
            allow_insecure_http: settings.allow_insecure_http.value,
            log_path,
            state_dir,
            protocol: Protocol::default(),
            compression: Compression::default(),
            retry: RetryPolicy::default(),
        })
    }

    /// The endpoint with any user-info and query replaced by `****`, for messages.
    pub fn endpoint_display(&self) -> String {
        redact_endpoint(&self.endpoint)
    }

    /// Whether events would travel unencrypted (plain `http`) to a host that is not
    /// this machine.
    pub fn plain_http_to_remote(&self) -> bool {
        ParsedEndpoint::parse(&self.endpoint)
            .is_ok_and(|p| p.scheme == "http" && !is_loopback_host(&p.host))
    }

    /// Why this configuration must not send anything, if it must not.
    pub fn refusal(&self) -> Option<String> {
        let parsed = match ParsedEndpoint::parse(&self.endpoint) {
            Ok(p) => p,
            Err(why) => return Some(format!("endpoint {} {why}", self.endpoint_display())),
        };
        let carries_credentials = !self.headers.is_empty() || parsed.has_userinfo;
        if parsed.scheme == "http"
            && carries_credentials
            && !is_loopback_host(&parsed.host)
            && !self.allow_insecure_http
        {
            return Some(format!(
                "refusing to send credentials over plain http to {}; use https, or set \
                 `allow_insecure_http: true` in telemetry.yaml (or \
                 SPECFACT_TELEMETRY_ALLOW_INSECURE_HTTP=true) to allow it; events stay in the local log",
                parsed.host
            ));
        }
        None
    }

    /// Replaces every header value (and the endpoint's user-info and query) in `text`
    /// by its redacted form, so no message can carry a credential. Each secret is also
    /// looked for as a collector may echo it: JSON-escaped and percent-encoded.
    pub fn scrub(&self, text: &str) -> String {
        // (secret, replacement, shortest length worth replacing).
        let mut secrets: Vec<(String, String, usize)> = Vec::new();
        for h in &self.headers {
            let v = h.value.expose().trim();
            secrets.push((v.to_owned(), h.value.redacted(), 1));
            // The credential part alone (`Bearer abc` → `abc`) may appear too.
            if let Some((_, cred)) = v.split_once(' ') {
                secrets.push((cred.trim().to_owned(), "****".to_owned(), 4));
            }
        }
        secrets.push((self.endpoint.clone(), self.endpoint_display(), 1));
        secrets.extend(
            endpoint_secrets(&self.endpoint)
                .into_iter()
                .map(|s| (s, "****".to_owned(), 4)),
        );
        // Longest first, so a part never breaks up a whole.
        let mut variants: Vec<(String, &str)> = Vec::new();
        for (secret, with, min) in &secrets {
            if secret.chars().count() < *min {
                continue;
            }
            for v in [
                secret.clone(),
                json_escaped(secret),
                percent_encoded(secret, false),
                percent_encoded(secret, true),
                percent_decoded(secret),
            ] {
                if !v.is_empty() && !variants.iter().any(|(x, _)| *x == v) {
                    variants.push((v, with));
                }
            }
        }
        variants.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
        let mut out = text.to_owned();
        for (v, with) in variants {
            if out.contains(&v) {
                out = out.replace(&v, with);
            }
        }
        out
    }

    /// The key naming this (log, endpoint) pair's files in the state directory.
    pub(crate) fn key(&self) -> String {
        let log = absolute(&self.log_path);
        let mut material = log.to_string_lossy().into_owned().into_bytes();
        material.push(b'\n');
        material.extend_from_slice(self.endpoint.as_bytes());
        let id = Uuid::new_v5(&ID_NAMESPACE, &material);
        let b = id.as_bytes();
        b[..8].iter().map(|x| format!("{x:02x}")).collect()
    }

    /// Paths of this pair's state files.
    pub(crate) fn files(&self) -> StateFiles {
        let key = self.key();
        StateFiles {
            cursor: self.state_dir.join(format!("{key}.cursor.json")),
            update_lock: self.state_dir.join(format!("{key}.update.lock")),
            uploader_lock: self.state_dir.join(format!("{key}.uploader.lock")),
            uploader_log: self.state_dir.join(format!("{key}.uploader.log")),
        }
    }
}

/// The files of one (log, endpoint) pair.
#[derive(Debug, Clone)]
pub(crate) struct StateFiles {
    /// Cursor and delivery state (JSON, replaced atomically).
    pub cursor: PathBuf,
    /// Held briefly around every read-modify-write of the cursor.
    pub update_lock: PathBuf,
    /// Held by the one uploader working on this pair.
    pub uploader_lock: PathBuf,
    /// Debug output of the detached uploader (debug mode only; 0600, size-capped).
    pub uploader_log: PathBuf,
}

/// The state directory: `<config_dir>/telemetry-delivery`, or beside the log when there
/// is no config directory.
pub(crate) fn state_dir_for(config_dir: Option<&Path>, log_path: &Path) -> PathBuf {
    match config_dir {
        Some(d) => d.join(STATE_DIR_NAME),
        None => log_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join(format!(".{STATE_DIR_NAME}")),
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_owned())
    }
}

/// The parts of an endpoint URL the checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedEndpoint {
    pub scheme: String,
    pub host: String,
    pub has_userinfo: bool,
}

impl ParsedEndpoint {
    pub(crate) fn parse(url: &str) -> Result<ParsedEndpoint, &'static str> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or("is not a URL (expected http://… or https://…)")?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err("must use http or https");
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let (has_userinfo, hostport) = match authority.rsplit_once('@') {
            Some((_, hp)) => (true, hp),
            None => (false, authority),
        };
        let host = if let Some(v6) = hostport.strip_prefix('[') {
            v6.split(']').next().unwrap_or("").to_owned()
        } else {
            hostport.split(':').next().unwrap_or("").to_owned()
        };
        if host.is_empty() {
            return Err("has no host");
        }
        Ok(ParsedEndpoint {
            scheme,
            host: host.to_ascii_lowercase(),
            has_userinfo,
        })
    }
}

/// Whether `host` names this machine's loopback interface, without resolving anything.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_end_matches('.');
    if h == "localhost" || h.ends_with(".localhost") {
        return true;
    }
    h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The secret parts of an endpoint: its user-info (and password), its query string
/// and each query value.
fn endpoint_secrets(url: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Some((_, rest)) = url.split_once("://") else {
        return out;
    };
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        out.push(userinfo.to_owned());
        if let Some((_, pw)) = userinfo.split_once(':') {
            out.push(pw.to_owned());
        }
    }
    if let Some((_, query)) = tail.split_once('?') {
        let query = query.split('#').next().unwrap_or_default();
        out.push(query.to_owned());
        for pair in query.split('&') {
            if let Some((_, value)) = pair.split_once('=') {
                out.push(value.to_owned());
            }
        }
    }
    out
}

/// `s` as it appears inside a JSON string, with `/` escaped as some encoders do.
fn json_escaped(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    let inner = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_default();
    inner.replace('/', "\\/")
}

/// `s` with every byte outside the URL-unreserved set percent-encoded.
fn percent_encoded(s: &str, lower: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else if lower {
            out.push_str(&format!("%{b:02x}"));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `s` with `%XX` sequences (and `+`) decoded; `s` itself when that is not UTF-8.
fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

/// The endpoint with user-info and query replaced by `****`, for anything shown to people.
pub fn redact_endpoint(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "****".to_owned();
    };
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    let authority = match authority.rsplit_once('@') {
        Some((_, hp)) => format!("****@{hp}"),
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, _)) => format!("{path}?****"),
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A configuration with this endpoint and one Authorization header.
    fn config_with(endpoint: &str, authorization: &str) -> DeliveryConfig {
        DeliveryConfig {
            endpoint: endpoint.into(),
            headers: vec![Header {
                name: "Authorization".into(),
                value: crate::settings::Secret::new(authorization),
                source: crate::settings::Source::Config,
            }],
            service_name: "s".into(),
            service_namespace: "n".into(),
            deployment_environment: "e".into(),
            batch_size: 1,
            batch_timeout: Duration::from_secs(1),
            export_timeout: Duration::from_secs(1),
            debug: false,
            allow_insecure_http: false,
            log_path: "/l".into(),
            state_dir: "/s".into(),
            protocol: Protocol::Protobuf,
            compression: Compression::Gzip,
            retry: RetryPolicy::default(),
        }
    }

    #[test]
    fn loopback_hosts_are_recognised_without_resolving() {
        for h in [
            "localhost",
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "api.localhost",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in ["example.com", "10.0.0.1", "localhost.example.com", "::2"] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn debug_output_hides_credentials() {
        let cfg = config_with(
            "https://user:pw@h.example/v1/traces?key=k3y",
            "Bearer t0ken",
        );
        let shown = format!("{cfg:?}");
        for secret in ["pw", "k3y", "t0ken"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("Bearer ****"));
        assert_eq!(
            cfg.scrub("sent Bearer t0ken to https://user:pw@h.example/v1/traces?key=k3y"),
            "sent Bearer **** to https://****@h.example/v1/traces?****"
        );
        assert!(cfg.refusal().is_none());
    }

    #[test]
    fn echoed_secrets_are_scrubbed_in_their_escaped_and_encoded_forms() {
        let cfg = config_with(
            "http://127.0.0.1:9/v1/trace?api_key=QSECRET999&x=1",
            "Basic dXNlcjpwYXNz/ab+c=",
        );
        for echoed in [
            r#"{"got":"Basic dXNlcjpwYXNz\/ab+c="}"#,
            r#"{"got":"dXNlcjpwYXNz\/ab+c="}"#,
            "got Basic%20dXNlcjpwYXNz%2Fab%2Bc%3D",
            "got dXNlcjpwYXNz%2fab%2bc%3d",
            "Cannot POST /v1/trace?api_key=QSECRET999",
            "unknown key QSECRET999",
        ] {
            let out = cfg.scrub(echoed);
            for secret in ["dXNlcjpwYXNz", "QSECRET999"] {
                assert!(!out.contains(secret), "{echoed} -> {out}");
            }
        }
        assert_eq!(
            cfg.scrub("Cannot POST /v1/trace?api_key=QSECRET999"),
            "Cannot POST /v1/trace?api_key=****"
        );
    }

    #[test]
    fn endpoints_are_parsed_and_redacted() {
        let p = ParsedEndpoint::parse("HTTP://u:p@[::1]:4318/v1/traces").unwrap();
        assert_eq!(
            (p.scheme.as_str(), p.host.as_str(), p.has_userinfo),
            ("http", "::1", true)
        );
        assert!(ParsedEndpoint::parse("ftp://x").is_err());
        assert!(ParsedEndpoint::parse("localhost:4318").is_err());
        assert_eq!(
            redact_endpoint("https://user:pw@h.example:443/v1/traces?key=abc"),
            "https://****@h.example:443/v1/traces?****"
        );
        assert_eq!(
            redact_endpoint("http://127.0.0.1:4318/v1/traces"),
            "http://127.0.0.1:4318/v1/traces"
        );
    }
}
