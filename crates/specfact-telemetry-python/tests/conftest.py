"""Shared fixtures: a scratch home directory and helpers to read the local log.

pytest sets PYTEST_CURRENT_TEST, which switches telemetry resolved from the environment
off (as it must for a host's test suite). Tests of enabled telemetry either build
settings explicitly, as SpecFact's own tests do, or run a fresh interpreter with an
environment they choose.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from specfact_telemetry.compat import TelemetryManager, TelemetrySettings


def read_events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "telemetry.log"


@pytest.fixture
def manager(log_path: Path) -> TelemetryManager:
    return TelemetryManager(TelemetrySettings(enabled=True, local_path=log_path, opt_in_source="env"))


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The current environment without test markers or telemetry settings, HOME=home."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTEST_CURRENT_TEST", "TEST_MODE", "DO_NOT_TRACK"} and not k.startswith("SPECFACT_TELEMETRY_")
    }
    env["HOME"] = str(home)
    env.update(extra)
    return env


def run_python(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
