//! Properties of the sanitizer: nothing identifying ever reaches the output, every kept
//! value fits its field's kind, and no input makes it panic.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use proptest::prelude::*;
use specfact_telemetry::event::RESERVED_KEYS;
use specfact_telemetry::{
    DropReason, EnvSnapshot, FieldKind, FieldValue, MachineIdentity, Sanitizer, Schema, Value,
};

const ONE_OF: &[&str] = &["ast", "agent", "hybrid"];

/// The SpecFact fields plus one host field of every other kind.
fn schema() -> Schema {
    let mut schema = Schema::specfact();
    schema
        .register(
            "backend",
            FieldKind::OneOf(ONE_OF.iter().map(|s| (*s).to_owned()).collect()),
        )
        .and_then(|s| s.register("ratio", FieldKind::Number))
        .and_then(|s| s.register("wait_ms", FieldKind::DurationMs))
        .and_then(|s| s.register("cause", FieldKind::ErrorType))
        .and_then(|s| s.register("subcommand", FieldKind::Command))
        .and_then(|s| s.register("stage", FieldKind::Identifier { max_len: 64 }))
        .expect("valid registrations");
    schema
}

/// A schema whose one-of field lists the hazard itself: listing a value must not let it through.
fn schema_listing(value: &str) -> Schema {
    let mut schema = schema();
    schema
        .register("listed", FieldKind::OneOf(vec![value.to_owned()]))
        .expect("valid registration");
    schema
}

fn string_keys() -> [&'static str; 6] {
    [
        "mode",
        "execution_mode",
        "stage",
        "subcommand",
        "cause",
        "backend",
    ]
}

// ---------------------------------------------------------------------------------------------
// Generators of identifying values
// ---------------------------------------------------------------------------------------------

fn segment() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.-]{1,12}"
}

fn unix_path() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("/"), Just("./"), Just("../"), Just("~/"), Just("")],
        prop::collection::vec(segment(), 1..5),
    )
        .prop_map(|(lead, parts)| {
            let joined = parts.join("/");
            if lead.is_empty() {
                // A relative path still has at least one slash.
                format!("{joined}/x")
            } else {
                format!("{lead}{joined}")
            }
        })
}

fn windows_path() -> impl Strategy<Value = String> {
    prop_oneof![
        ("[A-Za-z]", prop::collection::vec(segment(), 0..4))
            .prop_map(|(drive, parts)| format!("{drive}:\\{}", parts.join("\\"))),
        ("[a-z]{1,8}", prop::collection::vec(segment(), 1..3))
            .prop_map(|(server, parts)| format!("\\\\{server}\\{}", parts.join("\\"))),
        prop::collection::vec(segment(), 2..4).prop_map(|parts| parts.join("\\")),
    ]
}

fn tld() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "com", "net", "org", "io", "dev", "app", "co", "uk", "de", "fr", "local", "internal",
        "lan", "corp", "cloud", "ai", "me", "info", "biz", "edu", "gov", "eu", "us", "ru", "cn",
        "jp", "COM", "Io",
    ])
}

fn host_name() -> impl Strategy<Value = String> {
    (
        prop::collection::vec("[a-z][a-z0-9-]{0,10}", 1..4),
        tld(),
        any::<bool>(),
    )
        .prop_map(|(labels, tld, trailing_dot)| {
            let dot = if trailing_dot { "." } else { "" };
            format!("{}.{tld}{dot}", labels.join("."))
        })
}

fn url() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["http", "https", "ftp", "ssh", "git", "file", "s3"]),
        prop_oneof![host_name(), ipv4(), "[a-z]{1,10}".prop_map(String::from)],
        "(/[a-z0-9._-]{0,10}){0,3}",
    )
        .prop_map(|(scheme, host, path)| format!("{scheme}://{host}{path}"))
}

fn email() -> impl Strategy<Value = String> {
    ("[a-z0-9][a-z0-9._%+-]{0,15}", host_name()).prop_map(|(local, host)| format!("{local}@{host}"))
}

fn ipv4() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| Ipv4Addr::from(o).to_string()),
        any::<[u8; 4]>().prop_map(|o| format!("ip-{}-{}-{}-{}", o[0], o[1], o[2], o[3])),
        any::<[u8; 4]>().prop_map(|o| format!("v{}.{}.{}.{}", o[0], o[1], o[2], o[3])),
    ]
}

fn ipv6() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u128>().prop_map(|a| Ipv6Addr::from(a).to_string()),
        any::<[u16; 2]>().prop_map(|[a, b]| format!("fe80::{a:x}:{b:x}%eth0")),
        any::<[u8; 4]>().prop_map(|o| format!("::ffff:{}", Ipv4Addr::from(o))),
        Just("::1".to_owned()),
    ]
}

fn base64(url_safe: bool) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 16..48)
        .prop_map(move |bytes| encode_base64(&bytes, url_safe))
}

/// A plain base64 encoder for generating test tokens.
fn encode_base64(bytes: &[u8], url_safe: bool) -> String {
    let alphabet: &[u8; 64] = if url_safe {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(alphabet[(n >> (18 - 6 * i) & 63) as usize]));
        }
        if !url_safe {
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
    }
    out
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{32}",
        "[0-9a-f]{40}",
        "[0-9A-F]{64}",
        base64(false),
        base64(true),
        "ghp_[A-Za-z0-9]{36}",
        "github_pat_[A-Za-z0-9_]{60}",
        "sk-[A-Za-z0-9]{20,48}",
        "sk-proj-[A-Za-z0-9_-]{20,60}",
        "xox[bpas]-[0-9]{10,12}-[0-9]{10,12}-[A-Za-z0-9]{24}",
        "AKIA[0-9A-Z]{16}",
        "glpat-[A-Za-z0-9_-]{20}",
        "eyJ[A-Za-z0-9_-]{10,30}\\.[A-Za-z0-9_-]{10,30}\\.[A-Za-z0-9_-]{10,30}",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    ]
}

/// Paths, addresses and names: identifying whatever their letter case.
fn location() -> impl Strategy<Value = String> {
    prop_oneof![
        unix_path(),
        windows_path(),
        url(),
        email(),
        host_name(),
        ipv4(),
        ipv6(),
    ]
}

/// `h` on its own or inside an otherwise plain value.
fn embedded(h: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (h, "[a-z]{0,6}", "[a-z]{0,6}", 0..4usize).prop_map(|(h, pre, post, wrap)| match wrap {
        0 => h,
        1 => format!("{pre}-{h}"),
        2 => format!("{h}_{post}"),
        _ => format!("{pre} {h} {post}"),
    })
}

/// Every kind of identifying value, on its own or inside an otherwise plain value.
fn hazard() -> impl Strategy<Value = String> {
    embedded(prop_oneof![location(), token()])
}

// ---------------------------------------------------------------------------------------------
// Arbitrary raw values
// ---------------------------------------------------------------------------------------------

fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![
        ".*",
        "[a-zA-Z][a-zA-Z0-9_.:-]{0,70}",
        "[a-z][a-z0-9_-]{0,40}(\\.[a-z][a-z0-9_-]{0,10}){0,3}",
        "[A-Z][A-Za-z0-9]{0,25}((::|\\.)[A-Za-z_][A-Za-z0-9_]{0,15}){0,3}",
        "[ \t]*-?[0-9]{0,14}(\\.[0-9]{0,6})?[ \t]*",
        "(?i)[ ]*(true|false|nan|inf|yes)[ ]*",
        "v?[0-9]{1,3}(\\.[0-9]{1,3}){0,3}(-[a-z0-9.]{1,8})?(\\+[a-z0-9.]{1,8})?",
        Just(String::new()),
        prop::sample::select(ONE_OF.to_vec()).prop_map(String::from),
        hazard(),
    ]
}

fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(Value::Map),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        (-5i64..2_000).prop_map(Value::Int),
        any::<u64>().prop_map(Value::UInt),
        any::<f64>().prop_map(Value::Float),
        (-10.0f64..1e10).prop_map(Value::Float),
        prop::sample::select(vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            1e12,
            1e13
        ])
        .prop_map(Value::Float),
        (0usize..5_000).prop_map(Value::List),
        any_string().prop_map(Value::Str),
    ]
}

fn any_key() -> impl Strategy<Value = String> {
    let schema = schema();
    let known: Vec<String> = schema
        .fields()
        .map(|(k, _)| k.to_owned())
        .chain(RESERVED_KEYS.iter().map(|k| (*k).to_owned()))
        .collect();
    prop_oneof![
        3 => prop::sample::select(known),
        1 => ".{0,100}",
        1 => "[a-z_]{1,20}",
    ]
}

// ---------------------------------------------------------------------------------------------
// Independent checks of the output
// ---------------------------------------------------------------------------------------------

fn is_identifier(s: &str, max: usize) -> bool {
    let mut chars = s.chars();
    s.chars().count() <= max
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn is_command(s: &str) -> bool {
    s.len() <= 64 && s.split('.').all(|p| is_identifier(p, 64))
}

fn is_error_type(s: &str) -> bool {
    s.len() <= 64
        && s.replace("::", ".").split('.').all(|p| {
            let mut chars = p.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

fn has_dotted_quad(s: &str) -> bool {
    let groups: Vec<&str> = s.split(|c: char| !c.is_ascii_digit() && c != '.').collect();
    groups.iter().any(|run| {
        run.split('.').collect::<Vec<_>>().windows(4).any(|w| {
            w.iter()
                .all(|g| !g.is_empty() && g.len() <= 3 && g.parse::<u16>().is_ok_and(|n| n <= 255))
        })
    })
}

fn has_long_hex_with_digit(s: &str) -> bool {
    s.split(|c: char| !c.is_ascii_hexdigit())
        .any(|run| run.len() >= 32 && run.bytes().any(|b| b.is_ascii_digit()))
}

/// A kept string shows none of the shapes of identifying data.
fn assert_harmless(s: &str) -> Result<(), TestCaseError> {
    let lower = s.to_ascii_lowercase();
    prop_assert!(
        !s.contains(['/', '\\', '~', '@']),
        "path or e-mail kept: {s:?}"
    );
    prop_assert!(
        !s.contains("://") && !lower.contains("www."),
        "URL kept: {s:?}"
    );
    prop_assert!(!has_dotted_quad(s), "IPv4 kept: {s:?}");
    prop_assert!(!has_long_hex_with_digit(s), "hash kept: {s:?}");
    prop_assert!(
        !s.chars().any(char::is_control),
        "control character kept: {s:?}"
    );
    prop_assert_eq!(s.trim(), s, "untrimmed value kept");
    prop_assert!(!s.is_empty(), "empty value kept");
    Ok(())
}

/// Whether `rounded` has at most two significant digits (or is below 100).
fn two_significant(rounded: i64) -> bool {
    if rounded < 100 {
        return true;
    }
    let mut n = rounded;
    while n % 10 == 0 {
        n /= 10;
    }
    n < 100
}

fn assert_fits(kind: &FieldKind, value: &FieldValue) -> Result<(), TestCaseError> {
    match (kind, value) {
        (FieldKind::Command, FieldValue::Str(s)) => prop_assert!(is_command(s), "{s:?}"),
        (FieldKind::Identifier { max_len }, FieldValue::Str(s)) => {
            prop_assert!(is_identifier(s, *max_len), "{s:?}")
        }
        (FieldKind::OneOf(values), FieldValue::Str(s)) => prop_assert!(values.contains(s)),
        (FieldKind::ErrorType, FieldValue::Str(s)) => prop_assert!(is_error_type(s), "{s:?}"),
        (FieldKind::Bool, FieldValue::Bool(_)) => {}
        (FieldKind::Count, FieldValue::Int(n)) => {
            prop_assert!((0..=1_000_000_000_000).contains(n), "{n}")
        }
        (FieldKind::RoundedCount, FieldValue::Int(n)) => {
            prop_assert!((0..=1_000_000_000_000).contains(n), "{n}");
            prop_assert!(two_significant(*n), "{n} is not rounded");
        }
        (FieldKind::DurationMs, FieldValue::Float(x)) => {
            prop_assert!((0.0..=2_592_000_000.0).contains(x), "{x}");
            prop_assert!(x.is_sign_positive(), "negative zero");
            prop_assert!(
                ((x * 100.0).round() - x * 100.0).abs() < 1e-3,
                "{x} has more than 2 decimals"
            );
        }
        (FieldKind::Number, FieldValue::Float(x)) => {
            prop_assert!(x.is_finite(), "{x}");
            if x.abs() < 1e9 {
                prop_assert!(
                    ((x * 1e4).round() - x * 1e4).abs() < 1e-3,
                    "{x} has more than 4 decimals"
                );
            }
        }
        (kind, value) => prop_assert!(false, "{value:?} does not fit {kind:?}"),
    }
    if let FieldValue::Str(s) = value {
        assert_harmless(s)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn identifying_values_never_reach_the_output(h in hazard()) {
        let schema = schema_listing(&h);
        let identity = MachineIdentity::from_names(["ada"]);
        let s = Sanitizer::new(&schema, &identity);
        for key in string_keys().into_iter().chain(["listed"]) {
            let result = s.field(key, &Value::Str(h.clone()));
            prop_assert!(result.is_err(), "{key} kept {h:?} as {result:?}");
        }
        prop_assert!(s.command(&h).is_err(), "command kept {h:?}");
        prop_assert!(s.error_type(&h).is_err(), "error type kept {h:?}");
        prop_assert!(s.cli_version(&h).is_err(), "version kept {h:?}");
        prop_assert!(s.cli_version(&format!("1.0.0+{h}")).is_err(), "version kept {h:?}");
    }

    #[test]
    fn letter_case_does_not_hide_a_location(h in embedded(location())) {
        // Identifiers and commands are lowercased before their pattern check; the privacy
        // checks must see through any case.
        let schema = schema();
        let identity = MachineIdentity::default();
        let s = Sanitizer::new(&schema, &identity);
        for variant in [h.to_uppercase(), h.to_lowercase()] {
            for key in string_keys() {
                let result = s.field(key, &Value::Str(variant.clone()));
                prop_assert!(result.is_err(), "{key} kept {variant:?} as {result:?}");
            }
            prop_assert!(s.command(&variant).is_err(), "command kept {variant:?}");
            prop_assert!(s.error_type(&variant).is_err(), "error type kept {variant:?}");
        }
    }

    #[test]
    fn the_machines_own_names_never_reach_the_output(
        user in "[a-z][a-z0-9]{2,10}",
        host_first in "[a-z]{3,8}(-[a-z0-9]{2,6})?",
        domain in prop::sample::select(vec!["", ".lan", ".local", ".example.com", ".corp.internal"]),
        shape in 0..8usize,
        other in "[a-z]{3,8}",
        listed in any::<bool>(),
    ) {
        let host = format!("{host_first}{domain}");
        let env = EnvSnapshot::empty().with("USER", user.as_str()).with("HOSTNAME", host.as_str());
        let home = PathBuf::from(format!("/home/{user}"));
        let identity = MachineIdentity::detect(&env, Some(&home));
        let capitalised = {
            let mut c = user.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        };
        let value = match shape {
            0 => format!("{user}-{other}"),
            1 => format!("{other}_{user}"),
            2 => user.to_uppercase(),
            3 => format!("{other}.{user}.{other}"),
            4 => format!("{other}{host_first}{other}"),
            5 => format!("{capitalised}BuildError"),
            6 => format!("{other}::{capitalised}"),
            _ => format!("{}-{other}", host_first.to_uppercase()),
        };
        let schema = if listed { schema_listing(&value) } else { schema() };
        let s = Sanitizer::new(&schema, &identity);
        for key in string_keys().into_iter().chain(listed.then_some("listed")) {
            let result = s.field(key, &Value::Str(value.clone()));
            prop_assert!(result.is_err(), "{key} kept {value:?} as {result:?}");
        }
        prop_assert!(s.command(&value).is_err(), "command kept {value:?}");
        prop_assert!(s.error_type(&value).is_err(), "error type kept {value:?}");
        prop_assert!(s.cli_version(&format!("1.0+{value}")).is_err(), "version kept {value:?}");
    }

    #[test]
    fn a_hosts_command_name_is_kept_whatever_the_machine_is_called(
        user in "[a-z]{3,8}",
        home_tail in "[a-z]{3,8}",
        words in prop::collection::vec("[a-z]{3,8}", 1..4),
        at in 0..4usize,
        dash_other in "[a-z]{3,8}",
    ) {
        // The command is made of the user's and the home directory's own names.
        let mut parts = words.clone();
        let at = at.min(parts.len());
        parts.insert(at, format!("{user}-{dash_other}"));
        parts.push(home_tail.clone());
        let command = parts.join(".");
        let env = EnvSnapshot::empty().with("USER", user.as_str());
        let home = PathBuf::from(format!("/home/{user}/{home_tail}"));
        let identity = MachineIdentity::detect(&env, Some(&home));
        let schema = schema();
        let s = Sanitizer::new(&schema, &identity);
        prop_assert_eq!(s.program_command(&command), Ok(command.clone()));
        // Typed into a script, it is refused for the machine's names exactly when a whole
        // segment is the user's name (and, typed, a name ending in a top-level domain such
        // as `.xyz` is refused as a possible host name before that).
        let names_user = parts.contains(&user);
        let free = s.free_form_command(&command);
        if free != Err(DropReason::LooksLikeHostName) {
            prop_assert_eq!(free.is_err(), names_user, "{}", command);
        }
    }

    #[test]
    fn kept_fields_fit_their_kind(key in any_key(), value in any_value()) {
        let schema = schema();
        let identity = MachineIdentity::from_names(["ada", "workbench"]);
        let s = Sanitizer::new(&schema, &identity);
        match s.field(&key, &value) {
            Ok(kept) => {
                prop_assert!(!RESERVED_KEYS.contains(&key.as_str()));
                let kind = schema.kind(&key);
                prop_assert!(kind.is_some(), "kept unknown key {key:?}");
                if let Some(kind) = kind {
                    assert_fits(kind, &kept)?;
                }
                if let FieldValue::Str(text) = &kept {
                    prop_assert!(!identity.appears_in(text), "kept a machine name: {text:?}");
                }
            }
            Err(DropReason::SetByLibrary) => {
                prop_assert!(RESERVED_KEYS.contains(&key.as_str()));
            }
            Err(DropReason::UnknownField) => {
                prop_assert!(schema.kind(&key).is_none());
            }
            Err(_) => prop_assert!(schema.kind(&key).is_some()),
        }
    }

    #[test]
    fn library_strings_fit_their_patterns(text in any_string()) {
        let schema = schema();
        let identity = MachineIdentity::from_names(["ada"]);
        let s = Sanitizer::new(&schema, &identity);
        if let Ok(command) = s.command(&text) {
            prop_assert!(is_command(&command), "{command:?}");
            assert_harmless(&command)?;
        }
        if let Ok(error) = s.error_type(&text) {
            prop_assert!(is_error_type(&error), "{error:?}");
            assert_harmless(&error)?;
        }
        if let Ok(version) = s.cli_version(&text) {
            prop_assert!(version.len() <= 32);
            prop_assert!(version.starts_with(|c: char| c.is_ascii_digit() || c == 'v'));
            prop_assert!(version.chars().all(|c| c.is_ascii_alphanumeric() || ".+-".contains(c)));
            assert_harmless(&version)?;
        }
    }

    #[test]
    fn batches_keep_one_entry_per_key_and_printable_drops(
        batch in prop::collection::vec((any_key(), any_value()), 0..20),
    ) {
        let schema = schema();
        let identity = MachineIdentity::default();
        let s = Sanitizer::new(&schema, &identity);
        let out = s.sanitize(batch.iter().map(|(k, v)| (k.as_str(), v)));
        let mut keys: Vec<&str> = Vec::new();
        for (key, _) in &batch {
            if !keys.contains(&key.as_str()) {
                keys.push(key);
            }
        }
        let mut expected_kept = 0;
        for key in keys {
            // The last value given for a key decides whether and how it is kept.
            let last = batch.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v);
            let kept: Vec<&FieldValue> =
                out.fields.iter().filter(|(k, _)| k == key).map(|(_, v)| v).collect();
            match last.map(|v| s.field(key, v)) {
                Some(Ok(value)) => {
                    expected_kept += 1;
                    prop_assert_eq!(kept, vec![&value], "{}", key);
                }
                _ => prop_assert!(kept.is_empty(), "{key} kept after a refused last value"),
            }
        }
        prop_assert_eq!(out.fields.len(), expected_kept);
        let refused = batch.iter().filter(|(k, v)| s.field(k, v).is_err()).count();
        prop_assert_eq!(out.dropped.len(), refused);
        for dropped in &out.dropped {
            prop_assert!(dropped.key.chars().count() <= 64, "{:?}", dropped.key);
            prop_assert!(!dropped.key.chars().any(char::is_control), "{:?}", dropped.key);
        }
    }

    #[test]
    fn drop_reasons_never_repeat_the_value(
        key in prop::sample::select(vec!["mode", "subcommand", "cause", "backend", "checks_total", "ratio", "shadow_mode", "wait_ms"]),
        value in "[a-z]{1,10}[/@ ]Zq[0-9]{3}[a-z/@. ]{0,10}",
    ) {
        let schema = schema();
        let identity = MachineIdentity::default();
        let s = Sanitizer::new(&schema, &identity);
        let reason = s.field(key, &Value::Str(value.clone()));
        prop_assert!(reason.is_err(), "{value:?} kept");
        if let Err(reason) = reason {
            let text = format!("{reason} {reason:?}");
            prop_assert!(!text.contains("Zq"), "{text}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn huge_and_strange_strings_never_panic(
        piece in "\\PC{1,64}|.{1,64}",
        repeat in 1..1_000usize,
        key_piece in ".{0,8}",
    ) {
        let huge = piece.repeat(repeat);
        let key = key_piece.repeat(repeat.min(500));
        let schema = schema();
        let identity = MachineIdentity::from_names([piece.as_str(), "ada"]);
        let s = Sanitizer::new(&schema, &identity);
        let value = Value::Str(huge.clone());
        for (name, _) in schema.fields() {
            let _ = s.field(name, &value);
        }
        let out = s.sanitize([(key.as_str(), &value), ("mode", &value)]);
        prop_assert!(out.dropped.iter().all(|d| d.key.chars().count() <= 64));
        let _ = (s.command(&huge), s.error_type(&huge), s.cli_version(&huge));
        let _ = identity.appears_in(&huge);
    }
}

#[test]
fn the_base64_helper_encodes_correctly() {
    assert_eq!(encode_base64(b"Man", false), "TWFu");
    assert_eq!(encode_base64(b"Ma", false), "TWE=");
    assert_eq!(encode_base64(b"M", false), "TQ==");
    assert_eq!(encode_base64(&[0xfb, 0xff], true), "-_8");
}
