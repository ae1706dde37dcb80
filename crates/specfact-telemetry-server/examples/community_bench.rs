//! Benchmark of the community figures over a large store:
//! `cargo run --release -p specfact-telemetry-server --example community_bench -- N STORE [REQUESTS]`
//! (`STORE` as for `--store`, e.g. `sqlite:/tmp/10m.sqlite3`).
//!
//! Fills the store with N synthetic events (if it holds fewer), then prints a table: how long
//! one background refresh takes (a full read of the store), and how long `GET
//! /api/community.json` and `GET /` take over loopback HTTP while served from the snapshot
//! (whole requests on new connections; median, 99th percentile and worst of REQUESTS).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use specfact_telemetry_sample::{SampleOptions, events};
use specfact_telemetry_server::community::{self, Cutoff, Settings};
use specfact_telemetry_server::server::{self, Config, Limits};
use specfact_telemetry_server::store::{self, Store, StoreLocation, StoredSpan, unix_nanos};

fn fill(store: &dyn Store, n: u64) -> anyhow::Result<()> {
    let have = store.stats()?.events_stored;
    if have >= n {
        return Ok(());
    }
    eprintln!("filling the store with {n} events (it holds {have}) …");
    let started = Instant::now();
    let opts = SampleOptions {
        events: n,
        seed: 7,
        span: Duration::from_secs(52 * 7 * 86_400),
        ..SampleOptions::default()
    };
    let mut batch = Vec::with_capacity(20_000);
    for (i, e) in events(&opts).enumerate() {
        let i = i as u64 + 1;
        let start = unix_nanos(e.timestamp.unwrap_or(opts.start));
        let mut trace_id = [0u8; 16];
        trace_id[..8].copy_from_slice(&i.to_be_bytes());
        trace_id[15] = 1;
        let mut span_id = [0u8; 8];
        span_id.copy_from_slice(&(i | 1 << 63).to_be_bytes());
        batch.push(StoredSpan {
            trace_id,
            span_id,
            command: e.command.clone(),
            start_unix_nano: start,
            end_unix_nano: start + (e.duration_ms.unwrap_or(0.0) * 1e6) as u64,
            success: e.success,
            error: e.error.clone(),
            duration_ms: e
                .duration_ms
                .unwrap_or(specfact_telemetry_server::store::UNKNOWN_DURATION),
            session_id: e.session_id.clone(),
            event_id: e.event_id,
            telemetry_version: e.telemetry_version.clone(),
            cli_version: e.cli_version.clone(),
            opt_in_source: e.opt_in_source.clone(),
            service_name: "specfact-cli".into(),
            deployment_environment: "production".into(),
            fields: e.fields.clone(),
        });
        if batch.len() == batch.capacity() {
            store.insert(&batch)?;
            batch.clear();
        }
    }
    store.insert(&batch)?;
    eprintln!("filled in {:.1?}", started.elapsed());
    Ok(())
}

fn get(port: u16, path: &str, etag: Option<&str>) -> (u16, usize, Option<String>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let inm = etag.map_or(String::new(), |e| format!("If-None-Match: {e}\r\n"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{inm}\r\n"
    )
    .expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let tag = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("etag:"))
        .map(|l| l[5..].trim().to_owned());
    (status, raw.len(), tag)
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(n), Some(location)) = (args.first(), args.get(1)) else {
        anyhow::bail!("usage: community_bench N STORE [REQUESTS]");
    };
    let n: u64 = n.replace('_', "").parse()?;
    let requests: usize = args.get(2).map_or(Ok(1000), |s| s.parse())?;
    let location: StoreLocation = location.parse()?;
    let store = store::open(&location)?;
    fill(store.as_ref(), n)?;
    let stored = store.stats()?.events_stored;

    let settings = Settings {
        min_sessions: 10,
        refresh: Duration::from_secs(3600),
        cutoff: Cutoff::Now,
    };
    let started = Instant::now();
    let publication = community::compute(store.as_ref(), &settings, SystemTime::now())?;
    let refresh = started.elapsed();
    let snapshot = community::Snapshot::new(publication);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let listener = runtime.block_on(server::bind("127.0.0.1:0".parse()?))?;
    let port = listener.local_addr()?.port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = Config {
        store: Arc::clone(&store),
        ingest_token: None,
        limits: Limits::default(),
        retain: None,
        community: settings,
    };
    let serving = runtime.spawn(server::serve(config, listener, async {
        let _ = stopped.await;
    }));
    // The server computes its own first snapshot in the background; wait for it.
    let waiting = Instant::now();
    while get(port, "/api/community.json", None).0 != 200 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let first_snapshot = waiting.elapsed();

    println!(
        "| store | events stored | refresh (full read, background) | first snapshot after start | request | size | median | p99 | max |"
    );
    println!("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |");
    let mut rows = Vec::new();
    for (what, path, conditional) in [
        ("GET /api/community.json", "/api/community.json", false),
        ("same, If-None-Match → 304", "/api/community.json", true),
        ("GET / (the page)", "/", false),
    ] {
        let tag = conditional.then(|| get(port, path, None).2).flatten();
        let mut times = Vec::with_capacity(requests);
        let mut size = 0;
        for _ in 0..requests {
            let t = Instant::now();
            let (status, bytes, _) = get(port, path, tag.as_deref());
            times.push(t.elapsed());
            assert!(status == 200 || status == 304, "{path}: HTTP {status}");
            size = bytes;
        }
        times.sort();
        rows.push(format!(
            "| {} | {} | {:.1?} | {:.1?} | {what} | {size} B | {:.2?} | {:.2?} | {:.2?} |",
            store.kind(),
            stored,
            refresh,
            first_snapshot,
            quantile(&times, 0.5),
            quantile(&times, 0.99),
            times[times.len() - 1],
        ));
    }
    for r in rows {
        println!("{r}");
    }
    eprintln!(
        "snapshot: {} commands published, {} cells held back",
        snapshot.publication.commands.len(),
        snapshot.publication.held_back.cells
    );
    let _ = stop.send(());
    let _ = runtime.block_on(serving);
    Ok(())
}
