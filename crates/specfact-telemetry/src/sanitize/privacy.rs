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

/// Prefixes of well-known credentials (GitHub, OpenAI, Slack, GitLab, Google OAuth), matched
/// ignoring case at the start of a word and only when followed by enough token characters,
/// so that `sk-learn` is not taken for a key.
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
    "ya29.",
];

/// Prefixes whose letter case is part of the signature (AWS keys, Google API keys, JWTs);
/// matched case-sensitively, so that `asia-southeast1` is not taken for an AWS key.
const CASED_TOKEN_PREFIXES: &[&str] = &["AKIA", "ASIA", "AIza", "eyJ"];

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
/// it not purely numeric (so that a version such as `1.0.dev` is not a host name). Host names
/// have no `_`, so it ends one (`build.example.com_x` holds `build.example.com`).
fn looks_like_host_name(s: &str) -> bool {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
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
/// and digits, a part whose mixed case does not read as words, or a long word (parts joined
/// by `-` or `_`, as in URL-safe base64) that looks like noise.
pub(super) fn looks_like_token(s: &str) -> bool {
    has_token_prefix(s)
        || has_uuid(s)
        || s.split(|c: char| !c.is_ascii_alphanumeric())
            .any(part_looks_like_token)
        || s.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '=')))
            .any(word_looks_like_noise)
}

/// The shortest word [`word_looks_like_noise`] looks at.
const MIN_NOISY_WORD_LEN: usize = 16;

/// How many letter/digit alternations make a word look random (`k3j9x-m1p0q`), while
/// `e2e-tests`, `x86_64-linux-gnu` or `py3-11-ubuntu22-04` still read as names.
const MAX_LETTER_DIGIT_SWITCHES: usize = 3;

/// A word of [`MIN_NOISY_WORD_LEN`] or more characters (letters, digits, `-`, `_`, `+`, `=`)
/// that ends in base64 padding, has a part whose mixed case does not read as words, or
/// alternates often between letters and digits.
fn word_looks_like_noise(word: &str) -> bool {
    if word.len() < MIN_NOISY_WORD_LEN {
        return false;
    }
    if word.ends_with('=') {
        // Base64 padding.
        return true;
    }
    let noisy_case = word.split(['-', '_', '+', '=']).any(|part| {
        let b = part.as_bytes();
        b.len() >= 2
            && b.iter().any(u8::is_ascii_uppercase)
            && b.iter().any(u8::is_ascii_lowercase)
            && !reads_as_camel_words(b)
    });
    let switches = word
        .as_bytes()
        .windows(2)
        .filter(|w| {
            (w[0].is_ascii_alphabetic() && w[1].is_ascii_digit())
                || (w[0].is_ascii_digit() && w[1].is_ascii_alphabetic())
        })
        .count();
    noisy_case || switches > MAX_LETTER_DIGIT_SWITCHES
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

fn has_token_prefix(s: &str) -> bool {
    let b = s.as_bytes();
    (0..b.len()).any(|i| {
        let at_word_start = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        let followed_by_token = |len: usize| {
            b[i + len..]
                .iter()
                .take_while(|c| is_token_char(**c))
                .count()
                >= MIN_CHARS_AFTER_PREFIX
        };
        at_word_start
            && (TOKEN_PREFIXES.iter().any(|p| {
                b[i..]
                    .get(..p.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(p.as_bytes()))
                    && followed_by_token(p.len())
            }) || CASED_TOKEN_PREFIXES
                .iter()
                .any(|p| b[i..].starts_with(p.as_bytes()) && followed_by_token(p.len())))
    })
}

/// `8-4-4-4-12` hex digits.
fn has_uuid(s: &str) -> bool {
    const SHAPE: [usize; 5] = [8, 4, 4, 4, 12];
    const UUID_LEN: usize = 36;
    s.split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .filter(|run| run.len() >= UUID_LEN)
        .any(|run| {
            let mut matched = 0;
            for len in run.split('-').map(str::len) {
                if len == SHAPE[matched] {
                    matched += 1;
                    if matched == SHAPE.len() {
                        return true;
                    }
                } else {
                    // Only a first group can start a new match.
                    matched = usize::from(len == SHAPE[0]);
                }
            }
            false
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
        // `ConnectionResetError`, `Base64DecodeError`: words, not noise. From 20 characters
        // on, with at most one group of digits (`X509CertificateError`).
        return !reads_as_camel_words(b) || (len >= 20 && digit_groups(b) > 1);
    }
    len >= 20 || (len >= 12 && has_letter && has_digit)
}

/// How many separate runs of digits `b` has.
fn digit_groups(b: &[u8]) -> usize {
    b.iter()
        .enumerate()
        .filter(|(i, c)| c.is_ascii_digit() && (*i == 0 || !b[i - 1].is_ascii_digit()))
        .count()
}

/// The longest run of capitals read as an acronym (`HTTPS`, `UUID`); longer runs in mixed
/// case are more likely random.
const MAX_ACRONYM_LEN: usize = 5;

/// Common abbreviations without a vowel that appear as words in type names
/// (`HttpError`, `DbConnectionError`, `SyncError`).
const ABBREVIATIONS: &[&str] = &[
    "by", "cfg", "cmd", "cpp", "crc", "css", "csv", "ctx", "db", "dns", "ffi", "fs", "gc", "gpg",
    "grpc", "html", "http", "https", "js", "jwt", "kv", "lib", "ml", "mq", "msg", "my", "pdf",
    "pgp", "pkcs", "pkg", "png", "pwd", "py", "rpc", "rs", "rx", "sql", "src", "ssh", "ssl", "std",
    "svg", "sync", "sys", "tcp", "tls", "tmp", "try", "ts", "tsv", "tx", "udp", "vm", "ws", "xml",
];

/// The longest run of consonants a word may have (`ngth` in `Length`); random letters have
/// longer ones much more often than words do.
const MAX_CONSONANT_RUN: usize = 4;

/// A word of a type name: one of the [`ABBREVIATIONS`], or a word with a vowel and no run of
/// more than [`MAX_CONSONANT_RUN`] consonants (`y` counting as a vowel for the runs).
fn is_word(letters: &[u8]) -> bool {
    if ABBREVIATIONS
        .iter()
        .any(|a| a.as_bytes().eq_ignore_ascii_case(letters))
    {
        return true;
    }
    let has_vowel = letters
        .iter()
        .any(|c| matches!(c.to_ascii_lowercase(), b'a' | b'e' | b'i' | b'o' | b'u'));
    let mut run = 0usize;
    let mut longest_run = 0usize;
    for c in letters {
        if matches!(
            c.to_ascii_lowercase(),
            b'a' | b'e' | b'i' | b'o' | b'u' | b'y'
        ) {
            run = 0;
        } else {
            run += 1;
            longest_run = longest_run.max(run);
        }
    }
    has_vowel && longest_run <= MAX_CONSONANT_RUN
}

/// Whether mixed-case ASCII reads as camel-case words rather than random characters.
///
/// It must split into an optional lowercase start and humps that are either a capitalised
/// word (`Error`, `Of`) or an acronym of 2 to 5 capitals (`HTTP`), each optionally followed
/// by digits (`Http2`, `Base64`, `X509`); a lone `A` or `I` may stand before a word
/// (`NotADirectoryError`). Every word of two or more letters must read as a word ([`is_word`]),
/// words must be 3 letters long on average (3.5 from 20 characters on), and at most a third
/// of them may have fewer than 3 letters (`OutOfMemory`).
fn reads_as_camel_words(b: &[u8]) -> bool {
    let n = b.len();
    let mut i = 0;
    let mut letters = 0usize;
    let mut words = 0usize;
    let mut short_words = 0usize;
    while i < n && b[i].is_ascii_lowercase() {
        i += 1;
    }
    if i > 0 {
        if i >= 2 && !is_word(&b[..i]) {
            return false;
        }
        letters += i;
        words += 1;
        short_words += usize::from(i <= 2);
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
            if acronym > MAX_ACRONYM_LEN {
                return false;
            }
            if acronym == 1 && !matches!(b[start], b'A' | b'I') {
                return false;
            }
            if acronym >= 2 {
                letters += acronym;
                words += 1;
            }
            let word_start = i - 1;
            while i < n && b[i].is_ascii_lowercase() {
                i += 1;
            }
            if !is_word(&b[word_start..i]) {
                return false;
            }
            letters += i - word_start;
            words += 1;
            short_words += usize::from(i - word_start <= 2);
        } else {
            let followed_by_digit = i < n && b[i].is_ascii_digit();
            if capitals > MAX_ACRONYM_LEN || (capitals < 2 && !followed_by_digit) {
                return false;
            }
            letters += capitals;
            words += 1;
            short_words += usize::from(capitals == 1);
        }
        while i < n && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    let min_average_x2 = if n >= 20 { 7 } else { 6 };
    words > 0 && letters * 2 >= words * min_average_x2 && short_words * 3 <= words
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
            "GLPAT-AA_AAAA-AA_AA",
            "sk-proj-abcdefgh",
            "xoxb-1234-abcd",
            "AKIAIOSFODNN7EXAMPLE",
            "eyJhbGciOiJIUzI1NiJ9",
            "d41d8cd98f00b204e9800998ecf8427e",
            "a1b2c3d4e5f6",
            "550e8400-e29b-41d4-a716-446655440000",
            "x-1234-550E8400-E29B-41D4-A716-446655440000-y",
            "internationalization",
            "dGhpcyBpcyBh",
            "QWxhZGRpbjpv",
            "aB3dE-fGh8iJk_lMnOpQ",
            "k3j9x-m1p0q-8z7w2",
        ] {
            assert_eq!(reason(s), Some(LooksLikeToken), "{s}");
        }
        for s in [
            "sk-learn",
            "asia-southeast1",
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
            "e2e-tests-pipeline",
            "x86_64-linux-gnu",
            "py3-11-ubuntu22-04",
            "aarch64-apple-darwin20",
            "import-from-code-and-more",
            "macOS-arm64",
            "Import-From-Code",
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
    fn real_type_names_are_not_tokens() {
        let names = [
            "ArithmeticError",
            "AssertionError",
            "AttributeError",
            "BlockingIOError",
            "BrokenPipeError",
            "ChildProcessError",
            "ConnectionAbortedError",
            "ConnectionRefusedError",
            "ConnectionResetError",
            "FileExistsError",
            "FileNotFoundError",
            "FloatingPointError",
            "GeneratorExit",
            "IndentationError",
            "InterruptedError",
            "IsADirectoryError",
            "KeyboardInterrupt",
            "ModuleNotFoundError",
            "NotADirectoryError",
            "NotImplementedError",
            "PermissionError",
            "ProcessLookupError",
            "RecursionError",
            "StopAsyncIteration",
            "UnboundLocalError",
            "UnicodeDecodeError",
            "UnicodeTranslateError",
            "ZeroDivisionError",
            "JSONDecodeError",
            "SSLCertVerificationError",
            "MaxRetryError",
            "ChunkedEncodingError",
            "CalledProcessError",
            "TimeoutExpired",
            "UnsupportedOperation",
            "HTTPSConnectionPool",
            "XMLHttpRequest",
            "HttpClientError",
            "DbConnectionError",
            "ArrayIndexOutOfBoundsException",
            "IllegalArgumentException",
            "NullPointerException",
            "IndexOutOfRange",
            "OutOfMemory",
            "TimeToLive",
            "StackOverflowError",
            "ScriptError",
            "LengthError",
            "AddrNotAvailable",
            "StaleNetworkFileHandle",
            "ReadOnlyFilesystem",
            "ArgumentListTooLong",
            "ExecutableFileBusy",
            "X509CertificateError",
            "X509StoreContextError",
            "Http2ConnectionError",
            "Base64DecodeError",
            "SyncError",
            "iPhoneError",
            "macOSError",
        ];
        for name in names {
            assert_eq!(reason(name), None, "{name}");
        }
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
        assert!(reads_as_camel_words(b"HTTPSConnectionPool"));
        assert!(!reads_as_camel_words(b"GFAAWACabIY"));
    }
}
