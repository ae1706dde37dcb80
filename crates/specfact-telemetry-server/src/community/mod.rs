//! Community figures: `GET /api/community.json` and the public page `GET /`.
//!
//! Requests never scan the store. A background task computes a [`Snapshot`] — the
//! k-anonymous [`Publication`] of the report crate, its JSON and its page, each with an ETag
//! — when the server starts and again every [`Settings::refresh`] if the store changed, and
//! requests are answered from the latest snapshot (304 when the client has it already).
//! The same snapshot can be written as static files ([`write_static`]).

pub mod page;

use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Response, StatusCode};
use specfact_telemetry_report::community::{
    CommunityAggregator, DEFAULT_MIN_SESSIONS, Publication,
};
use specfact_telemetry_report::{IsoWeek, ReportOptions};

use crate::store::{Store, StoreError, StoreStats};

/// Which events the publication counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Cutoff {
    /// Events before the start (Monday 00:00 UTC) of the current ISO week: the figures change
    /// once a week, so comparing two copies shows no single day's activity.
    #[default]
    Week,
    /// Every stored event, up to the moment of the refresh.
    Now,
}

/// How the community figures are made.
#[derive(Debug, Clone)]
pub struct Settings {
    /// k: each published figure covers at least this many distinct sessions.
    pub min_sessions: u64,
    /// How often the figures are recomputed (when the store changed).
    pub refresh: Duration,
    /// Which events count.
    pub cutoff: Cutoff,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            min_sessions: DEFAULT_MIN_SESSIONS,
            refresh: Duration::from_secs(300),
            cutoff: Cutoff::Week,
        }
    }
}

/// The end (exclusive) of the data counted at `now`, if any.
pub fn data_until(cutoff: Cutoff, now: SystemTime) -> Option<SystemTime> {
    match cutoff {
        Cutoff::Now => None,
        Cutoff::Week => {
            let monday = IsoWeek::of(now).monday().day_number();
            let secs = u64::try_from(monday.max(0)).unwrap_or(0) * 86_400;
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        }
    }
}

/// Reads every stored span and computes the publication.
pub fn compute(
    store: &dyn Store,
    settings: &Settings,
    now: SystemTime,
) -> Result<Publication, StoreError> {
    let until = data_until(settings.cutoff, now);
    let mut agg = CommunityAggregator::new(ReportOptions {
        until,
        ..ReportOptions::default()
    });
    store.events(SystemTime::UNIX_EPOCH, &mut |span| {
        agg.push(&span.to_event())
    })?;
    Ok(agg.publish(settings.min_sessions, now, until))
}

/// A publication ready to serve.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The figures.
    pub publication: Publication,
    /// `/api/community.json`.
    pub json: Bytes,
    /// Its ETag (quoted).
    pub json_etag: HeaderValue,
    /// The page.
    pub html: Bytes,
    /// Its ETag (quoted).
    pub html_etag: HeaderValue,
}

fn etag(bytes: &[u8]) -> HeaderValue {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    HeaderValue::from_str(&format!("\"{:016x}-{:x}\"", h.finish(), bytes.len()))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

impl Snapshot {
    /// Serializes and renders `publication`.
    pub fn new(publication: Publication) -> Snapshot {
        let mut json = serde_json::to_vec_pretty(&publication).unwrap_or_default();
        json.push(b'\n');
        let html = page::render(&publication).into_bytes();
        Snapshot {
            json_etag: etag(&json),
            html_etag: etag(&html),
            json: Bytes::from(json),
            html: Bytes::from(html),
            publication,
        }
    }
}

/// Whether two publications hold the same figures (the time they were computed aside).
fn same_figures(a: &Publication, b: &Publication) -> bool {
    Publication {
        generated_at: String::new(),
        ..a.clone()
    } == Publication {
        generated_at: String::new(),
        ..b.clone()
    }
}

/// The latest snapshot and what it was computed from.
#[derive(Debug)]
pub struct Community {
    settings: Settings,
    current: RwLock<Option<Arc<Snapshot>>>,
    computed_from: RwLock<Option<(StoreStats, Option<SystemTime>)>>,
}

impl Community {
    /// Nothing computed yet.
    pub fn new(settings: Settings) -> Community {
        Community {
            settings,
            current: RwLock::new(None),
            computed_from: RwLock::new(None),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The latest snapshot, if one was computed.
    pub fn current(&self) -> Option<Arc<Snapshot>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Recomputes the snapshot if the store or the cutoff changed since the last one;
    /// returns whether it scanned. Blocking: call it off the async workers.
    pub fn refresh(&self, store: &dyn Store, now: SystemTime) -> Result<bool, StoreError> {
        let stats = store.stats()?;
        let key = (stats, data_until(self.settings.cutoff, now));
        let unchanged = self
            .computed_from
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|k| *k == key);
        if unchanged && self.current().is_some() {
            return Ok(false);
        }
        let publication = compute(store, &self.settings, now)?;
        let keep_old = self
            .current()
            .is_some_and(|old| same_figures(&old.publication, &publication));
        if !keep_old {
            let snapshot = Arc::new(Snapshot::new(publication));
            *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(snapshot);
        }
        *self
            .computed_from
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(key);
        Ok(true)
    }

    /// Refreshes now and then every [`Settings::refresh`], forever.
    pub async fn run(self: Arc<Self>, store: Arc<dyn Store>) {
        loop {
            let (me, s) = (self.clone(), store.clone());
            let started = Instant::now();
            match tokio::task::spawn_blocking(move || me.refresh(s.as_ref(), SystemTime::now()))
                .await
            {
                Ok(Ok(true)) => eprintln!(
                    "specfact-telemetry-server: community figures computed in {:.1?}",
                    started.elapsed()
                ),
                Ok(Ok(false)) => {}
                Ok(Err(e)) => {
                    eprintln!("specfact-telemetry-server: community figures not refreshed: {e}")
                }
                Err(_) => eprintln!("specfact-telemetry-server: community figures not refreshed"),
            }
            tokio::time::sleep(self.settings.refresh).await;
        }
    }
}

type Resp = Response<Full<Bytes>>;

/// Whether `If-None-Match` names `etag` (or is `*`).
fn not_modified(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let want = etag.as_bytes();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.trim_start_matches("W/").as_bytes() == want)
}

/// Answers `GET`/`HEAD` of `/` (the page) or `/api/community.json` from the latest snapshot.
pub fn respond(community: &Community, method: &Method, path: &str, headers: &HeaderMap) -> Resp {
    let Some(snapshot) = community.current() else {
        let mut r = Response::new(Full::new(Bytes::from_static(
            b"the community figures are being computed: retry in a few seconds\n",
        )));
        *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        return r;
    };
    let page = path == "/";
    let (body, etag, content_type) = if page {
        (
            &snapshot.html,
            &snapshot.html_etag,
            "text/html; charset=utf-8",
        )
    } else {
        (&snapshot.json, &snapshot.json_etag, "application/json")
    };
    let fresh = not_modified(headers, etag);
    let mut r = if fresh || method == Method::HEAD {
        Response::new(Full::new(Bytes::new()))
    } else {
        Response::new(Full::new(body.clone()))
    };
    if fresh {
        *r.status_mut() = StatusCode::NOT_MODIFIED;
    }
    let h = r.headers_mut();
    h.insert(header::ETAG, etag.clone());
    let max_age = community.settings.refresh.as_secs().clamp(10, 3600);
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        h.insert(header::CACHE_CONTROL, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !fresh {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if method == Method::HEAD {
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
    }
    if page {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(page::CSP),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    } else {
        // Public figures: any page may read them.
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    r
}

/// Writes `index.html` and `api/community.json` under `dir` (created if missing), for any
/// static web host.
pub fn write_static(dir: &Path, snapshot: &Snapshot) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("api"))?;
    std::fs::write(dir.join("index.html"), &snapshot.html)?;
    std::fs::write(dir.join("api").join("community.json"), &snapshot.json)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_week_cutoff_is_the_monday_of_the_current_week() {
        // Wednesday 2026-03-04 12:00 UTC → Monday 2026-03-02 00:00 UTC.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_772_409_600 + 2 * 86_400 + 43_200);
        let until = data_until(Cutoff::Week, now).unwrap();
        assert_eq!(
            specfact_telemetry::event::format_timestamp(until),
            "2026-03-02T00:00:00.000Z"
        );
        assert_eq!(data_until(Cutoff::Now, now), None);
    }

    #[test]
    fn if_none_match_finds_the_etag_among_several() {
        let tag = HeaderValue::from_static("\"abc-1\"");
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, &tag));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"abc-1\""),
        );
        assert!(not_modified(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"abc-2\""));
        assert!(!not_modified(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(not_modified(&h, &tag));
    }
}
