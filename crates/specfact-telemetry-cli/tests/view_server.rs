//! `view` end to end over loopback HTTP: the page, the JSON it polls, new events picked
//! up without a restart, and nothing served to a foreign Host or at other paths.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::Home;

/// The server, stopped when dropped (also when a test fails).
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(home: &Home) -> Server {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("specfact-telemetry"))
        .args(["view", "--no-open", "--stop-after", "120"])
        .env_clear()
        .env("HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    // Closing our end of its output right away is fine: the server never stops for that.
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim().strip_prefix("Dashboard: ").unwrap().to_owned();
    let port = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|r| r.strip_suffix('/'))
        .unwrap()
        .parse()
        .unwrap();
    Server { child, port }
}

/// (status, headers, body) of one request.
fn request(port: u16, method: &str, path: &str, host: &str) -> (u16, String, String) {
    // A server that answers and closes while request bytes are still unread makes the
    // kernel reset the connection, which can reach the reader right after the answer:
    // keep what arrived (`read_to_end` keeps it on error).
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut bytes = Vec::new();
    match s.read_to_end(&mut bytes) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !bytes.is_empty() => {}
        Err(e) => panic!("{method} {path}: {e}"),
    }
    let raw = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, head.to_owned(), body)
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

fn get(port: u16, path: &str) -> (u16, String, String) {
    request(port, "GET", path, &format!("127.0.0.1:{port}"))
}

fn line(command: &str, violations: u32) -> String {
    format!(
        r#"{{"violations_detected":{violations},"session_id":"s-{command}","success":true,"duration_ms":10,"command":"{command}","timestamp":"2026-01-05T10:00:00.000Z"}}"#
    ) + "\n"
}

#[test]
fn serves_the_page_and_the_report_and_follows_the_log() {
    let home = Home::new();
    let log = home.write("telemetry.log", line("repro.run", 3));
    let server = start(&home);
    let port = server.port;

    let (status, head, page) = get(port, "/");
    assert_eq!(status, 200);
    assert!(head.contains("text/html"));
    assert!(
        head.contains("Content-Security-Policy: default-src 'none'"),
        "{head}"
    );
    assert!(page.contains("<script>"), "the dashboard polls");
    assert!(page.contains(r#"data-metric="regressions" data-value="3""#));

    let (status, head, body) = get(port, "/api/report?t=1");
    assert_eq!(status, 200);
    assert!(head.contains("application/json"));
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(j["report"]["events"], 1);
    assert_eq!(j["report"]["recent"][0]["command"], "repro.run");
    assert!(
        j["html"]["headline"]
            .as_str()
            .unwrap()
            .contains("data-metric")
    );

    // New events show up on the next poll, without a restart.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(line("plan.compare", 2).as_bytes()).unwrap();
    let (_, _, body) = get(port, "/api/report");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(j["report"]["events"], 2);
    assert_eq!(j["report"]["regressions"]["plan_drift"]["count"], 2);
    assert_eq!(j["report"]["recent"][0]["command"], "plan.compare");
}

#[test]
fn serves_nothing_else() {
    let home = Home::new();
    home.write("telemetry.log", line("repro.run", 1));
    home.write("telemetry.yaml", "enabled: true\n");
    let server = start(&home);
    let port = server.port;
    for path in [
        "/telemetry.log",
        "/../telemetry.yaml",
        "/api",
        "/favicon.ico",
    ] {
        assert_eq!(get(port, path).0, 404, "{path}");
    }
    // A page elsewhere that rebinds its own name to 127.0.0.1 is refused.
    let (status, _, body) = request(port, "GET", "/api/report", "evil.example:80");
    assert_eq!(status, 403);
    assert!(!body.contains("repro.run"));
    assert_eq!(
        request(port, "GET", "/", &format!("localhost:{port}")).0,
        200
    );
    assert_eq!(
        request(port, "POST", "/api/report", &format!("127.0.0.1:{port}")).0,
        405
    );
    let (status, _, body) = request(port, "HEAD", "/", &format!("127.0.0.1:{port}"));
    assert_eq!((status, body.as_str()), (200, ""));
}

#[test]
fn listens_on_loopback_only() {
    let home = Home::new();
    let server = start(&home);
    // The port answers on 127.0.0.1 …
    assert!(TcpStream::connect(("127.0.0.1", server.port)).is_ok());
    // … and on no other address of this machine.
    let others: Vec<std::net::IpAddr> = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").map(|_| s))
        .and_then(|s| s.local_addr())
        .map(|a| vec![a.ip()])
        .unwrap_or_default();
    for ip in others
        .into_iter()
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
    {
        let refused = TcpStream::connect_timeout(&(ip, server.port).into(), Duration::from_secs(2));
        assert!(refused.is_err(), "reachable on {ip}");
    }
}

#[test]
fn before_anything_is_recorded_the_page_says_how_to_start() {
    let home = Home::new();
    let server = start(&home);
    let port = server.port;
    let (status, _, page) = get(port, "/");
    assert_eq!(status, 200);
    assert!(page.contains(r#"id="nothing-recorded""#), "{page}");
    assert!(page.contains("<code>specfact-telemetry enable</code>"));
    assert!(!page.contains("data-metric"), "zeros on an empty dashboard");

    // The first event replaces the advice with figures on the next poll.
    home.write("telemetry.log", line("repro.run", 3));
    let (_, _, body) = get(port, "/api/report");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    let headline = j["html"]["headline"].as_str().unwrap();
    assert!(!headline.contains("nothing-recorded"), "{headline}");
    assert!(headline.contains(r#"data-metric="regressions" data-value="3""#));
}

#[test]
fn a_log_overwritten_in_place_is_counted_afresh_as_report_counts_it() {
    let home = Home::new();
    let log = home.write("telemetry.log", line("plan.compare", 1).repeat(3));
    let server = start(&home);
    let events = |body: &str| -> serde_json::Value {
        serde_json::from_str::<serde_json::Value>(body).unwrap()["report"].clone()
    };
    let (_, _, body) = get(server.port, "/api/report");
    assert_eq!(events(&body)["events"], 3);

    // `cp` rewrites the file in place: same inode, other content, longer than before.
    let other = home.path().join("other.log");
    std::fs::write(
        &other,
        [line("repro.run", 2), line("import.from_code", 0)]
            .concat()
            .repeat(2),
    )
    .unwrap();
    let status = Command::new("cp").arg(&other).arg(&log).status().unwrap();
    assert!(status.success());

    let mut report = home.cmd();
    report.args(["report", "--format", "json"]);
    let out = report.output().unwrap();
    assert!(out.status.success());
    let expected: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(expected["events"], 4);

    let (_, _, body) = get(server.port, "/api/report");
    let live = events(&body);
    assert_eq!(live["events"], expected["events"]);
    assert_eq!(live["malformed_lines"], 0);
    assert_eq!(live["regressions"], expected["regressions"]);
    let commands: Vec<&str> = live["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap())
        .collect();
    assert!(!commands.contains(&"plan.compare"), "{commands:?}");
}
