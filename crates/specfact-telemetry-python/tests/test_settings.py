"""`TelemetrySettings`: a frozen dataclass built by keyword, and `from_env()` reading the
module globals `OPT_IN_FILE` and `TELEMETRY_CONFIG_FILE` at call time."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import specfact_telemetry.compat as compat
from specfact_telemetry.compat import TelemetrySettings


def from_env(monkeypatch) -> TelemetrySettings:
    """`from_env()` outside the test environment (pytest sets PYTEST_CURRENT_TEST for
    the test's body, after fixtures ran)."""
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    return TelemetrySettings.from_env()


@pytest.fixture
def files(tmp_path, monkeypatch, home):
    """Module globals pointed at scratch files, HOME at a scratch directory."""
    monkeypatch.setenv("HOME", str(home))
    for var in ("TEST_MODE", "DO_NOT_TRACK"):
        monkeypatch.delenv(var, raising=False)
    for var in ("OPT_IN", "ENDPOINT", "HEADERS", "LOCAL_PATH", "DEBUG"):
        monkeypatch.delenv(f"SPECFACT_TELEMETRY_{var}", raising=False)
    opt_in = tmp_path / "flags" / "telemetry.opt-in"
    config = tmp_path / "flags" / "telemetry.yaml"
    opt_in.parent.mkdir()
    monkeypatch.setattr(compat, "OPT_IN_FILE", opt_in)
    monkeypatch.setattr(compat, "TELEMETRY_CONFIG_FILE", config)
    return opt_in, config


def test_defaults_and_frozen():
    s = TelemetrySettings(enabled=False)
    assert dataclasses.is_dataclass(s)
    assert (s.endpoint, s.headers, s.local_path, s.debug, s.opt_in_source) == (
        None,
        {},
        compat.DEFAULT_LOCAL_LOG,
        False,
        "disabled",
    )
    assert compat.DEFAULT_LOCAL_LOG == Path.home() / ".specfact" / "telemetry.log"
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.enabled = True  # type: ignore[misc]
    assert "violations_detected" in compat.ALLOWED_FIELDS
    assert len(compat.ALLOWED_FIELDS) == 17


def test_off_without_any_opt_in(files, monkeypatch):
    s = from_env(monkeypatch)
    assert s.enabled is False
    assert s.opt_in_source == "disabled"


def test_the_opt_in_file_global_is_read_at_call_time(files, monkeypatch):
    opt_in, _ = files
    opt_in.write_text("yes\n")
    s = from_env(monkeypatch)
    assert (s.enabled, s.opt_in_source) == (True, "file")


def test_the_config_file_global_is_read_at_call_time(files, monkeypatch, home, tmp_path):
    _, config = files
    config.write_text(
        "enabled: true\n"
        "endpoint: http://127.0.0.1:4318/v1/traces\n"
        "headers:\n  x-team: blue\n"
        f"local_path: {tmp_path / 'elsewhere.log'}\n"
        "debug: false\n"
    )
    s = from_env(monkeypatch)
    assert (s.enabled, s.opt_in_source) == (True, "config")
    assert s.endpoint == "http://127.0.0.1:4318/v1/traces"
    assert s.headers == {"x-team": "blue"}
    assert s.local_path == tmp_path / "elsewhere.log"


def test_the_environment_decides_before_the_files(files, monkeypatch):
    opt_in, _ = files
    opt_in.write_text("true")
    monkeypatch.setenv("SPECFACT_TELEMETRY_OPT_IN", "false")
    assert from_env(monkeypatch).enabled is False  # the original said True here
    monkeypatch.setenv("SPECFACT_TELEMETRY_OPT_IN", "true")
    monkeypatch.setenv("SPECFACT_TELEMETRY_HEADERS", "Authorization: Bearer abc, x-b: 2")
    s = from_env(monkeypatch)
    assert (s.enabled, s.opt_in_source) == (True, "env")
    assert s.headers == {"Authorization": "Bearer abc", "x-b": "2"}


@pytest.mark.parametrize(("var", "value"), [("TEST_MODE", "true"), ("PYTEST_CURRENT_TEST", "x"), ("DO_NOT_TRACK", "1")])
def test_test_environments_and_do_not_track_switch_it_off(files, monkeypatch, var, value):
    monkeypatch.setenv("SPECFACT_TELEMETRY_OPT_IN", "true")
    assert from_env(monkeypatch).enabled is True
    monkeypatch.setenv(var, value)
    s = TelemetrySettings.from_env()
    assert (s.enabled, s.opt_in_source) == (False, "disabled")


def test_a_manager_uses_the_settings_it_is_given(files, tmp_path):
    log = tmp_path / "given.log"
    manager = compat.TelemetryManager(TelemetrySettings(enabled=True, local_path=log))
    with manager.track_command("plan.init"):
        pass
    assert log.exists()
    assert manager.last_event["opt_in_source"] == "disabled"  # as given
