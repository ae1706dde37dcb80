//! `specfact-telemetry-server`: receives OTLP/HTTP traces and stores each span once.

use anyhow::Context;
use specfact_telemetry_server::store::{self, StoreLocation};

fn main() -> anyhow::Result<()> {
    let location: StoreLocation = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sqlite:telemetry.sqlite3".into())
        .parse()?;
    let store = store::open(&location).with_context(|| format!("opening {location}"))?;
    let stats = store.stats()?;
    println!("{location}: {} events stored", stats.events_stored);
    Ok(())
}
