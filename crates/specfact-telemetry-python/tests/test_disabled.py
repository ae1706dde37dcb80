"""Disabled means off: importing, tracking and finishing create nothing."""

from __future__ import annotations

import pytest
from conftest import clean_env, run_python

CODE = """
import specfact_telemetry.compat as c
from specfact_telemetry import Telemetry
assert not c.telemetry.enabled, "the singleton is on"
with c.telemetry.track_command("plan.init", {"mode": "x"}) as record:
    record({"files_analyzed": 3})
t = Telemetry("1.0")
assert not t.enabled
with t.track("plan.init") as record:
    record({"mode": "x"})
import threading, os
assert threading.active_count() == 1, threading.enumerate()
print("ok", c.telemetry.last_event)
"""


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"SPECFACT_TELEMETRY_OPT_IN": "false"},
        {"SPECFACT_TELEMETRY_OPT_IN": "true", "TEST_MODE": "true"},
        {"SPECFACT_TELEMETRY_OPT_IN": "true", "PYTEST_CURRENT_TEST": "t.py::x (call)"},
        {"SPECFACT_TELEMETRY_OPT_IN": "true", "DO_NOT_TRACK": "1"},
    ],
)
def test_disabled_creates_nothing(home, extra):
    done = run_python(CODE, clean_env(home, **extra))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok None"
    assert done.stderr == ""
    assert list(home.iterdir()) == []


def test_the_singleton_is_on_when_opted_in(home):
    code = """
import specfact_telemetry.compat as c
with c.telemetry.track_command("plan.init"):
    pass
print(c.telemetry.last_event["command"])
"""
    done = run_python(code, clean_env(home, SPECFACT_TELEMETRY_OPT_IN="true"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "plan.init"
    assert (home / ".specfact" / "telemetry.log").exists()
