//! Shape checks for values that could point at a person, a machine or a secret:
//! paths, e-mail addresses, URLs, IP addresses, host names and tokens.
//!
//! They run on every string, whatever its field, and are deliberately cheap: single passes
//! over the bytes, no allocation, no regular expressions.

use std::net::Ipv6Addr;

use super::DropReason;

/// Top-level domains (and private-network suffixes) common enough that a dotted value ending
/// in one is taken for a host name. Words that are also common command or module names
/// (`run`, `test`, `build`, `in`, `is`, `it`, `to`, `id`, …) are left out on purpose.
const COMMON_TLDS: &[&str] = &[
    // generic
    "com",
    "net",
    "org",
    "edu",
    "gov",
    "mil",
    "int",
    "info",
    "biz",
    "io",
    "dev",
    "app",
    "co",
    "ai",
    "me",
    "tv",
    "cc",
    "ly",
    "sh",
    "gg",
    "xyz",
    "site",
    "online",
    "tech",
    "cloud",
    "blog",
    "shop",
    "website",
    "space",
    "email", // private networks and special use
    "local",
    "localdomain",
    "internal",
    "intranet",
    "lan",
    "corp",
    "home",
    "arpa",
    "onion",
    // countries and regions
    "eu",
    "us",
    "uk",
    "de",
    "fr",
    "ru",
    "cn",
    "jp",
    "ca",
    "au",
    "nl",
    "se",
    "ch",
    "es",
    "pl",
    "br",
    "kr",
    "tw",
    "hk",
    "sg",
    "nz",
    "za",
    "mx",
    "il",
    "ie",
    "cz",
    "dk",
    "fi",
    "pt",
    "gr",
    "hu",
    "ro",
    "ua",
    "tr",
    "vn",
    "ar",
    "cl",
    "at",
    "ir",
    "sk",
    "bg",
    "lt",
    "lv",
    "ee",
    "si",
    "hr",
    "rs",
    "kz",
];

/// Prefixes of well-known credentials (GitHub, OpenAI, Slack, AWS, Google, GitLab, JWTs).
/// Matched case-sensitively at the start of a word and only when followed by enough
/// token characters, so that `sk-learn` is not taken for a key.
const TOKEN_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "sk-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "xoxa-",
    "xoxb-",
    "xoxe-",
    "xoxp-",
    "xoxr-",
    "xoxs-",
    "xapp-",
    "AKIA",
    "ASIA",
    "AIza",
    "ya29.",
    "eyJ",
];

/// How many token characters must follow a known prefix.
const MIN_CHARS_AFTER_PREFIX: usize = 8;

/// The first privacy problem `s` shows, most specific first, or `None`.
pub(super) fn hazard(s: &str) -> Option<DropReason> {
    if looks_like_url(s) {
        Some(DropReason::LooksLikeUrl)
    } else if s.contains('@') {
        Some(DropReason::LooksLikeEmail)
    } else if looks_like_ip(s) {
        Some(DropReason::LooksLikeIpAddress)
    } else if looks_like_path(s) {
        Some(DropReason::LooksLikePath)
    } else if looks_like_host_name(s) {
        Some(DropReason::LooksLikeHostName)
    } else if looks_like_token(s) {
        Some(DropReason::LooksLikeToken)
    } else {
        None
    }
}

/// Whether `label` is one of the [`COMMON_TLDS`] (ignoring ASCII case).
pub(super) fn is_common_tld(label: &str) -> bool {
    COMMON_TLDS.iter().any(|t| t.eq_ignore_ascii_case(label))
}

fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// `scheme://…`, `www.…` or `mailto:…`.
fn looks_like_url(s: &str) -> bool {
    s.contains("://")
        || contains_ignore_ascii_case(s, "www.")
        || contains_ignore_ascii_case(s, "mailto:")
}

/// Slashes, backslashes, `~`, or a drive letter (`C:`) at the start of a word.
fn looks_like_path(s: &str) -> bool {
    if s.contains(['/', '\\', '~']) {
        return true;
    }
    let b = s.as_bytes();
    (0..b.len()).any(|i| {
        let at_word_start = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b':');
        at_word_start
            && b[i].is_ascii_alphabetic()
            && b.get(i + 1) == Some(&b':')
            && b.get(i + 2) != Some(&b':')
    })
}

/// An IPv4 address (also written with `-` or `_`, as in `ip-10-0-0-1`) or an IPv6 address.
fn looks_like_ip(s: &str) -> bool {
    has_dotted_quad(s) || has_ipv6(s)
}

/// Four numbers of at most three digits, each at most 255, joined by the same one of `.`, `-`, `_`.
fn has_dotted_quad(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let mut chain = 0usize;
    let mut chain_sep: Option<u8> = None;
    let mut prev_end: Option<usize> = None;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let group = &b[start..i];
        let is_octet =
            group.len() <= 3 && group.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')) <= 255;
        if !is_octet {
            chain = 0;
            chain_sep = None;
            prev_end = None;
            continue;
        }
        let joined_by = prev_end
            .filter(|&end| start == end + 1)
            .map(|end| b[end])
            .filter(|sep| matches!(sep, b'.' | b'-' | b'_'))
            .filter(|sep| chain_sep.is_none_or(|c| c == *sep));
        match joined_by {
            Some(sep) => {
                chain_sep = Some(sep);
                chain += 1;
            }
            None => {
                chain = 1;
                chain_sep = None;
            }
        }
        if chain >= 4 {
            return true;
        }
        prev_end = Some(i);
    }
    false
}

/// A run of hex digits, colons and dots that parses as an IPv6 address and has a digit or at
/// least three colons (so that a module path such as `dead::beef` is not taken for one).
fn has_ipv6(s: &str) -> bool {
    s.split(|c: char| !(c.is_ascii_hexdigit() || c == ':' || c == '.'))
        .filter(|w| w.bytes().filter(|b| *b == b':').count() >= 2)
        .any(|w| {
            let colons = w.bytes().filter(|b| *b == b':').count();
            let has_digit = w.bytes().any(|b| b.is_ascii_digit());
            (has_digit || colons >= 3) && w.parse::<Ipv6Addr>().is_ok()
        })
}

/// At least two dot-separated labels, the last a common top-level domain and the one before
/// it not purely numeric (so that a version such as `1.0.dev` is not a host name).
fn looks_like_host_name(s: &str) -> bool {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_'))
        .any(|word| {
            let word = word.trim_end_matches('.');
            let mut labels = word.rsplit('.');
            let (Some(last), Some(before)) = (labels.next(), labels.next()) else {
                return false;
            };
            !before.is_empty() && !before.bytes().all(|b| b.is_ascii_digit()) && is_common_tld(last)
        })
}

/// A credential, key or hash: a known prefix, a UUID, a long part, a part mixing letters
/// and digits, or a part whose mixed case does not read as words.
fn looks_like_token(s: &str) -> bool {
    has_token_prefix(s)
        || has_uuid(s)
        || s.split(|c: char| !c.is_ascii_alphanumeric())
            .any(part_looks_like_token)
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

fn has_token_prefix(s: &str) -> bool {
    let b = s.as_bytes();
    (0..b.len()).any(|i| {
        let at_word_start = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        at_word_start
            && TOKEN_PREFIXES.iter().any(|p| {
                b[i..].starts_with(p.as_bytes())
                    && b[i + p.len()..]
                        .iter()
                        .take_while(|c| is_token_char(**c))
                        .count()
                        >= MIN_CHARS_AFTER_PREFIX
            })
    })
}

/// `8-4-4-4-12` hex digits.
fn has_uuid(s: &str) -> bool {
    const SHAPE: [usize; 5] = [8, 4, 4, 4, 12];
    s.split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .any(|run| {
            let groups: Vec<usize> = run.split('-').map(str::len).collect();
            groups.windows(SHAPE.len()).any(|w| w == SHAPE)
        })
}

/// One alphanumeric ASCII part.
fn part_looks_like_token(part: &str) -> bool {
    let len = part.len();
    if len < 10 {
        return false;
    }
    let b = part.as_bytes();
    let has_upper = b.iter().any(u8::is_ascii_uppercase);
    let has_lower = b.iter().any(u8::is_ascii_lowercase);
    let has_digit = b.iter().any(u8::is_ascii_digit);
    let has_letter = has_upper || has_lower;
    if has_upper && has_lower {
        // `ConnectionResetError`, `Base64DecodeError`: words, not noise.
        return !reads_as_camel_words(b);
    }
    len >= 20 || (len >= 12 && has_letter && has_digit)
}

/// Whether mixed-case ASCII reads as camel-case words: an optional lowercase start, then
/// humps that are either a capitalised word of 3+ letters or an acronym of 2+ capitals,
/// each optionally followed by digits (`Http2`, `Base64`, `X509`). A lone `A` or `I`
/// counts as a word (`NotADirectoryError`).
fn reads_as_camel_words(b: &[u8]) -> bool {
    let n = b.len();
    let mut i = 0;
    while i < n && b[i].is_ascii_lowercase() {
        i += 1;
    }
    while i < n && b[i].is_ascii_digit() {
        i += 1;
    }
    while i < n {
        if !b[i].is_ascii_uppercase() {
            return false;
        }
        let start = i;
        while i < n && b[i].is_ascii_uppercase() {
            i += 1;
        }
        let capitals = i - start;
        if i < n && b[i].is_ascii_lowercase() {
            // The last capital starts a word; the ones before form an acronym.
            let acronym = capitals - 1;
            if acronym == 1 && !matches!(b[start], b'A' | b'I') {
                return false;
            }
            let word_start = i;
            while i < n && b[i].is_ascii_lowercase() {
                i += 1;
            }
            if i - word_start < 2 {
                return false;
            }
        } else {
            let followed_by_digit = i < n && b[i].is_ascii_digit();
            if capitals < 2 && !followed_by_digit {
                return false;
            }
        }
        while i < n && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use DropReason::*;

    fn reason(s: &str) -> Option<DropReason> {
        hazard(s)
    }

    #[test]
    fn paths() {
        for s in [
            "/home/ada/project",
            "src/main.rs",
            r"C:\Users\ada",
            r"\\server\share",
            "~",
            "~ada",
            "C:",
            "d:file.txt",
            "No such file: C:",
        ] {
            assert_eq!(reason(s), Some(LooksLikePath), "{s}");
        }
    }

    #[test]
    fn emails_and_urls() {
        assert_eq!(reason("ada@example.com"), Some(LooksLikeEmail));
        assert_eq!(reason("git@github.com:org/repo.git"), Some(LooksLikeEmail));
        assert_eq!(reason("https://example.com/x"), Some(LooksLikeUrl));
        assert_eq!(reason("ssh://user@host"), Some(LooksLikeUrl));
        assert_eq!(reason("WWW.example"), Some(LooksLikeUrl));
        assert_eq!(reason("mailto:ada"), Some(LooksLikeUrl));
    }

    #[test]
    fn ip_addresses() {
        for s in [
            "10.0.0.1",
            "192.168.1.254",
            "ip-10-0-0-1",
            "v1.2.3.4",
            "::1",
            "fe80::1ff:fe23:4567:890a",
            "2001:db8::8a2e:370:7334",
            "a1::b2",
            "::ffff:10.1.2.3",
        ] {
            assert_eq!(reason(s), Some(LooksLikeIpAddress), "{s}");
        }
        for s in [
            "1.2.3",
            "256.1.1.1",
            "1.2.3-4",
            "io::NotFound",
            "dead::beef",
            "0.20.5",
        ] {
            assert_ne!(reason(s), Some(LooksLikeIpAddress), "{s}");
        }
    }

    #[test]
    fn host_names() {
        for s in [
            "example.com",
            "ada-laptop.local",
            "build.corp.internal",
            "x.io",
            "Example.COM.",
        ] {
            assert_eq!(reason(s), Some(LooksLikeHostName), "{s}");
        }
        for s in [
            "import.from_code",
            "repro.run",
            "requests.exceptions.ConnectionError",
            "1.0.dev",
            "com",
            ".com",
        ] {
            assert_eq!(reason(s), None, "{s}");
        }
    }

    #[test]
    fn tokens() {
        for s in [
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "ghp_abcdefgh",
            "sk-proj-abcdefgh",
            "xoxb-1234-abcd",
            "AKIAIOSFODNN7EXAMPLE",
            "eyJhbGciOiJIUzI1NiJ9",
            "d41d8cd98f00b204e9800998ecf8427e",
            "a1b2c3d4e5f6",
            "550e8400-e29b-41d4-a716-446655440000",
            "internationalization",
            "dGhpcyBpcyBh",
            "QWxhZGRpbjpv",
        ] {
            assert_eq!(reason(s), Some(LooksLikeToken), "{s}");
        }
        for s in [
            "sk-learn",
            "ConnectionResetError",
            "ConnectionRefusedError",
            "SSLCertVerificationError",
            "NotADirectoryError",
            "Base64DecodeError",
            "X509CertificateError",
            "UnicodeDecodeError",
            "features_detected",
            "fix-prompt",
            "checks2",
            "abcdefghijk",
        ] {
            assert_eq!(reason(s), None, "{s}");
        }
    }

    #[test]
    fn most_specific_reason_wins() {
        assert_eq!(reason("https://10.0.0.1/a"), Some(LooksLikeUrl));
        assert_eq!(reason("ada@10.0.0.1"), Some(LooksLikeEmail));
        assert_eq!(reason("10.0.0.1/24"), Some(LooksLikeIpAddress));
        assert_eq!(reason("/etc/example.com"), Some(LooksLikePath));
    }

    #[test]
    fn camel_words() {
        assert!(reads_as_camel_words(b"TimeoutError"));
        assert!(reads_as_camel_words(b"HTTPError"));
        assert!(reads_as_camel_words(b"IOError"));
        assert!(reads_as_camel_words(b"iPhoneError"));
        assert!(reads_as_camel_words(b"Http2Error"));
        assert!(!reads_as_camel_words(b"aBcDeFgHiJ"));
        assert!(!reads_as_camel_words(b"QWxhZGRp"));
        assert!(!reads_as_camel_words(b"ErrorX"));
    }
}
