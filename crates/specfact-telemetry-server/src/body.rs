//! A request body's declared format and encoding, and bounded decompression.

use std::io::Read;

use crate::decode::Format;

/// The body's format from its `Content-Type` (parameters such as `charset` ignored), or `None`
/// when the server does not take it (415).
pub fn format(content_type: Option<&str>) -> Option<Format> {
    let media = content_type?.split(';').next()?.trim().to_ascii_lowercase();
    match media.as_str() {
        "application/x-protobuf" | "application/protobuf" => Some(Format::Protobuf),
        "application/json" => Some(Format::Json),
        _ => None,
    }
}

/// A body's `Content-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Not compressed.
    Identity,
    /// gzip.
    Gzip,
}

/// The body's encoding, or `None` when the server does not take it (415).
pub fn encoding(content_encoding: Option<&str>) -> Option<Encoding> {
    match content_encoding.map(|e| e.trim().to_ascii_lowercase()) {
        None => Some(Encoding::Identity),
        Some(e) if e.is_empty() || e == "identity" => Some(Encoding::Identity),
        Some(e) if e == "gzip" || e == "x-gzip" => Some(Encoding::Gzip),
        Some(_) => None,
    }
}

/// Why a body could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    /// It inflates to more than the limit (413); inflating stopped at the limit.
    #[error("the body inflates to more than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Not valid gzip (400).
    #[error("the body is not valid gzip")]
    Corrupt,
}

/// Inflates a gzip body (all its members), never producing more than `limit` bytes: a bomb
/// is refused after inflating `limit + 1` bytes of it, not all of it.
pub fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    let mut reader = flate2::read::MultiGzDecoder::new(body).take(limit as u64 + 1);
    reader
        .read_to_end(&mut out)
        .map_err(|_| InflateError::Corrupt)?;
    if out.len() > limit {
        return Err(InflateError::TooLarge { limit });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn content_types_and_encodings() {
        assert_eq!(
            format(Some("application/x-protobuf")),
            Some(Format::Protobuf)
        );
        assert_eq!(
            format(Some("Application/JSON; charset=utf-8")),
            Some(Format::Json)
        );
        assert_eq!(format(Some("text/plain")), None);
        assert_eq!(format(None), None);
        assert_eq!(encoding(None), Some(Encoding::Identity));
        assert_eq!(encoding(Some("GZIP")), Some(Encoding::Gzip));
        assert_eq!(encoding(Some("br")), None);
    }

    #[test]
    fn inflating_stops_at_the_limit() {
        let body = gz(&vec![0u8; 4 << 20]);
        assert_eq!(
            gunzip(&body, 1 << 20),
            Err(InflateError::TooLarge { limit: 1 << 20 })
        );
        assert_eq!(gunzip(&body, 4 << 20).unwrap().len(), 4 << 20);
        assert_eq!(gunzip(b"not gzip", 100), Err(InflateError::Corrupt));
        let mut two = gz(b"ab");
        two.extend(gz(b"cd"));
        assert_eq!(gunzip(&two, 100).unwrap(), b"abcd");
    }
}
