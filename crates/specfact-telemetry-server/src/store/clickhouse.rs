//! The ClickHouse store (over ClickHouse's HTTP interface). Not built yet: opening it says so.

use std::time::SystemTime;

use super::{ClickHouseUrl, InsertOutcome, Store, StoreError, StoreStats, StoredSpan};

/// Spans in a ClickHouse database, shared by any number of server replicas.
#[derive(Debug)]
pub struct ClickHouseStore {
    _url: ClickHouseUrl,
}

impl ClickHouseStore {
    /// Connects to the database at `url`, creating the tables if missing.
    pub fn open(url: &ClickHouseUrl) -> Result<ClickHouseStore, StoreError> {
        let _ = url;
        Err(StoreError::NotBuilt(
            "the ClickHouse store is not built yet in this version; use --store sqlite:PATH".into(),
        ))
    }
}

impl Store for ClickHouseStore {
    fn insert(&self, _spans: &[StoredSpan]) -> Result<InsertOutcome, StoreError> {
        Err(StoreError::NotBuilt(
            "the ClickHouse store is not built yet".into(),
        ))
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        Err(StoreError::NotBuilt(
            "the ClickHouse store is not built yet".into(),
        ))
    }

    fn retain(&self, _older_than: SystemTime) -> Result<u64, StoreError> {
        Err(StoreError::NotBuilt(
            "the ClickHouse store is not built yet".into(),
        ))
    }

    fn events(
        &self,
        _since: SystemTime,
        _each: &mut dyn FnMut(StoredSpan),
    ) -> Result<u64, StoreError> {
        Err(StoreError::NotBuilt(
            "the ClickHouse store is not built yet".into(),
        ))
    }

    fn kind(&self) -> &'static str {
        "clickhouse"
    }
}
