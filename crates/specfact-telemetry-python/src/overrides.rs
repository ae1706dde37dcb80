//! Settings a host built itself (the compat layer's `TelemetrySettings`), laid over the
//! resolved ones.

use std::path::PathBuf;

use pyo3::prelude::*;
use specfact_telemetry::settings::{
    DisabledReason, Header, OptInSource, Secret, Setting, Settings, Source, is_valid_header_name,
    is_valid_header_value, validate_endpoint,
};

/// `(enabled, endpoint, headers, local_path, debug, opt_in_source)`; a `local_path` of
/// `None` keeps the resolved one.
#[derive(Debug, FromPyObject)]
pub(crate) struct Overrides(
    bool,
    Option<String>,
    Vec<(String, String)>,
    Option<PathBuf>,
    bool,
    String,
);

impl Overrides {
    /// Lays these values over `settings`. A host that says "enabled" is obeyed, even
    /// in a test environment: that is how a host's own tests check its telemetry. An
    /// endpoint or header that is not valid is left out (and said so in debug mode).
    pub(crate) fn apply(self, settings: &mut Settings) {
        let Overrides(enabled, endpoint, headers, local_path, debug, source) = self;
        settings.enabled = enabled;
        settings.debug = keep_source(&settings.debug, debug);
        settings.opt_in_source = match (enabled, source.as_str()) {
            (false, _) => OptInSource::Disabled,
            (true, "env") => OptInSource::Env,
            (true, "config") => OptInSource::Config,
            (true, "file") => OptInSource::File,
            (true, _) => OptInSource::Disabled,
        };
        settings.disabled_reason = (!enabled).then_some(DisabledReason::NotOptedIn);
        let endpoint = endpoint.filter(|e| match validate_endpoint(e) {
            Ok(()) => true,
            Err(why) => {
                if debug {
                    eprintln!("specfact-telemetry: endpoint not used: {why}");
                }
                false
            }
        });
        settings.endpoint = keep_source(&settings.endpoint, endpoint);
        if let Some(path) = local_path {
            settings.local_path = keep_source(&settings.local_path, Some(path));
        }
        let before = std::mem::take(&mut settings.headers);
        settings.headers = headers
            .into_iter()
            .filter(|(name, value)| {
                let ok = is_valid_header_name(name) && is_valid_header_value(value);
                if !ok && debug {
                    eprintln!(
                        "specfact-telemetry: a header with an invalid name or value was left out"
                    );
                }
                ok
            })
            .map(|(name, value)| {
                let source = before
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case(&name) && h.value.expose() == value)
                    .map_or(Source::Default, |h| h.source);
                Header {
                    name,
                    value: Secret::new(value),
                    source,
                }
            })
            .collect();
    }
}

/// `value` with the source of `old` when it is the same value, [`Source::Default`]
/// (set by the host's code) otherwise.
fn keep_source<T: PartialEq>(old: &Setting<T>, value: T) -> Setting<T> {
    let source = if old.value == value {
        old.source
    } else {
        Source::Default
    };
    Setting::new(value, source)
}
