"""`TelemetryManager.track_command`: what each way of leaving a block records."""

from __future__ import annotations

import io
import re

import pytest
from conftest import read_events
from specfact_telemetry.compat import TelemetryManager, TelemetrySettings

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def test_a_successful_block_writes_one_event_with_our_fields(manager, log_path):
    assert manager.last_event is None
    with manager.track_command("import.from_code", {"mode": "cicd", "repo": "/srv/acme"}) as record:
        record({"files_analyzed": 143, "features_detected": 7})
        record(None)
    [event] = read_events(log_path)
    assert event == manager.last_event
    assert event["command"] == "import.from_code"
    assert event["success"] is True
    assert "error" not in event
    assert event["mode"] == "cicd"
    assert event["files_analyzed"] == 140  # rounded to two significant digits
    assert event["features_detected"] == 7
    assert "repo" not in event  # not an allowed field
    assert event["telemetry_version"] == TelemetryManager.TELEMETRY_VERSION == "1.0"
    assert event["opt_in_source"] == "env"
    assert isinstance(event["duration_ms"], float)
    assert TIMESTAMP.match(event["timestamp"])
    assert UUID.match(event["event_id"])
    assert re.fullmatch(r"[0-9a-f]{32}", event["session_id"])


def test_an_exception_records_its_class_name_and_propagates(manager, log_path):
    with pytest.raises(FileNotFoundError):
        with manager.track_command("plan.init") as record:
            try:
                open("/nonexistent/home/ada/plan.yaml")
            except OSError as e:
                # SpecFact does this; the message (with its path) must not be kept.
                record({"error": str(e)})
                raise
    [event] = read_events(log_path)
    assert event["success"] is False
    assert event["error"] == "FileNotFoundError"


def test_an_error_message_recorded_on_success_is_dropped(manager, log_path):
    with manager.track_command("init") as record:
        record({"error": "WARNING: pip is configured in /home/ada/.config/pip"})
    [event] = read_events(log_path)
    assert event["success"] is True
    assert "error" not in event


@pytest.mark.parametrize("stop", [SystemExit(2), SystemExit(0), KeyboardInterrupt()])
def test_exit_and_interrupt_record_failure_without_error(manager, log_path, stop):
    with pytest.raises(type(stop)):
        with manager.track_command("enforce.stage"):
            raise stop
    [event] = read_events(log_path)
    assert event["success"] is False
    assert "error" not in event


def test_usable_in_a_multi_item_with(manager, log_path, tmp_path):
    out = tmp_path / "report.md"
    with (
        open(out, "w") as handle,
        manager.track_command("plan.compare", {"mode": "cicd"}) as record,
        io.StringIO() as buffer,
    ):
        handle.write("x")
        buffer.write("y")
        record({"total_deviations": 3})
    [event] = read_events(log_path)
    assert event["command"] == "plan.compare"
    assert event["violations_detected"] == 3
    assert "total_deviations" not in event


@pytest.mark.parametrize(
    ("command", "metadata", "expected"),
    [
        ("drift.detect", {"total_issues": 5, "contract_violations": 2}, 5),
        ("plan.compare", {"total_deviations": 4}, 4),
        ("enforce.sdd", {"passed": False, "deviations": 6}, 6),
        ("enforce.sdd", {"deviations": 0}, 0),
        ("repro.run", {"violations_detected": 2, "deviations": 9}, 2),
        ("sync.bridge", {"deviations": 9}, None),
        ("plan.compare", {"total_deviations": 4, "violations_detected": 1}, 1),
    ],
)
def test_findings_become_violations_detected_for_their_commands_only(manager, log_path, command, metadata, expected):
    with manager.track_command(command) as record:
        record(metadata)
    [event] = read_events(log_path)
    assert event.get("violations_detected") == expected
    assert not {"total_issues", "contract_violations", "total_deviations", "deviations", "passed"} & set(event)


def test_nothing_raised_when_the_log_cannot_be_written(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    manager = TelemetryManager(TelemetrySettings(enabled=True, local_path=blocker / "telemetry.log"))
    with manager.track_command("plan.init") as record:
        record({"mode": "x"})
        record("not a mapping")  # type: ignore[arg-type]
    assert manager.last_event is None


def test_odd_values_never_raise(manager, log_path):
    with manager.track_command("analyze.contracts", {"files_analyzed": 2**80}) as record:
        record({"mode": object(), "checks_total": [1, 2, 3], "shadow_mode": True, "checks_failed": 1.5})
        record({1: 2})  # type: ignore[dict-item]
    [event] = read_events(log_path)
    assert "files_analyzed" not in event
    assert "mode" not in event
    assert event["checks_total"] == 3  # a list counts as its length
    assert event["shadow_mode"] is True


def test_a_disabled_manager_yields_a_record_that_keeps_nothing(tmp_path):
    manager = TelemetryManager(TelemetrySettings(enabled=False, local_path=tmp_path / "t.log"))
    assert not manager.enabled
    with pytest.raises(ValueError):
        with manager.track_command("plan.init") as record:
            record({"mode": "x"})
            raise ValueError
    assert manager.last_event is None
    assert list(tmp_path.iterdir()) == []
