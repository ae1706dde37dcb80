//! Endpoint checks: an OTLP/HTTP endpoint must be a plain `http` or `https` URL with a
//! host. Nothing is normalized; a value that passes is used exactly as written.
//!
//! The checks are done by hand on purpose: they are a short, strict subset of URL
//! syntax, and a full URL parser (with international domain name tables) would be a
//! heavy dependency for the library that every host embeds.

use std::net::Ipv6Addr;

/// Longest accepted endpoint, in bytes.
pub const MAX_ENDPOINT_LEN: usize = 2048;

/// Why an endpoint was rejected. The messages never contain the endpoint, which may
/// hold a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// The endpoint is empty.
    #[error("is empty")]
    Empty,
    /// The endpoint is longer than [`MAX_ENDPOINT_LEN`].
    #[error("is longer than {MAX_ENDPOINT_LEN} bytes")]
    TooLong,
    /// The endpoint contains whitespace or a control character.
    #[error("contains whitespace or a control character")]
    Whitespace,
    /// The endpoint does not start with `http://` or `https://`.
    #[error("is not an http:// or https:// URL")]
    Scheme,
    /// The endpoint embeds `user:password@` credentials.
    #[error(
        "contains credentials before the host (user:password@); put them in an \
         Authorization header instead (`headers:` in telemetry.yaml or SPECFACT_TELEMETRY_HEADERS)"
    )]
    Credentials,
    /// The endpoint has no host, or the host is not a valid name or address.
    #[error("does not have a valid host name")]
    Host,
    /// The port is not a number from 1 to 65535.
    #[error("has a port that is not a number from 1 to 65535")]
    Port,
}

/// Checks an OTLP/HTTP endpoint: `http://` or `https://` (any case), a host name, an
/// IPv4 address or a bracketed IPv6 address, an optional port from 1 to 65535, then any
/// path, query or fragment; no whitespace, no control characters, no `user@` part, at
/// most [`MAX_ENDPOINT_LEN`] bytes.
pub fn validate_endpoint(endpoint: &str) -> Result<(), EndpointError> {
    if endpoint.is_empty() {
        return Err(EndpointError::Empty);
    }
    if endpoint.len() > MAX_ENDPOINT_LEN {
        return Err(EndpointError::TooLong);
    }
    if endpoint
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(EndpointError::Whitespace);
    }
    let rest = strip_scheme(endpoint).ok_or(EndpointError::Scheme)?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if authority.contains('@') {
        return Err(EndpointError::Credentials);
    }
    let (host, port) = split_host_port(authority)?;
    if let Some(port) = port {
        match port.parse::<u16>() {
            Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => {}
            _ => return Err(EndpointError::Port),
        }
    }
    if !is_valid_host(host) {
        return Err(EndpointError::Host);
    }
    Ok(())
}

fn strip_scheme(endpoint: &str) -> Option<&str> {
    ["https://", "http://"].iter().find_map(|scheme| {
        let head = endpoint.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme)
            .then(|| &endpoint[scheme.len()..])
    })
}

fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), EndpointError> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (address, after) = bracketed.split_once(']').ok_or(EndpointError::Host)?;
        if address.parse::<Ipv6Addr>().is_err() {
            return Err(EndpointError::Host);
        }
        return match after {
            "" => Ok(("[]", None)),
            _ => after
                .strip_prefix(':')
                .map(|port| ("[]", Some(port)))
                .ok_or(EndpointError::Host),
        };
    }
    Ok(match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

/// A host name made of dot-separated labels of letters (any script), digits, `-` and
/// `_`; `"[]"` stands for an IPv6 address already checked.
fn is_valid_host(host: &str) -> bool {
    if host == "[]" {
        return true;
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ordinary_collector_urls() {
        for url in [
            "http://localhost:4318/v1/traces",
            "https://otlp-gateway-prod-eu-west-2.grafana.net/otlp/v1/traces",
            "HTTPS://api.honeycomb.io",
            "http://127.0.0.1:4318",
            "http://[::1]:4318/v1/traces",
            "https://[2001:db8::1]/v1/traces?x=1#frag",
            "https://collector.example.com./v1/traces",
            "http://otel_collector:4318/v1/traces",
            "https://bücher.example/v1/traces",
        ] {
            assert_eq!(validate_endpoint(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn rejects_with_the_right_reason() {
        let long = format!("https://example.com/{}", "a".repeat(MAX_ENDPOINT_LEN));
        for (url, expected) in [
            ("", EndpointError::Empty),
            (long.as_str(), EndpointError::TooLong),
            ("https://exa mple.com", EndpointError::Whitespace),
            ("https://example.com/\n", EndpointError::Whitespace),
            ("ftp://example.com", EndpointError::Scheme),
            ("example.com:4318", EndpointError::Scheme),
            ("grpc://example.com", EndpointError::Scheme),
            ("https://user:pw@example.com", EndpointError::Credentials),
            ("https://token@example.com/v1", EndpointError::Credentials),
            ("https://", EndpointError::Host),
            ("https:///v1/traces", EndpointError::Host),
            ("https://:4318", EndpointError::Host),
            ("https://exa!mple.com", EndpointError::Host),
            ("https://a..b", EndpointError::Host),
            ("https://-a.com", EndpointError::Host),
            ("https://[::1", EndpointError::Host),
            ("https://[nothex]:1", EndpointError::Host),
            ("https://[::1]x", EndpointError::Host),
            ("https://example.com:0", EndpointError::Port),
            ("https://example.com:65536", EndpointError::Port),
            ("https://example.com:", EndpointError::Port),
            ("https://example.com:+80", EndpointError::Port),
            ("https://example.com:80:80", EndpointError::Port),
        ] {
            assert_eq!(validate_endpoint(url), Err(expected), "{url:?}");
        }
    }

    #[test]
    fn messages_do_not_contain_the_endpoint() {
        let url = "https://apikey:hunter2@example.com";
        let e = validate_endpoint(url).unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
        assert!(e.to_string().contains("Authorization header"));
    }

    proptest! {
        #[test]
        fn never_panics(input in any::<String>()) {
            let _ = validate_endpoint(&input);
        }

        #[test]
        fn accepts_generated_host_port_paths(
            https in any::<bool>(),
            labels in proptest::collection::vec("[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", 1..4),
            port in proptest::option::of(1u16..),
            path in "(/[A-Za-z0-9._~%-]{0,10}){0,3}",
        ) {
            let scheme = if https { "https" } else { "http" };
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let url = format!("{scheme}://{}{port}{path}", labels.join("."));
            prop_assert_eq!(validate_endpoint(&url), Ok(()), "{}", url);
        }
    }
}
