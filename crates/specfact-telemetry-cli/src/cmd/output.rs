//! Helpers shared by the subcommands: colour, tables, times, durations, sizes,
//! debug lines, usage errors and confirmation prompts.

use std::fmt::Display;
use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::SystemTime;

use clap::CommandFactory;
use clap::error::ErrorKind;
use comfy_table::{Attribute, Cell, Color, Table, presets};

/// Exit status of a usage error, as clap uses it.
pub const USAGE: u8 = 2;

/// Prefix of debug lines, the same as the library's.
const DEBUG_PREFIX: &str = "specfact-telemetry:";

/// Whether stdout gets colour: only on a terminal, and never when `NO_COLOR` is set
/// to a non-empty value (<https://no-color.org>).
pub fn stdout_color() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && io::stdout().is_terminal()
}

/// Prints a debug line to stderr when `debug` is on.
pub fn debug(debug: bool, message: impl Display) {
    if debug {
        eprintln!("{DEBUG_PREFIX} {message}");
    }
}

/// Prints a usage error for `subcommand` the way clap prints its own (message, usage
/// line, hint) and returns exit status 2.
pub fn usage_error(subcommand: &str, message: impl Display) -> ExitCode {
    let mut cli = crate::cli::Cli::command();
    cli.build();
    let err = match cli.find_subcommand_mut(subcommand) {
        Some(sub) => sub.error(ErrorKind::InvalidValue, message),
        None => cli.error(ErrorKind::InvalidValue, message),
    };
    let _ = err.print();
    ExitCode::from(USAGE)
}

/// Text from the log made safe for a terminal: control characters (escape sequences
/// included) are shown escaped instead of being interpreted.
pub fn printable(value: &str) -> std::borrow::Cow<'_, str> {
    if value.chars().any(char::is_control) {
        value
            .chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
            .into()
    } else {
        value.into()
    }
}

/// A value made safe to quote in a message: control characters escaped, at most
/// `max` characters.
pub fn quoted(value: &str, max: usize) -> String {
    let mut s: String = value.chars().take(max).collect();
    if value.chars().nth(max).is_some() {
        s.push('…');
    }
    format!("{s:?}")
}

/// A table without borders, styled only when `color` is on. Call [`space_columns`]
/// once its rows are in.
pub fn plain_table(color: bool) -> Table {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING);
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table
}

/// Header cells, bold when colour is on.
pub fn header_cells(header: &[&str], color: bool) -> Vec<Cell> {
    header
        .iter()
        .map(|h| {
            let cell = Cell::new(h);
            if color {
                cell.add_attribute(Attribute::Bold)
            } else {
                cell
            }
        })
        .collect()
}

/// Separates columns by two spaces, the way `ls -l` or `ps` lay out text.
pub fn space_columns(table: &mut Table) {
    let last = table.column_count().saturating_sub(1);
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, if i == last { 0 } else { 2 }));
    }
}

/// A cell in `fg` when colour is on.
pub fn colored(text: impl Display, fg: Color, color: bool) -> Cell {
    let cell = Cell::new(text);
    if color { cell.fg(fg) } else { cell }
}

/// Renders a table without trailing spaces, one line per row.
pub fn render(table: &Table) -> String {
    table
        .lines()
        .map(|l| l.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The name of the local time zone (`TZ`, else the system's): `Europe/Paris`, `UTC`,
/// or `local` when it has none.
pub fn local_zone_name() -> String {
    let zone = jiff::tz::TimeZone::system();
    let name = zone.iana_name().unwrap_or("local");
    name.strip_prefix("Etc/").unwrap_or(name).to_owned()
}

/// A point in time in UTC, to the second: `2026-11-24 06:15:00 UTC`.
pub fn utc_time(t: SystemTime) -> String {
    match jiff::Timestamp::try_from(t) {
        Ok(ts) => ts.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        Err(_) => "–".to_owned(),
    }
}

/// A point in time in the local time zone (`TZ`, else the system's), to the second:
/// `2026-11-24 06:15:00`.
pub fn local_time(t: SystemTime) -> String {
    match jiff::Timestamp::try_from(t) {
        Ok(ts) => ts
            .to_zoned_datetime(jiff::tz::TimeZone::system())
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string(),
        Err(_) => "–".to_owned(),
    }
}

/// A duration in milliseconds for people: `4.4 ms`, `14 ms`, `8.51 s`, `2m 03s`, `1h 02m`.
pub fn human_duration_ms(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        return "–".to_owned();
    }
    if ms < 10.0 {
        return format!("{ms:.1} ms");
    }
    if ms < 999.5 {
        return format!("{ms:.0} ms");
    }
    let secs = ms / 1000.0;
    if secs < 59.995 {
        return format!("{secs:.2} s");
    }
    let whole = secs.round() as u64;
    if whole < 3600 {
        format!("{}m {:02}s", whole / 60, whole % 60)
    } else {
        format!("{}h {:02}m", whole / 3600, (whole % 3600) / 60)
    }
}

/// A size in bytes for people: `812 B`, `3.4 KiB`, `1.2 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

/// `1 event`, `2 events`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Asks a yes/no question on stderr and reads the answer from stdin; only `y` or
/// `yes` (any case) is a yes.
pub fn confirm(question: &str) -> io::Result<bool> {
    eprint!("{question} [y/N] ");
    io::stderr().flush()?;
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Whether an I/O error means the reader of our output went away (`show | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use specfact_telemetry_report::time_bound::{TimeBound, TimeBoundError, parse_age};

    fn parse_since(s: &str) -> Result<SystemTime, TimeBoundError> {
        s.parse::<TimeBound>().map(TimeBound::start)
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration_ms(4.39), "4.4 ms");
        assert_eq!(human_duration_ms(14.19), "14 ms");
        assert_eq!(human_duration_ms(999.4), "999 ms");
        assert_eq!(human_duration_ms(999.6), "1.00 s");
        assert_eq!(human_duration_ms(8511.68), "8.51 s");
        assert_eq!(human_duration_ms(123_000.0), "2m 03s");
        assert_eq!(human_duration_ms(3_720_000.0), "1h 02m");
        assert_eq!(human_duration_ms(-1.0), "–");
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_bytes(812), "812 B");
        assert_eq!(human_bytes(3482), "3.4 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024), "5.0 MiB");
    }

    #[test]
    fn ages_need_a_unit() {
        assert_eq!(parse_age("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_age("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_age("2w"), Ok(Duration::from_secs(14 * 86_400)));
        assert!(parse_age("30").is_err());
        assert!(parse_age("-3d").is_err());
        assert!(parse_age("soon").is_err());
        assert!(parse_age("0d").is_err());
    }

    #[test]
    fn since_takes_dates_times_and_ages() {
        let t = parse_since("2026-11-24T06:15:00Z").unwrap();
        assert_eq!(
            specfact_telemetry::event::format_timestamp(t),
            "2026-11-24T06:15:00.000Z"
        );
        let offset = parse_since("2026-11-24T07:15:00+01:00").unwrap();
        assert_eq!(offset, t);
        assert!(parse_since("2026-11-24").is_ok());
        let week = parse_since("7d").unwrap();
        let age = SystemTime::now().duration_since(week).unwrap();
        assert!(age >= Duration::from_secs(7 * 86_400 - 5));
        for bad in ["yesterday", "2026-13-01", "24/11/2026", "", "7"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quoting_escapes_and_cuts() {
        assert_eq!(quoted("a\u{1b}b", 10), "\"a\\u{1b}b\"");
        assert_eq!(quoted("abcdef", 3), "\"abc…\"");
    }
}
