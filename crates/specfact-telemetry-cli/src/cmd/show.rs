//! `show`: the most recent events of the local log, as a table or as JSON lines, and
//! optionally every event appended afterwards.
//!
//! Reading is streaming with a ring buffer of the requested size, so memory does not
//! grow with the log. Lines that are not events are counted and reported, never fatal;
//! logs written by the Python tool (no timestamps) are shown as they are.

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{self, Write};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use comfy_table::{CellAlignment, Color, ColumnConstraint, Table, Width};
use specfact_telemetry::file_identity::FileId;
use specfact_telemetry::log::LogLine;
use specfact_telemetry::{Event, FieldValue, LocalLog};
use specfact_telemetry_report::time_bound::{TimeBound, TimeRange};

use super::{output, report};
use crate::context::Context;

/// How often `--follow` looks for new events.
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// How many malformed line numbers a footer lists.
const MAX_LISTED_LINES: usize = 10;
/// How many event ids `--follow` remembers to avoid repeating events when the log is
/// replaced (a purge of old events rewrites it).
const MAX_REMEMBERED_IDS: usize = 100_000;

/// Arguments of `show`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many of the most recent events to show (0 with `--follow`: only new ones).
    #[arg(short = 'n', long = "last", value_name = "N", default_value_t = 20)]
    pub last: usize,

    /// Print the events as JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Keep printing events as they are recorded, until interrupted (Ctrl-C).
    #[arg(short = 'f', long)]
    pub follow: bool,

    /// Only events recorded at or after DATE: `2026-11-24` (from midnight UTC), an RFC 3339
    /// time (`2026-11-24T06:15:00Z`) or an age (`7d`, `12h`).
    #[arg(long, value_name = "DATE", allow_hyphen_values = true, value_parser = TimeBound::from_str)]
    pub since: Option<TimeBound>,

    /// Only events recorded up to and including DATE: `2026-11-24` (the whole UTC day), an
    /// RFC 3339 time or an age (`7d`: a week ago).
    #[arg(long, value_name = "DATE", allow_hyphen_values = true, value_parser = TimeBound::from_str)]
    pub until: Option<TimeBound>,
}

/// Runs `show`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let log = ctx.local_log().context(
        "there is no local log: the home directory is unknown and no local_path is configured",
    )?;
    let color = !args.json && output::stdout_color();
    let mut out = io::stdout().lock();
    let mut view = View::new(args, color);
    match show(args, ctx, &log, &mut view, &mut out) {
        Err(e) if output::is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        other => other,
    }
}

fn show(
    args: &Args,
    ctx: &Context,
    log: &LocalLog,
    view: &mut View,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let path = log.path().display().to_string();
    let range = report::time_range("show", args.since, args.until);
    if !log.path().exists() {
        let message = nothing_yet(ctx, &path);
        if args.follow {
            eprintln!("{message}\nWaiting for events (Ctrl-C to stop)…");
            view.header(out)?;
            out.flush()?;
            match follow(log, Position::default(), SeenIds::default(), view, out)? {}
        }
        if args.json {
            eprintln!("{message}");
        } else {
            writeln!(out, "{message}")?;
        }
        return Ok(ExitCode::SUCCESS);
    }

    let raw = RawLines::open(log.path());
    let scan = Scan::read(log, range, args.last, args.follow)?;
    view.table(&scan.recent, &raw, out)?;
    if !args.json && !args.follow {
        if scan.matching == 0 {
            match (range.since, range.until) {
                (Some(since), None) => writeln!(
                    out,
                    "No events recorded since {} in {path}.",
                    output::utc_time(since)
                )?,
                (None, Some(until)) => writeln!(
                    out,
                    "No events recorded before {} in {path}.",
                    output::utc_time(until)
                )?,
                (Some(since), Some(until)) => writeln!(
                    out,
                    "No events recorded from {} to before {} in {path}.",
                    output::utc_time(since),
                    output::utc_time(until)
                )?,
                (None, None) => writeln!(out, "No events in {path}.")?,
            }
        } else if scan.matching > scan.recent.len() as u64 {
            writeln!(
                out,
                "{}{} of {} shown; use -n to see more.",
                if scan.recent.is_empty() { "" } else { "\n" },
                scan.recent.len(),
                output::plural(scan.matching, "event", "events")
            )?;
        }
    }
    out.flush()?;
    report_malformed(scan.malformed, &scan.malformed_lines);
    if scan.without_timestamp > 0 {
        eprintln!(
            "{} without a timestamp (written by an older tool) left out by {}",
            output::plural(scan.without_timestamp, "event", "events"),
            if range.since.is_some() {
                "--since"
            } else {
                "--until"
            }
        );
    }
    if args.follow {
        if !ctx.settings.enabled {
            let why = ctx
                .settings
                .disabled_reason
                .as_ref()
                .map_or_else(|| "off".to_owned(), ToString::to_string);
            eprintln!("note: telemetry is disabled ({why}), so no new events will be recorded");
        }
        match follow(log, scan.position, scan.seen, view, out)? {}
    }
    Ok(ExitCode::SUCCESS)
}

/// The friendly message for a log that does not exist yet.
fn nothing_yet(ctx: &Context, path: &str) -> String {
    let s = &ctx.settings;
    let state = if s.enabled {
        format!(
            "Telemetry is enabled ({}); the next recorded command will create it.",
            s.enabled_source
        )
    } else {
        let why = s
            .disabled_reason
            .as_ref()
            .map_or_else(|| "off".to_owned(), ToString::to_string);
        format!(
            "Telemetry is disabled ({why}). To opt in: specfact-telemetry enable, or SPECFACT_TELEMETRY_OPT_IN=true."
        )
    };
    format!("Telemetry has recorded nothing yet: there is no log at {path}.\n{state}")
}

fn report_malformed(count: u64, lines: &[u64]) {
    if count == 0 {
        return;
    }
    let mut listed: Vec<String> = lines.iter().map(u64::to_string).collect();
    if count > lines.len() as u64 {
        listed.push("…".to_owned());
    }
    eprintln!(
        "{} skipped ({} {})",
        output::plural(count, "malformed line", "malformed lines"),
        if count == 1 { "line" } else { "lines" },
        listed.join(", ")
    );
}

/// Where reading stopped: just past the last complete line, in the file read.
#[derive(Debug, Clone, Copy, Default)]
struct Position {
    offset: u64,
    /// Line number of the last line consumed (blank lines count, as in an editor).
    line_no: u64,
    /// The file read, to notice when it is replaced.
    file: Option<FileId>,
}

/// What one pass over the log found.
struct Scan {
    recent: VecDeque<Shown>,
    matching: u64,
    malformed: u64,
    malformed_lines: Vec<u64>,
    without_timestamp: u64,
    position: Position,
    /// Ids of the events read, for `--follow`.
    seen: SeenIds,
}

impl Scan {
    fn read(
        log: &LocalLog,
        range: TimeRange,
        keep: usize,
        remember_ids: bool,
    ) -> anyhow::Result<Scan> {
        let file = FileId::of_path(log.path());
        let mut scan = Scan {
            recent: VecDeque::new(),
            matching: 0,
            malformed: 0,
            malformed_lines: Vec::new(),
            without_timestamp: 0,
            position: Position {
                file,
                ..Position::default()
            },
            seen: SeenIds::default(),
        };
        let reader = log
            .read()
            .with_context(|| format!("cannot read {}", log.path().display()))?;
        for line in reader {
            let line = line.with_context(|| format!("cannot read {}", log.path().display()))?;
            if !line.complete {
                // A line being appended right now; read again later.
                break;
            }
            scan.position.offset = line.end;
            scan.position.line_no = line.line_no;
            match line.entry {
                Ok(event) => {
                    if let (true, Some(id)) = (remember_ids, event.event_id) {
                        scan.seen.insert(id.as_u128());
                    }
                    if !range.contains(event.timestamp) {
                        scan.without_timestamp += u64::from(event.timestamp.is_none());
                        continue;
                    }
                    scan.matching += 1;
                    if keep > 0 {
                        if scan.recent.len() == keep {
                            scan.recent.pop_front();
                        }
                        scan.recent.push_back(Shown {
                            event,
                            offset: line.offset,
                            end: line.end,
                        });
                    }
                }
                Err(_) => {
                    scan.malformed += 1;
                    if scan.malformed_lines.len() < MAX_LISTED_LINES {
                        scan.malformed_lines.push(line.line_no);
                    }
                }
            }
        }
        Ok(scan)
    }
}

/// Polls the log for new complete lines and prints their events, until interrupted;
/// returns only on an error.
///
/// A log that is truncated or deleted is read again from its start. A log that is
/// replaced (a purge of old events rewrote it) is read from its start too, but the
/// events it kept were read already: `seen` holds the ids of the events read so far, and
/// lines without an id that were in the new file when it was noticed are skipped.
fn follow(
    log: &LocalLog,
    mut at: Position,
    mut seen: SeenIds,
    view: &mut View,
    out: &mut impl Write,
) -> anyhow::Result<std::convert::Infallible> {
    // Lines of a replaced file up to this offset may have been read already.
    let mut replay_until = 0u64;
    loop {
        std::thread::sleep(POLL_INTERVAL);
        let Ok(meta) = std::fs::metadata(log.path()) else {
            // Deleted (purged): start over when it comes back.
            at = Position::default();
            replay_until = 0;
            continue;
        };
        let (id, len) = (FileId::of(&meta), meta.len());
        if at.file.is_some() && at.file != id {
            replay_until = len;
            at = Position {
                file: id,
                ..Position::default()
            };
        } else if len < at.offset {
            replay_until = 0;
            at = Position {
                file: id,
                ..Position::default()
            };
        }
        at.file = id;
        if len == at.offset {
            continue;
        }
        let raw = RawLines::open(log.path());
        let reader = log
            .read_from(at.offset)
            .with_context(|| format!("cannot read {}", log.path().display()))?;
        let base = at.line_no;
        let mut malformed = Vec::new();
        for line in reader {
            let line: LogLine =
                line.with_context(|| format!("cannot read {}", log.path().display()))?;
            if !line.complete {
                break;
            }
            at.offset = line.end;
            at.line_no = base + line.line_no;
            match line.entry {
                Ok(event) => {
                    let fresh = match event.event_id {
                        Some(id) => seen.insert(id.as_u128()),
                        None => line.end > replay_until,
                    };
                    if fresh {
                        let shown = Shown {
                            event,
                            offset: line.offset,
                            end: line.end,
                        };
                        view.row(&shown, &raw, out)?;
                    }
                }
                Err(_) => malformed.push(at.line_no),
            }
        }
        out.flush()?;
        let listed: Vec<u64> = malformed.iter().copied().take(MAX_LISTED_LINES).collect();
        report_malformed(malformed.len() as u64, &listed);
    }
}

/// Ids of the events read, bounded (a few megabytes at most): when full it forgets the
/// oldest, which a purge of old events is the first to delete anyway.
#[derive(Default)]
struct SeenIds {
    set: HashSet<u128>,
    order: VecDeque<u128>,
}

impl SeenIds {
    /// Remembers `id`; whether it was new.
    fn insert(&mut self, id: u128) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > MAX_REMEMBERED_IDS
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

/// An event to show and where its line is.
struct Shown {
    event: Event,
    offset: u64,
    end: u64,
}

/// Reads lines back byte for byte, so `--json` prints them exactly as they are in the
/// log (key order, number formatting and keys this tool does not know included).
struct RawLines(Option<File>);

impl RawLines {
    fn open(path: &std::path::Path) -> Self {
        RawLines(File::open(path).ok())
    }

    /// Prints the line of `shown` as it is in the file; if it cannot be read back as the
    /// same event (the file changed meanwhile), the event as this tool writes it.
    fn write(&self, shown: &Shown, out: &mut impl Write) -> io::Result<()> {
        match self.read(shown) {
            Some(bytes) => {
                out.write_all(&bytes)?;
                out.write_all(b"\n")
            }
            None => writeln!(out, "{}", shown.event.to_json_line()),
        }
    }

    fn read(&self, shown: &Shown) -> Option<Vec<u8>> {
        let file = self.0.as_ref()?;
        let len = usize::try_from(shown.end.checked_sub(shown.offset)?).ok()?;
        let mut bytes = vec![0u8; len];
        read_at(file, &mut bytes, shown.offset).ok()?;
        while bytes.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
            bytes.pop();
        }
        (Event::from_json_line(&bytes).ok()? == shown.event).then_some(bytes)
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_at(mut file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

/// Prints events as a table (with the same column widths for rows that follow) or
/// as JSON lines.
struct View {
    json: bool,
    color: bool,
    follow: bool,
    /// Column widths (content plus padding) once the header has been printed.
    widths: Option<Vec<u16>>,
    /// The time zone the times are shown in, named in the header.
    zone: String,
}

const HEADER: [&str; 5] = ["TIME", "COMMAND", "RESULT", "DURATION", "COUNTS"];
/// Column widths `--follow` starts from, so later rows line up when the first are short.
const FOLLOW_MIN_WIDTHS: [u16; 5] = [21, 22, 16, 10, 0];

impl View {
    fn new(args: &Args, color: bool) -> Self {
        View {
            json: args.json,
            color,
            follow: args.follow,
            widths: None,
            zone: output::local_zone_name(),
        }
    }

    fn build<'a>(&self, header: bool, events: impl IntoIterator<Item = &'a Event>) -> Table {
        let mut table = output::plain_table(self.color);
        if header {
            let time = format!("{} ({})", HEADER[0], self.zone);
            let mut header = HEADER;
            header[0] = &time;
            table.set_header(output::header_cells(&header, self.color));
        }
        for e in events {
            table.add_row(self.cells(e));
        }
        output::space_columns(&mut table);
        if let Some(duration) = table.column_mut(3) {
            duration.set_cell_alignment(CellAlignment::Right);
        }
        if let Some(widths) = &self.widths {
            table.set_constraints(
                widths
                    .iter()
                    .map(|w| ColumnConstraint::LowerBoundary(Width::Fixed(*w))),
            );
        }
        table
    }

    /// Prints the header alone (`--follow` on a log with nothing to show yet).
    fn header(&mut self, out: &mut impl Write) -> io::Result<()> {
        self.table(&VecDeque::new(), &RawLines(None), out)
    }

    fn table(
        &mut self,
        events: &VecDeque<Shown>,
        raw: &RawLines,
        out: &mut impl Write,
    ) -> io::Result<()> {
        if self.json {
            for e in events {
                raw.write(e, out)?;
            }
            return Ok(());
        }
        if events.is_empty() && !self.follow {
            return Ok(());
        }
        let events = events.iter().map(|s| &s.event);
        let mut table = self.build(true, events.clone());
        if self.follow {
            let widths: Vec<u16> = table
                .column_max_content_widths()
                .iter()
                .zip(FOLLOW_MIN_WIDTHS)
                .enumerate()
                .map(|(i, (w, min))| {
                    let padded = if i + 1 == HEADER.len() { *w } else { w + 2 };
                    padded.max(min)
                })
                .collect();
            self.widths = Some(widths);
            table = self.build(true, events);
        }
        writeln!(out, "{}", output::render(&table))
    }

    fn row(&mut self, shown: &Shown, raw: &RawLines, out: &mut impl Write) -> io::Result<()> {
        if self.json {
            return raw.write(shown, out);
        }
        let table = self.build(false, [&shown.event]);
        writeln!(out, "{}", output::render(&table))
    }

    fn cells(&self, e: &Event) -> Vec<comfy_table::Cell> {
        let time = e
            .timestamp
            .map_or_else(|| "–".to_owned(), output::local_time);
        let result = if e.success {
            output::colored("ok", Color::Green, self.color)
        } else {
            let text = match &e.error {
                Some(error) => format!("failed: {}", output::printable(error)),
                None => "failed".to_owned(),
            };
            output::colored(text, Color::Red, self.color)
        };
        vec![
            comfy_table::Cell::new(time),
            comfy_table::Cell::new(output::printable(&e.command)),
            result,
            comfy_table::Cell::new(output::human_duration_ms(e.duration_ms)),
            comfy_table::Cell::new(counts(e)),
        ]
    }
}

/// The event's whole-number fields, compactly: `files=140 features=27`.
fn counts(e: &Event) -> String {
    e.fields
        .iter()
        .filter_map(|(k, v)| match v {
            FieldValue::Int(n) => Some(format!("{}={n}", output::printable(short_name(k)))),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn short_name(key: &str) -> &str {
    match key {
        "files_analyzed" => "files",
        "features_detected" => "features",
        "stories_detected" => "stories",
        "violations_detected" => "violations",
        "checks_total" => "checks",
        other => other,
    }
}
