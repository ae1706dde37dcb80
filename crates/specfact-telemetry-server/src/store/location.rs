//! The `--store` argument: `sqlite:PATH` or `clickhouse:http://HOST:PORT/DATABASE`, parsed in
//! this one place.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Where spans are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An embedded SQLite database file (created with its directory if missing).
    Sqlite(PathBuf),
    /// A ClickHouse server's HTTP interface and a database on it.
    ClickHouse(ClickHouseUrl),
}

/// A ClickHouse HTTP endpoint: `http://[USER[:PASSWORD]@]HOST:PORT/DATABASE`.
#[derive(Clone, PartialEq, Eq)]
pub struct ClickHouseUrl {
    /// `http` or `https`.
    pub scheme: String,
    /// Host name or address.
    pub host: String,
    /// Port of the HTTP interface (8123 by default).
    pub port: u16,
    /// Database name.
    pub database: String,
    /// User, if given in the URL.
    pub user: Option<String>,
    /// Password, if given in the URL. Never printed.
    pub password: Option<String>,
}

impl ClickHouseUrl {
    /// `scheme://host:port`, without credentials or database: where HTTP requests go.
    pub fn base(&self) -> String {
        format!("{}://{}:{}", self.scheme, self.host, self.port)
    }
}

impl fmt::Debug for ClickHouseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClickHouseUrl")
            .field("scheme", &self.scheme)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Why a `--store` value was refused. Never repeats a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    /// Neither `sqlite:` nor `clickhouse:`.
    #[error(
        "unknown store kind {0:?}: use sqlite:PATH (one file, e.g. sqlite:/var/lib/specfact/telemetry.sqlite3) or clickhouse:http://HOST:PORT/DATABASE"
    )]
    UnknownKind(String),
    /// `sqlite:` without a path.
    #[error("sqlite: needs a file path, e.g. sqlite:/var/lib/specfact/telemetry.sqlite3")]
    EmptyPath,
    /// A malformed ClickHouse URL.
    #[error("bad ClickHouse URL: {0}; expected clickhouse:http://HOST:PORT/DATABASE")]
    BadUrl(&'static str),
}

impl FromStr for StoreLocation {
    type Err = LocationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(LocationError::EmptyPath);
            }
            return Ok(StoreLocation::Sqlite(PathBuf::from(path)));
        }
        if let Some(url) = s.strip_prefix("clickhouse:") {
            return parse_clickhouse(url).map(StoreLocation::ClickHouse);
        }
        // Only the part before the first ':' is shown: the rest may hold a password.
        let shown: String = s.split(':').next().unwrap_or("").chars().take(20).collect();
        Err(LocationError::UnknownKind(shown))
    }
}

impl fmt::Display for StoreLocation {
    /// The location without any password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            StoreLocation::ClickHouse(u) => {
                write!(f, "clickhouse:{}/{}", u.base(), u.database)
            }
        }
    }
}

fn parse_clickhouse(url: &str) -> Result<ClickHouseUrl, LocationError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or(LocationError::BadUrl("no http:// or https://"))?;
    if scheme != "http" && scheme != "https" {
        return Err(LocationError::BadUrl("the scheme must be http or https"));
    }
    if rest.contains(['?', '#']) {
        return Err(LocationError::BadUrl("no query or fragment allowed"));
    }
    let (authority, database) = rest
        .split_once('/')
        .ok_or(LocationError::BadUrl("no /DATABASE"))?;
    let database = database.trim_end_matches('/');
    if database.is_empty()
        || database.len() > 64
        || !database
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        || database.as_bytes()[0].is_ascii_digit()
    {
        return Err(LocationError::BadUrl(
            "the database name must be letters, digits and _",
        ));
    }
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        None => (None, None),
        Some(u) => match u.split_once(':') {
            Some((user, pass)) => (Some(user.to_owned()), Some(pass.to_owned())),
            None => (Some(u.to_owned()), None),
        },
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
            h,
            p.parse::<u16>()
                .map_err(|_| LocationError::BadUrl("the port is not a number"))?,
        ),
        _ => (hostport, if scheme == "https" { 8443 } else { 8123 }),
    };
    if host.is_empty() {
        return Err(LocationError::BadUrl("no host"));
    }
    Ok(ClickHouseUrl {
        scheme: scheme.to_owned(),
        host: host.to_owned(),
        port,
        database: database.to_owned(),
        user,
        password,
    })
}

/// The default SQLite file: `$XDG_DATA_HOME/specfact-telemetry-server/telemetry.sqlite3`, else
/// `~/.local/share/specfact-telemetry-server/telemetry.sqlite3`, else `./telemetry.sqlite3`.
pub fn default_sqlite_path(xdg_data_home: Option<&Path>, home: Option<&Path>) -> PathBuf {
    const DIR: &str = "specfact-telemetry-server";
    const FILE: &str = "telemetry.sqlite3";
    match (xdg_data_home.filter(|p| p.is_absolute()), home) {
        (Some(data), _) => data.join(DIR).join(FILE),
        (None, Some(home)) => home.join(".local/share").join(DIR).join(FILE),
        (None, None) => PathBuf::from(FILE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_locations() {
        assert_eq!(
            "sqlite:/var/x.db".parse(),
            Ok(StoreLocation::Sqlite("/var/x.db".into()))
        );
        assert_eq!(
            "sqlite:rel/x.db".parse(),
            Ok(StoreLocation::Sqlite("rel/x.db".into()))
        );
        assert_eq!(
            "sqlite:".parse::<StoreLocation>(),
            Err(LocationError::EmptyPath)
        );
    }

    #[test]
    fn clickhouse_locations() {
        let StoreLocation::ClickHouse(u) = "clickhouse:http://127.0.0.1:8123/telemetry"
            .parse()
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(u.base(), "http://127.0.0.1:8123");
        assert_eq!(u.database, "telemetry");
        assert_eq!(u.user, None);
        let StoreLocation::ClickHouse(u) = "clickhouse:https://ingest:s3cret@ch.internal/t_1/"
            .parse()
            .unwrap()
        else {
            panic!()
        };
        assert_eq!((u.port, u.user.as_deref()), (8443, Some("ingest")));
        assert!(!format!("{u:?}").contains("s3cret"));
        let loc: StoreLocation = "clickhouse:http://a:pw@h:1/d".parse().unwrap();
        assert_eq!(loc.to_string(), "clickhouse:http://h:1/d");
        for bad in [
            "clickhouse:h:1/d",
            "clickhouse:ftp://h/d",
            "clickhouse:http://h:1",
            "clickhouse:http://h:x/d",
            "clickhouse:http://h:1/d;drop",
            "clickhouse:http://h:1/d?x=1",
        ] {
            assert!(
                matches!(bad.parse::<StoreLocation>(), Err(LocationError::BadUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_kinds_never_echo_credentials() {
        let err = "postgres://u:pw@h/d".parse::<StoreLocation>().unwrap_err();
        assert!(matches!(err, LocationError::UnknownKind(_)));
        assert!(!err.to_string().contains("pw@h"));
    }

    #[test]
    fn default_path_follows_xdg() {
        assert_eq!(
            default_sqlite_path(Some(Path::new("/d")), Some(Path::new("/h"))),
            PathBuf::from("/d/specfact-telemetry-server/telemetry.sqlite3")
        );
        assert_eq!(
            default_sqlite_path(Some(Path::new("rel")), Some(Path::new("/h"))),
            PathBuf::from("/h/.local/share/specfact-telemetry-server/telemetry.sqlite3")
        );
        assert_eq!(
            default_sqlite_path(None, None),
            PathBuf::from("telemetry.sqlite3")
        );
    }
}
