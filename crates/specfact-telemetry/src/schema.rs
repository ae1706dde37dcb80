//! The typed allow-list: which metadata fields exist and what kind of value each may hold.
//!
//! There is deliberately no free-text kind. Host tools register their own fields
//! with one of these kinds; a field that is not in the schema never leaves the
//! sanitizer.

use std::collections::BTreeMap;
use std::fmt;

/// What kind of value a field holds, and so how the sanitizer checks it.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    /// A dotted identifier, lowercase ASCII letters, digits, `-` and `_` in each part,
    /// at most 64 characters (`import.from_code`, `generate.fix-prompt`).
    Command,
    /// A short lowercase identifier (letters, digits, `-`, `_`) of at most `max_len` characters.
    Identifier {
        /// Maximum length in characters.
        max_len: usize,
    },
    /// One of a fixed set of strings.
    OneOf(Vec<String>),
    /// A boolean.
    Bool,
    /// A non-negative whole number.
    Count,
    /// A non-negative whole number rounded to two significant digits from 100 up (143 → 140).
    RoundedCount,
    /// A non-negative duration in milliseconds, kept with two decimals.
    DurationMs,
    /// A finite number, rounded to four decimal places.
    Number,
    /// An error type name (`Exit`, `TimeoutError`, `io::NotFound`), never a message.
    ErrorType,
}

impl FieldKind {
    /// A short human description, used in drop reasons and `--help` text.
    pub fn describe(&self) -> String {
        match self {
            FieldKind::Command => "a dotted command identifier".into(),
            FieldKind::Identifier { max_len } => {
                format!("a lowercase identifier of at most {max_len} characters")
            }
            FieldKind::OneOf(values) => format!("one of: {}", values.join(", ")),
            FieldKind::Bool => "true or false".into(),
            FieldKind::Count => "a non-negative whole number".into(),
            FieldKind::RoundedCount => "a non-negative whole number (rounded)".into(),
            FieldKind::DurationMs => "a non-negative duration in milliseconds".into(),
            FieldKind::Number => "a finite number".into(),
            FieldKind::ErrorType => "an error type name".into(),
        }
    }
}

/// Why a host could not register a field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The name is not a lowercase identifier of at most 48 characters.
    #[error(
        "field name {0:?} is not a lowercase identifier (a-z, 0-9, _) of at most 48 characters"
    )]
    InvalidName(String),
    /// The name is one the library sets itself or a built-in field.
    #[error("field {0:?} is reserved and cannot be registered again")]
    Reserved(String),
}

/// The set of fields an event may carry, each with its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    fields: BTreeMap<String, FieldKind>,
}

impl Schema {
    /// The SpecFact schema: the fields of the product document.
    pub fn specfact() -> Schema {
        todo!("schema")
    }

    /// A schema with no metadata fields at all.
    pub fn empty() -> Schema {
        Schema {
            fields: BTreeMap::new(),
        }
    }

    /// Registers a host-specific field. Free text is impossible by construction:
    /// [`FieldKind`] has no such kind.
    pub fn register(&mut self, name: &str, kind: FieldKind) -> Result<&mut Self, SchemaError> {
        let _ = (name, kind);
        todo!("schema")
    }

    /// The kind of `name`, if it is in the schema.
    pub fn kind(&self, name: &str) -> Option<&FieldKind> {
        self.fields.get(name)
    }

    /// Every field and its kind, sorted by name.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &FieldKind)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, kind) in self.fields() {
            writeln!(f, "{name}: {}", kind.describe())?;
        }
        Ok(())
    }
}
