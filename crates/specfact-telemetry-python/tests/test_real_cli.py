"""The real SpecFact CLI 0.20.5 running on `specfact_telemetry.compat`.

Each command runs in a scratch git repository with a scratch home directory, through a
launcher that puts our compat module in `sys.modules["specfact_cli.telemetry"]` before
SpecFact is imported. Skipped where specfact-cli is not installed, unless
SPECFACT_REQUIRE_SPECFACT_CLI=1 (as the test script sets).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import clean_env, read_events

LAUNCHER = Path(__file__).parent / "support" / "specfact_launcher.py"

if importlib.util.find_spec("specfact_cli") is None:
    if os.environ.get("SPECFACT_REQUIRE_SPECFACT_CLI") == "1":
        raise RuntimeError("specfact-cli is not installed, and SPECFACT_REQUIRE_SPECFACT_CLI=1")
    pytest.skip("specfact-cli is not installed", allow_module_level=True)

COMMANDS = [
    (["init", "--repo", "."], "init"),
    (["plan", "init", "demo", "--no-interactive"], "plan.init"),
    (["enforce", "stage", "--preset", "strict"], "enforce.stage"),
    (["--mode", "cicd", "import", "from-code", "demo", "--repo", "."], "import.from_code"),
]


def holds_a_path(value, *places: Path) -> bool:
    if not isinstance(value, str):
        return False
    return "/" in value or "\\" in value or any(p.name in value for p in places)


def test_real_specfact_commands_record_through_compat(tmp_path):
    home, repo = tmp_path / "home", tmp_path / "repo"
    home.mkdir()
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / "payments.py").write_text("def charge(amount):\n    return amount * 100\n")
    env = clean_env(home, SPECFACT_TELEMETRY_OPT_IN="true")
    for args, _ in COMMANDS:
        done = subprocess.run(
            [sys.executable, str(LAUNCHER), "--no-banner", *args],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"specfact {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        assert "specfact-telemetry" not in done.stderr + done.stdout  # nothing printed by us

    events = read_events(home / ".specfact" / "telemetry.log")
    assert [e["command"] for e in events] == [command for _, command in COMMANDS]
    for event in events:
        assert event["timestamp"] and event["event_id"]
        assert event["cli_version"] == "0.20.5"
        assert event["opt_in_source"] == "env"
        assert event["success"] is True
        bad = {k: v for k, v in event.items() if holds_a_path(v, home, repo, tmp_path)}
        assert not bad, f"values holding a path: {bad}"
    imported = events[-1]
    assert (imported["mode"], imported["files_analyzed"]) == ("cicd", 1)
