//! ClickHouse's HTTP interface: one POST per statement, through a pooled blocking client.
//!
//! The store's trait is synchronous (the HTTP side calls it on blocking threads), so this is
//! `ureq`, which the core already uses for delivery: keep-alive connections shared by all
//! threads, rustls for `https://`, no async runtime of its own and no new dependency.
//!
//! Credentials from the store URL go in ClickHouse's `X-ClickHouse-User` and `X-ClickHouse-Key`
//! headers (18.16 and current releases read them), never in a URL, so no error or log line can
//! show them. Statements go in the body, or, for an insert, in the `query` parameter with the
//! rows as the body. The database goes in the `database` parameter.

use std::io::Read;
use std::time::Duration;

use super::super::{ClickHouseUrl, StoreError};

/// Longest answer read into memory (statements other than [`Client::stream`] answer a few
/// numbers or ids).
const MAX_ANSWER: u64 = 16 << 20;
/// ClickHouse's `max_read_buffer_size` for the store's queries (64 KiB).
const READ_BUFFER: &str = "65536";
/// Longest error text kept from ClickHouse's answer.
const MAX_ERROR_TEXT: usize = 300;

/// A failed statement, as ClickHouse or the connection reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Failure {
    /// HTTP status, `None` when there was no answer.
    pub status: Option<u16>,
    /// ClickHouse's error code (`Code: 81`), when it sent one.
    pub code: Option<u32>,
    /// What happened, shortened, without credentials.
    pub message: String,
}

impl Failure {
    fn transport(base: &str, e: &ureq::Error) -> Failure {
        use ureq::Error as E;
        let what = match e {
            E::Timeout(t) => format!("no answer in time ({t})"),
            E::HostNotFound => "the host name does not resolve".to_owned(),
            E::ConnectionFailed => "the connection was refused".to_owned(),
            E::Io(io) => format!("the connection failed ({})", io.kind()),
            E::Tls(what) => format!("TLS failed: {what}"),
            E::Protocol(_) => "the answer is not HTTP".to_owned(),
            _ => "the request failed".to_owned(),
        };
        Failure {
            status: None,
            code: None,
            message: format!("cannot reach ClickHouse at {base}: {what}"),
        }
    }

    /// Whether retrying later may succeed (the server answers 503 and the client re-sends).
    pub fn is_transient(&self) -> bool {
        // ClickHouse error codes: 159 TIMEOUT_EXCEEDED, 164 READONLY (replica lost ZooKeeper),
        // 202 TOO_MANY_SIMULTANEOUS_QUERIES, 203 NO_FREE_CONNECTION, 209 SOCKET_TIMEOUT,
        // 210 NETWORK_ERROR, 241 MEMORY_LIMIT_EXCEEDED, 242 TABLE_IS_READ_ONLY,
        // 252 TOO_MANY_PARTS, 319 UNKNOWN_STATUS_OF_INSERT, 425 SYSTEM_ERROR, 999 KEEPER.
        const TRANSIENT: &[u32] = &[159, 164, 202, 203, 209, 210, 241, 242, 252, 319, 425, 999];
        match (self.status, self.code) {
            (None, _) => true,
            (_, Some(code)) if TRANSIENT.contains(&code) => true,
            (Some(s), _) => matches!(s, 429 | 502 | 503 | 504),
        }
    }

    /// Whether ClickHouse refused the user or password.
    pub fn is_auth(&self) -> bool {
        // 192 UNKNOWN_USER, 193 WRONG_PASSWORD, 194 REQUIRED_PASSWORD, 516 AUTHENTICATION_FAILED
        matches!(self.code, Some(192..=194 | 516)) || matches!(self.status, Some(401 | 403))
    }

    /// The store error this failure means.
    pub fn into_store_error(self) -> StoreError {
        if self.is_transient() {
            StoreError::Unavailable(self.message)
        } else {
            StoreError::Backend(self.message)
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// How long a statement may take.
#[derive(Debug, Clone, Copy)]
pub(super) enum Budget {
    /// Inserts, lookups, counts: answers within a minute or fail.
    Short,
    /// Reading every span back: no total limit, but data must keep coming.
    Stream,
}

/// A client for one ClickHouse database.
#[derive(Debug)]
pub(super) struct Client {
    agent: ureq::Agent,
    base: String,
    database: String,
    user: Option<String>,
    password: Option<String>,
}

impl Client {
    /// A client for the database of `url`; connects lazily.
    pub fn new(url: &ClickHouseUrl) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(10)))
            .max_idle_connections_per_host(64)
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                    .build(),
            )
            .user_agent(concat!(
                "specfact-telemetry-server/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .into();
        Client {
            agent,
            base: url.base(),
            database: url.database.clone(),
            user: url.user.clone(),
            password: url.password.clone(),
        }
    }

    /// Runs a statement that answers nothing or a little text (at most 16 MiB).
    pub fn text(&self, sql: &str) -> Result<String, Failure> {
        self.text_in(sql, &[], true)
    }

    /// Like [`Client::text`], with ClickHouse settings (`name`, `value`) for this statement only.
    pub fn text_with(&self, sql: &str, settings: &[(&str, &str)]) -> Result<String, Failure> {
        self.text_in(sql, settings, true)
    }

    /// Like [`Client::text`], outside the database (for `CREATE DATABASE`).
    pub fn text_without_database(&self, sql: &str) -> Result<String, Failure> {
        self.text_in(sql, &[], false)
    }

    fn text_in(
        &self,
        sql: &str,
        settings: &[(&str, &str)],
        in_database: bool,
    ) -> Result<String, Failure> {
        let body = self.post(&Request {
            in_database,
            settings,
            ..Request::statement(sql)
        })?;
        let mut text = String::new();
        body.into_with_config()
            .limit(MAX_ANSWER)
            .reader()
            .read_to_string(&mut text)
            .map_err(|e| self.read_failure(&e))?;
        Ok(text)
    }

    /// Runs a query that reads the external table `table` (name, structure), whose
    /// `RowBinary` rows go as the request body; returns the answer (at most 16 MiB) as bytes.
    ///
    /// External data is ClickHouse's way to give a query a set of values without writing them
    /// into its text: a `multipart/form-data` body, the query in the URL.
    pub fn bytes_with_table(
        &self,
        sql: &str,
        table: (&str, &str),
        rows: &[u8],
    ) -> Result<Vec<u8>, Failure> {
        let (name, structure) = table;
        let (content_type, body) = multipart(name, rows);
        let (format_key, structure_key) = (format!("{name}_format"), format!("{name}_structure"));
        let settings = [
            (format_key.as_str(), "RowBinary"),
            (structure_key.as_str(), structure),
        ];
        let request = Request {
            body: &body,
            query: Some(sql),
            content_type: Some(&content_type),
            settings: &settings,
            in_database: true,
            budget: Budget::Short,
        };
        let answer = self.post(&request)?;
        let mut out = Vec::new();
        answer
            .into_with_config()
            .limit(MAX_ANSWER)
            .reader()
            .read_to_end(&mut out)
            .map_err(|e| self.read_failure(&e))?;
        Ok(out)
    }

    /// Runs `INSERT … FORMAT …` with `rows` as the body; returns once ClickHouse has written them.
    pub fn insert(&self, statement: &str, rows: &[u8]) -> Result<(), Failure> {
        let body = self.post(&Request {
            body: rows,
            query: Some(statement),
            ..Request::statement("")
        })?;
        // Drain the (empty) answer so the connection goes back to the pool.
        let _ = body
            .into_with_config()
            .limit(MAX_ANSWER)
            .reader()
            .read_to_end(&mut Vec::new());
        Ok(())
    }

    /// Runs a query, with ClickHouse settings (`name`, `value`) for it only, and returns its
    /// answer as a stream. ClickHouse computes the whole answer before sending it
    /// (`wait_end_of_query`), so an error is an error status, never a half-written answer that
    /// reads as rows.
    pub fn stream(
        &self,
        sql: &str,
        settings: &[(&str, &str)],
    ) -> Result<impl Read + use<>, Failure> {
        let body = self.post(&Request {
            budget: Budget::Stream,
            settings,
            ..Request::statement(sql)
        })?;
        Ok(body.into_reader())
    }

    fn post(&self, r: &Request<'_>) -> Result<ureq::Body, Failure> {
        let mut req = self.agent.post(format!("{}/", self.base));
        if r.in_database {
            req = req.query("database", &self.database);
        }
        if let Some(q) = r.query {
            req = req.query("query", q);
        }
        for (k, v) in r.settings {
            req = req.query(k, v);
        }
        if matches!(r.budget, Budget::Stream) {
            req = req.query("wait_end_of_query", "1");
        }
        // `FINAL` reads every part of the table at once, each column through a read buffer
        // of this size (1 MiB by default): spans spread over hundreds of months would
        // otherwise need gigabytes.
        req = req.query("max_read_buffer_size", READ_BUFFER);
        if let Some(t) = r.content_type {
            req = req.header("Content-Type", t);
        }
        if let Some(user) = &self.user {
            req = req.header("X-ClickHouse-User", user);
        }
        if let Some(password) = &self.password {
            req = req.header("X-ClickHouse-Key", password);
        }
        let req = match r.budget {
            Budget::Short => req
                .config()
                .timeout_global(Some(Duration::from_secs(60)))
                .build(),
            Budget::Stream => req
                .config()
                .timeout_recv_response(Some(Duration::from_secs(600)))
                .timeout_per_read(Some(Duration::from_secs(60)))
                .build(),
        };
        let response = req
            .send(r.body)
            .map_err(|e| Failure::transport(&self.base, &e))?;
        let status = response.status().as_u16();
        let header_code = response
            .headers()
            .get("x-clickhouse-exception-code")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body = response.into_body();
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let mut text = String::new();
        let _ = body
            .into_with_config()
            .limit(64 * 1024)
            .lossy_utf8(true)
            .reader()
            .read_to_string(&mut text);
        Err(self.status_failure(status, header_code, &text))
    }

    fn status_failure(&self, status: u16, header_code: Option<u32>, text: &str) -> Failure {
        let (code, detail) = parse_exception(text);
        let code = header_code.or(code);
        let mut message = format!("ClickHouse at {} answered {status}", self.base);
        if !detail.is_empty() {
            message.push_str(": ");
            message.push_str(&detail);
        }
        let failure = Failure {
            status: Some(status),
            code,
            message,
        };
        if failure.is_auth() {
            let message = format!(
                "{} (check the user and password in the --store URL, clickhouse:http://USER:PASSWORD@HOST:PORT/DATABASE)",
                failure.message
            );
            return Failure { message, ..failure };
        }
        failure
    }

    fn read_failure(&self, e: &std::io::Error) -> Failure {
        Failure {
            status: None,
            code: None,
            message: format!(
                "reading ClickHouse's answer from {} failed ({})",
                self.base,
                e.kind()
            ),
        }
    }
}

/// One POST to ClickHouse.
struct Request<'a> {
    /// The body: a statement, or rows when `query` holds the statement.
    body: &'a [u8],
    /// The statement, when the body holds data.
    query: Option<&'a str>,
    content_type: Option<&'a str>,
    /// More URL parameters (settings, external table formats).
    settings: &'a [(&'a str, &'a str)],
    /// Whether the statement runs in the store's database.
    in_database: bool,
    budget: Budget,
}

impl<'a> Request<'a> {
    /// `sql` as the body, in the database, short budget.
    fn statement(sql: &'a str) -> Request<'a> {
        Request {
            body: sql.as_bytes(),
            query: None,
            content_type: None,
            settings: &[],
            in_database: true,
            budget: Budget::Short,
        }
    }
}

/// A `multipart/form-data` body holding `data` as the file field `name`, and its content type.
/// The boundary is chosen so that it does not occur in `data` (which holds ids clients chose).
fn multipart(name: &str, data: &[u8]) -> (String, Vec<u8>) {
    let mut boundary = String::from("specfact-lookup-0");
    while memchr::memmem::find(data, boundary.as_bytes()).is_some() {
        boundary = format!("specfact-lookup-{}", uuid::Uuid::new_v4().simple());
    }
    let mut body = Vec::with_capacity(data.len() + 256);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// ClickHouse's error code and message from an error answer, shortened, on one line.
///
/// 18.16 writes `Code: 81, e.displayText() = DB::Exception: Database x doesn't exist, e.what()
/// = DB::Exception`; current releases `Code: 81. DB::Exception: Database x does not exist.
/// (UNKNOWN_DATABASE) (version 24.8.4.13 (official build))`.
pub(super) fn parse_exception(text: &str) -> (Option<u32>, String) {
    let text = text.trim();
    let code = text.strip_prefix("Code: ").and_then(|rest| {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        rest[..digits].parse().ok()
    });
    let mut detail = text;
    if let Some(at) = detail.find("DB::Exception: ") {
        detail = &detail[at + "DB::Exception: ".len()..];
    }
    for end in [", e.what() = ", " (version ", "\n"] {
        if let Some(at) = detail.find(end) {
            detail = &detail[..at];
        }
    }
    let mut detail: String = detail
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_ERROR_TEXT)
        .collect();
    if let Some(code) = code {
        detail = format!("code {code}: {detail}");
    }
    (code, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exceptions_of_old_and_new_releases_are_parsed() {
        let (code, detail) = parse_exception(
            "Code: 81, e.displayText() = DB::Exception: Database nope doesn't exist, e.what() = DB::Exception\n",
        );
        assert_eq!(code, Some(81));
        assert_eq!(detail, "code 81: Database nope doesn't exist");
        let (code, detail) = parse_exception(
            "Code: 252. DB::Exception: Too many parts (300). Merges are processing significantly slower than inserts. (TOO_MANY_PARTS) (version 24.8.4.13 (official build))\n",
        );
        assert_eq!(code, Some(252));
        assert_eq!(
            detail,
            "code 252: Too many parts (300). Merges are processing significantly slower than inserts. (TOO_MANY_PARTS)"
        );
        let (code, detail) = parse_exception("<html>bad gateway</html>");
        assert_eq!((code, detail.as_str()), (None, "<html>bad gateway</html>"));
        let (_, long) = parse_exception(&"x".repeat(10_000));
        assert_eq!(long.len(), MAX_ERROR_TEXT);
    }

    #[test]
    fn the_multipart_boundary_never_occurs_in_the_data() {
        let (content_type, body) = multipart("lookup", b"\x00\x01");
        assert_eq!(
            content_type,
            "multipart/form-data; boundary=specfact-lookup-0"
        );
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with("--specfact-lookup-0\r\nContent-Disposition: form-data; name=\"lookup\"; filename=\"lookup\"\r\nContent-Type: application/octet-stream\r\n\r\n\u{0}\u{1}\r\n--specfact-lookup-0--\r\n"), "{text}");
        // Ids a client chose to spell the boundary do not end the part early.
        let hostile = b"xx--specfact-lookup-0\r\nyy".to_vec();
        let (content_type, body) = multipart("lookup", &hostile);
        let boundary = content_type.rsplit('=').next().unwrap();
        assert_ne!(boundary, "specfact-lookup-0");
        assert!(memchr::memmem::find(&hostile, boundary.as_bytes()).is_none());
        assert_eq!(
            memchr::memmem::find_iter(&body, boundary.as_bytes()).count(),
            2
        );
    }

    #[test]
    fn overload_and_lost_connections_are_transient_the_rest_is_not() {
        let f = |status, code| Failure {
            status,
            code,
            message: String::new(),
        };
        assert!(f(None, None).is_transient());
        assert!(f(Some(500), Some(252)).is_transient());
        assert!(f(Some(503), None).is_transient());
        assert!(!f(Some(400), Some(62)).is_transient());
        assert!(!f(Some(404), Some(81)).is_transient());
        assert!(f(Some(500), Some(193)).is_auth());
        assert!(f(Some(401), None).is_auth());
        assert!(!f(Some(500), Some(241)).is_auth());
    }
}
