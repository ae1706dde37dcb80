//! The test ClickHouse itself (`support/clickhouse.rs`): it starts from the configuration
//! kept in `tests/clickhouse/`, listens only on its HTTP port, and leaves no process and no
//! file behind; where it is required and missing, the test fails instead of skipping.

#[path = "support/clickhouse.rs"]
mod clickhouse;

use std::path::Path;

use clickhouse::ClickHouse;

#[test]
fn starts_answers_and_leaves_nothing_behind() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    assert!(ch.ping());
    assert_eq!(ch.query("SELECT 1 + 1"), "2");
    // Only the HTTP interface is configured: no native TCP, interserver or other port.
    assert_eq!(listening_ports(ch.pid()), vec![ch.port()]);
    let data = ch.dir().join("data");
    assert!(data.is_dir(), "data goes under the temporary directory");
    let pid = ch.pid();
    let dir = ch.dir().to_owned();
    let status = ch.stop();
    assert!(!status.success(), "stopped by a signal: {status}");
    assert!(!dir.exists(), "{} was not removed", dir.display());
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "clickhouse-server {pid} still runs"
    );
}

/// The TCP ports process `pid` listens on (Linux: its socket inodes in /proc/net/tcp*).
fn listening_ports(pid: u32) -> Vec<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter_map(|l| {
                    let l = l.to_string_lossy().into_owned();
                    Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    let mut ports: Vec<u16> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .flat_map(|table| {
            std::fs::read_to_string(table)
                .unwrap_or_default()
                .lines()
                .skip(1)
                .filter_map(|line| {
                    let f: Vec<&str> = line.split_whitespace().collect();
                    let listening = f.get(3) == Some(&"0A");
                    let ours = f.get(9).is_some_and(|i| inodes.iter().any(|x| x == i));
                    let port = f.get(1)?.rsplit(':').next()?;
                    (listening && ours).then(|| u16::from_str_radix(port, 16).ok())?
                })
                .collect::<Vec<_>>()
        })
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

#[test]
fn a_dropped_handle_stops_the_server_too() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let (pid, dir, port) = (ch.pid(), ch.dir().to_owned(), ch.port());
    drop(ch);
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    assert!(!dir.exists());
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn two_servers_run_side_by_side() {
    let Some(a) = ClickHouse::start() else { return };
    let Some(b) = ClickHouse::start() else { return };
    assert_ne!(a.port(), b.port());
    a.query("CREATE DATABASE only_in_a");
    assert_eq!(
        a.query_u64("SELECT count() FROM system.databases WHERE name = 'only_in_a'"),
        1
    );
    assert_eq!(
        b.query_u64("SELECT count() FROM system.databases WHERE name = 'only_in_a'"),
        0
    );
}

#[test]
#[should_panic(expected = "clickhouse-server not found")]
fn a_missing_server_fails_where_it_is_required() {
    ClickHouse::start_with(None, true);
}

#[test]
fn a_missing_server_skips_where_it_is_not_required() {
    assert!(ClickHouse::start_with(None, false).is_none());
}
