//! `specfact-telemetry-server`: receives OTLP/HTTP traces, checks every span again and stores
//! each once.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use specfact_telemetry_server::community::{self, Cutoff};
use specfact_telemetry_server::server::{self, Config, Limits};
use specfact_telemetry_server::store::{self, StoreLocation, default_sqlite_path};

const EXAMPLES: &str = "\
Examples:
  # One machine, spans in the default SQLite file:
  specfact-telemetry-server

  # Listen on all interfaces, keep 400 days, require a token:
  specfact-telemetry-server --listen 0.0.0.0:4318 --store sqlite:/var/lib/specfact/telemetry.sqlite3 \\
      --retain 400d --ingest-token \"$(cat /etc/specfact/ingest-token)\"

  # A stateless replica writing to ClickHouse:
  specfact-telemetry-server --listen 0.0.0.0:4318 --store clickhouse:http://clickhouse:8123/telemetry

  # The community page and JSON as static files, for any static host:
  specfact-telemetry-server publish --out ./public --min-sessions 20

  # Point SpecFact at it:
  SPECFACT_TELEMETRY_ENDPOINT=http://127.0.0.1:4318/v1/traces specfact-telemetry export

Endpoints: POST /v1/traces (OTLP/HTTP, protobuf or JSON, gzip), GET /healthz, GET /api/stats,
GET /api/community.json (the k-anonymous community figures), GET / (their public page).";

/// Receives OTLP/HTTP traces from SpecFact CLIs and collectors, checks every span again with the
/// telemetry sanitizer and stores each span once (SQLite on one machine, ClickHouse for many).
#[derive(Debug, Parser)]
#[command(name = "specfact-telemetry-server", version, after_help = EXAMPLES)]
struct Args {
    /// Address and port to listen on (port 0 picks a free port; the address is printed).
    #[arg(
        long,
        env = "SPECFACT_TELEMETRY_SERVER_LISTEN",
        default_value = "127.0.0.1:4318"
    )]
    listen: SocketAddr,

    /// Where spans are stored: sqlite:PATH or clickhouse:http://HOST:PORT/DATABASE.
    /// [default: sqlite:$XDG_DATA_HOME/specfact-telemetry-server/telemetry.sqlite3, else
    /// sqlite:~/.local/share/specfact-telemetry-server/telemetry.sqlite3]
    // Parsed after clap, whose errors would repeat the value (and a password in it).
    #[arg(
        long,
        env = "SPECFACT_TELEMETRY_SERVER_STORE",
        hide_env_values = true,
        global = true
    )]
    store: Option<String>,

    /// Require this token from clients (header `Authorization: Bearer TOKEN`). Prefer the
    /// environment variable: command lines are visible to other users.
    #[arg(
        long,
        env = "SPECFACT_TELEMETRY_SERVER_INGEST_TOKEN",
        hide_env_values = true
    )]
    ingest_token: Option<String>,

    /// Delete events that started longer ago than this (e.g. 400d, 26weeks), at start and
    /// every hour. Without it nothing is deleted.
    #[arg(long, env = "SPECFACT_TELEMETRY_SERVER_RETAIN", value_parser = parse_age)]
    retain: Option<Duration>,

    /// Largest request body in bytes, as sent.
    #[arg(long, env = "SPECFACT_TELEMETRY_SERVER_MAX_BODY", default_value_t = Limits::default().max_body)]
    max_body: usize,

    /// Largest request body in bytes after gzip decompression.
    #[arg(long, env = "SPECFACT_TELEMETRY_SERVER_MAX_DECOMPRESSED", default_value_t = Limits::default().max_decompressed)]
    max_decompressed: usize,

    /// SQLite only: `full` syncs every commit to disk before answering 2xx (survives a power
    /// loss); `normal` survives a crash or kill of the server but not of the machine, and is
    /// faster on slow disks.
    #[arg(long, env = "SPECFACT_TELEMETRY_SERVER_SQLITE_SYNC", value_enum, default_value_t = Sync::Full)]
    sqlite_sync: Sync,

    /// Requests processed at once; others wait, then get 429 with Retry-After.
    #[arg(long, env = "SPECFACT_TELEMETRY_SERVER_MAX_CONCURRENT", default_value_t = Limits::default().max_concurrent)]
    max_concurrent: usize,

    /// k: every published community figure covers at least this many distinct sessions;
    /// smaller cells are held back, name included.
    #[arg(long, env = "SPECFACT_TELEMETRY_SERVER_MIN_SESSIONS", default_value_t = community::Settings::default().min_sessions, value_parser = clap::value_parser!(u64).range(2..), global = true)]
    min_sessions: u64,

    /// Which events the community figures count: `week` (up to the start of the current
    /// ISO week, so they change once a week) or `now` (everything stored).
    #[arg(long, env = "SPECFACT_TELEMETRY_SERVER_COMMUNITY_CUTOFF", value_enum, default_value_t = Cutoff::Week, global = true)]
    community_cutoff: Cutoff,

    /// How often the community figures are recomputed in the background, when the store
    /// changed (e.g. 5m, 1h).
    #[arg(long, env = "SPECFACT_TELEMETRY_SERVER_COMMUNITY_REFRESH", default_value = "5m", value_parser = parse_refresh)]
    community_refresh: Duration,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Compute the community figures once and write them as static files: DIR/index.html
    /// (the page) and DIR/api/community.json. Reads the store; receives nothing.
    Publish {
        /// The directory to write (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

fn parse_refresh(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("{e}; write a duration such as 5m or 1h"))?;
    if d < Duration::from_secs(1) {
        return Err("refresh at most once a second (e.g. 5m)".into());
    }
    Ok(d)
}

/// `--sqlite-sync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Sync {
    Full,
    Normal,
}

fn parse_age(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("{e}; write an age such as 400d or 26weeks"))?;
    if d < Duration::from_secs(3600) {
        return Err("keep at least one hour (e.g. 400d)".into());
    }
    Ok(d)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let location = match args.store.as_deref().map(str::parse::<StoreLocation>) {
        Some(Ok(l)) => l,
        Some(Err(e)) => {
            eprintln!("error: invalid --store: {e}");
            std::process::exit(2);
        }
        None => StoreLocation::Sqlite(default_sqlite_path(
            std::env::var_os("XDG_DATA_HOME")
                .map(PathBuf::from)
                .as_deref(),
            std::env::var_os("HOME").map(PathBuf::from).as_deref(),
        )),
    };
    let store: std::sync::Arc<dyn store::Store> = match &location {
        StoreLocation::Sqlite(path) => std::sync::Arc::new(store::SqliteStore::open_with(
            path,
            match args.sqlite_sync {
                Sync::Full => store::Durability::Full,
                Sync::Normal => store::Durability::Normal,
            },
        )?),
        other => store::open(other)?,
    };
    let community = community::Settings {
        min_sessions: args.min_sessions,
        refresh: args.community_refresh,
        cutoff: args.community_cutoff,
    };
    if let Some(Command::Publish { out }) = &args.command {
        let publication =
            community::compute(store.as_ref(), &community, std::time::SystemTime::now())
                .context("computing the community figures")?;
        let snapshot = community::Snapshot::new(publication);
        community::write_static(out, &snapshot)
            .with_context(|| format!("cannot write to {}", out.display()))?;
        println!(
            "Wrote {} and {} (k = {}, {} cells held back)",
            out.join("index.html").display(),
            out.join("api").join("community.json").display(),
            community.min_sessions,
            snapshot.publication.held_back.cells
        );
        return Ok(());
    }
    let limits = Limits {
        max_body: args.max_body,
        max_decompressed: args.max_decompressed,
        max_concurrent: args.max_concurrent.max(1),
        ..Limits::default()
    };
    let config = Config {
        store,
        ingest_token: args.ingest_token.filter(|t| !t.is_empty()),
        limits,
        retain: args.retain,
        community,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = server::bind(args.listen).await.with_context(|| {
            format!(
                "cannot listen on {}: is another server using that port?",
                args.listen
            )
        })?;
        let local = listener.local_addr()?;
        println!("specfact-telemetry-server listening on http://{local} (store {location})");
        server::serve(config, listener, shutdown_signal()).await?;
        eprintln!("specfact-telemetry-server: stopped");
        Ok(())
    })
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = tokio::signal::ctrl_c() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
