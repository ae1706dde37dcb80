"""The Pythonic API: `Telemetry.track`, the `command` decorator and `record`."""

from __future__ import annotations

import pytest
from conftest import read_events
from specfact_telemetry import Telemetry


@pytest.fixture
def telemetry(monkeypatch, home):
    monkeypatch.setenv("HOME", str(home))
    for var in ("PYTEST_CURRENT_TEST", "TEST_MODE", "DO_NOT_TRACK", "SPECFACT_TELEMETRY_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SPECFACT_TELEMETRY_OPT_IN", "true")
    return Telemetry(cli_version="2.3.4")


def log(home):
    return read_events(home / ".specfact" / "telemetry.log")


def test_off_in_a_test_environment(monkeypatch):
    monkeypatch.setenv("SPECFACT_TELEMETRY_OPT_IN", "true")
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "x")
    t = Telemetry()
    assert not t.enabled and t.session_id is None


def test_track_records_one_event(telemetry, home):
    assert telemetry.enabled
    with telemetry.track("repro.run", {"mode": "repro"}) as record:
        record({"checks_total": 6, "checks_failed": 2, "violations_detected": 2})
    [event] = log(home)
    assert event["cli_version"] == "2.3.4"
    assert event["session_id"] == telemetry.session_id
    assert (event["checks_total"], event["checks_failed"], event["violations_detected"]) == (6, 2, 2)


def test_the_decorator_tracks_each_call_and_record_reaches_the_running_command(telemetry, home):
    @telemetry.command("plan.review", mode="interactive")
    def review(fail):
        Telemetry.record({"features_detected": 3})
        if fail:
            raise RuntimeError("in /home/ada/project")
        return "done"

    assert review(False) == "done"
    with pytest.raises(RuntimeError):
        review(True)
    Telemetry.record({"mode": "outside"})  # no running command: ignored
    first, second = log(home)
    assert (first["success"], first["mode"], first["features_detected"]) == (True, "interactive", 3)
    assert (second["success"], second["error"]) == (False, "RuntimeError")
    assert review.__name__ == "review"


def test_nested_blocks_record_into_the_innermost(telemetry, home):
    with telemetry.track("plan.init"):
        with telemetry.track("plan.add-feature"):
            Telemetry.record({"features_detected": 1})
        Telemetry.record({"mode": "outer"})
    inner, outer = log(home)
    assert inner["command"] == "plan.add-feature" and inner["features_detected"] == 1
    assert outer["command"] == "plan.init" and outer["mode"] == "outer"
