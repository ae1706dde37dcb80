//! The two files that can opt in (`telemetry.yaml` and `telemetry.opt-in`) and what each
//! says, as `status`, `enable`, `disable` and `doctor` show them.

use serde_json::{Value as Json, json};
use specfact_telemetry::Settings;
use specfact_telemetry::settings::{FileSays, OptInFiles};

/// One row per file: (name, path, what it says).
pub fn rows(files: &OptInFiles) -> Vec<(&'static str, String, String)> {
    vec![
        (
            "config",
            files.config.display().to_string(),
            files.config_says.describe(true),
        ),
        (
            "opt-in",
            files.opt_in.display().to_string(),
            files.opt_in_says.describe(false),
        ),
    ]
}

/// Rows as aligned lines: `  config  PATH  what it says`, then the note, if any.
pub fn table(rows: &[(&str, String, String)], note: Option<&str>, indent: &str) -> String {
    let name_w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let path_w = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, path, says) in rows {
        out.push_str(&format!(
            "{indent}{name:<name_w$}  {path:<path_w$}  {says}\n"
        ));
    }
    if let Some(note) = note {
        for (i, line) in note.lines().enumerate() {
            let lead = if i == 0 { "Note: " } else { "      " };
            out.push_str(&format!("{indent}{lead}{line}\n"));
        }
    }
    out
}

/// Both files as aligned lines, with the note when they disagree.
pub fn text(files: &OptInFiles, indent: &str) -> String {
    table(&rows(files), note(files), indent)
}

/// A sentence when the two files disagree in a way that surprises: `enabled: false`
/// while the opt-in file says true still records.
pub fn note(files: &OptInFiles) -> Option<&'static str> {
    match (&files.config_says, &files.opt_in_says) {
        (FileSays::Off | FileSays::Unrecognized, FileSays::On) => Some(
            "`enabled: false` leaves the decision to the opt-in file, which says true,\n\
             so telemetry records. `specfact-telemetry disable` turns both off.",
        ),
        _ => None,
    }
}

/// The `files` object of the `--json` outputs.
pub fn json(files: &OptInFiles) -> Json {
    let one = |path: &std::path::Path, says: &FileSays, config: bool| {
        json!({
            "path": path.display().to_string(),
            "exists": !matches!(says, FileSays::Absent),
            "says": says.code(),
            "description": says.describe(config),
        })
    };
    json!({
        "config": one(&files.config, &files.config_says, true),
        "opt_in": one(&files.opt_in, &files.opt_in_says, false),
        "note": note(files),
    })
}

/// The files for `settings`, or `null` in JSON when there is no home directory.
pub fn json_for(settings: &Settings) -> Json {
    settings.opt_in_files().as_ref().map_or(Json::Null, json)
}
