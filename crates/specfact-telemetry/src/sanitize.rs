//! The sanitizer: raw [`Value`]s become typed [`FieldValue`]s, or are dropped with a reason.
//!
//! Nothing downstream of this module sees unsanitized input.

use std::fmt;
use std::path::Path;

use crate::env::EnvSnapshot;
use crate::event::FieldValue;
use crate::schema::Schema;
use crate::value::Value;

/// Why a field was dropped. The reason never contains the dropped value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// The key is not in the schema.
    UnknownField,
    /// The key is one the library sets itself (`session_id`, `timestamp`, …).
    SetByLibrary,
    /// The value's type does not fit the field's kind.
    WrongType {
        /// What the field takes.
        expected: String,
        /// What was given (a type name, never the value).
        found: &'static str,
    },
    /// An empty string.
    Empty,
    /// Longer than the field allows.
    TooLong {
        /// The maximum length in characters.
        max: usize,
    },
    /// Does not match the field's pattern.
    BadFormat {
        /// What the field takes.
        expected: String,
    },
    /// Looks like a file system path.
    LooksLikePath,
    /// Looks like an e-mail address.
    LooksLikeEmail,
    /// Looks like a URL.
    LooksLikeUrl,
    /// Looks like an IP address.
    LooksLikeIpAddress,
    /// Looks like a host name.
    LooksLikeHostName,
    /// Looks like a token, key or hash.
    LooksLikeToken,
    /// Contains this machine's user name, host name or a home-directory component.
    ContainsMachineIdentity,
    /// A number outside the field's range (negative count, absurd value).
    OutOfRange,
    /// NaN or infinite.
    NotFinite,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::UnknownField => f.write_str("not an allowed field"),
            DropReason::SetByLibrary => f.write_str("set by the library, not by the host"),
            DropReason::WrongType { expected, found } => {
                write!(f, "expected {expected}, got a {found}")
            }
            DropReason::Empty => f.write_str("empty"),
            DropReason::TooLong { max } => write!(f, "longer than {max} characters"),
            DropReason::BadFormat { expected } => write!(f, "not {expected}"),
            DropReason::LooksLikePath => f.write_str("looks like a file path"),
            DropReason::LooksLikeEmail => f.write_str("looks like an e-mail address"),
            DropReason::LooksLikeUrl => f.write_str("looks like a URL"),
            DropReason::LooksLikeIpAddress => f.write_str("looks like an IP address"),
            DropReason::LooksLikeHostName => f.write_str("looks like a host name"),
            DropReason::LooksLikeToken => f.write_str("looks like a token or key"),
            DropReason::ContainsMachineIdentity => {
                f.write_str("contains this machine's user, host or home-directory name")
            }
            DropReason::OutOfRange => f.write_str("out of range"),
            DropReason::NotFinite => f.write_str("not a finite number"),
        }
    }
}

/// A field the sanitizer refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// The key, made safe to print: control characters escaped, at most 64 characters.
    pub key: String,
    /// Why it was dropped.
    pub reason: DropReason,
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dropped field {:?}: {}", self.key, self.reason)
    }
}

/// The result of sanitizing a batch of metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sanitized {
    /// Kept fields, in input order; a later value for the same key replaces an earlier one.
    pub fields: Vec<(String, FieldValue)>,
    /// Refused fields with their reasons.
    pub dropped: Vec<Dropped>,
}

/// Names that identify this machine and its user, which no string value may contain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineIdentity {
    /// Lowercased words of at least 3 characters.
    words: Vec<String>,
}

impl MachineIdentity {
    /// Detects the user name (`USER`, `LOGNAME`, `USERNAME`), the host name and the
    /// components of the home directory.
    pub fn detect(env: &EnvSnapshot, home: Option<&Path>) -> MachineIdentity {
        let _ = (env, home);
        todo!("identity")
    }

    /// Builds an identity from explicit names (for tests and hosts that know better).
    pub fn from_names<I, S>(names: I) -> MachineIdentity
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let _ = names;
        todo!("identity")
    }

    /// Whether any part of `s` (split on `.`, `-`, `_`, `:`, `/` and the like) equals one of the names.
    pub fn appears_in(&self, s: &str) -> bool {
        let _ = s;
        todo!("identity")
    }
}

/// Checks raw metadata against a [`Schema`] and a [`MachineIdentity`].
#[derive(Debug, Clone, Copy)]
pub struct Sanitizer<'a> {
    schema: &'a Schema,
    identity: &'a MachineIdentity,
}

impl<'a> Sanitizer<'a> {
    /// A sanitizer for this schema and machine.
    pub fn new(schema: &'a Schema, identity: &'a MachineIdentity) -> Self {
        Sanitizer { schema, identity }
    }

    /// Checks one metadata field.
    pub fn field(&self, key: &str, value: &Value) -> Result<FieldValue, DropReason> {
        let _ = (key, value, self.schema, self.identity);
        todo!("sanitize")
    }

    /// Checks a batch of metadata fields.
    pub fn sanitize<'k, I>(&self, metadata: I) -> Sanitized
    where
        I: IntoIterator<Item = (&'k str, &'k Value)>,
    {
        let _ = metadata;
        todo!("sanitize")
    }

    /// Checks and normalizes a command identifier (lowercased, then checked as [`FieldKind::Command`](crate::FieldKind::Command)).
    pub fn command(&self, command: &str) -> Result<String, DropReason> {
        let _ = command;
        todo!("sanitize")
    }

    /// Checks an error type name.
    pub fn error_type(&self, error: &str) -> Result<String, DropReason> {
        let _ = error;
        todo!("sanitize")
    }

    /// Checks the host's version string (`0.20.5`, `1.2.0-rc.1+abc`), at most 32 characters.
    pub fn cli_version(&self, version: &str) -> Result<String, DropReason> {
        let _ = version;
        todo!("sanitize")
    }
}
