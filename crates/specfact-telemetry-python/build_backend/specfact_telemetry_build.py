"""PEP 517 backend: maturin, after building the `specfact-telemetry` program.

maturin puts one kind of Rust artifact in a wheel: here, the PyO3 extension. The
`specfact-telemetry` program (crates/specfact-telemetry-cli) is built first with cargo,
into the same target directory and with the same cargo profile, and copied to
`wheel-data/scripts/`, which maturin ships as the wheel's scripts: pip installs it on
PATH. Every other hook is maturin's own.

Run as a script (`python build_backend/specfact_telemetry_build.py [--profile P]`) it only
stages the program, before a plain `maturin build`.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import maturin
from maturin import (  # noqa: F401 - PEP 517 hooks re-exported as they are
    build_sdist,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
)

HERE = Path(__file__).resolve().parent.parent
PROGRAM = "specfact-telemetry.exe" if os.name == "nt" else "specfact-telemetry"


def _profile_from_maturin_args(config_settings) -> str:
    args = maturin.get_maturin_pep517_args(config_settings)
    for i, arg in enumerate(args):
        if arg == "--profile" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--profile="):
            return arg.split("=", 1)[1]
    return "release"


def stage_program(profile: str = "release") -> Path:
    """Builds the program with `profile` and copies it to wheel-data/scripts/."""
    command = [
        os.environ.get("CARGO", "cargo"),
        "build",
        "--package",
        "specfact-telemetry-cli",
        "--bin",
        "specfact-telemetry",
        "--profile",
        profile,
        "--message-format",
        "json-render-diagnostics",
    ]
    print(f"Running `{shlex.join(command)}`", file=sys.stderr)
    try:
        run = subprocess.run(command, cwd=HERE, stdout=subprocess.PIPE, check=False)
    except FileNotFoundError:
        sys.exit("error: cargo was not found; install Rust (https://rustup.rs) to build specfact-telemetry")
    if run.returncode != 0:
        sys.exit(f"error: building the specfact-telemetry program failed (exit {run.returncode})")
    executable = None
    for line in run.stdout.decode(errors="replace").splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("reason") == "compiler-artifact" and message.get("executable"):
            if message.get("target", {}).get("name") == "specfact-telemetry":
                executable = message["executable"]
    if executable is None:
        sys.exit("error: cargo built no specfact-telemetry program")
    scripts = HERE / "wheel-data" / "scripts"
    scripts.mkdir(parents=True, exist_ok=True)
    target = scripts / PROGRAM
    shutil.copy2(executable, target)
    target.chmod(0o755)
    # The workspace's profiles keep debug information for benchmarks; the installed
    # program does not need it (best effort: without `strip` the program is just larger).
    strip = shutil.which("strip")
    if strip and os.name != "nt":
        subprocess.run([strip, "-S", str(target)], check=False, stderr=subprocess.DEVNULL)
    return target


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    # maturin checks that the data directory exists before the program is staged.
    (HERE / "wheel-data" / "scripts").mkdir(parents=True, exist_ok=True)
    return maturin.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    stage_program(_profile_from_maturin_args(config_settings))
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    stage_program(_profile_from_maturin_args(config_settings))
    return maturin.build_editable(wheel_directory, config_settings, metadata_directory)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Build the specfact-telemetry program into wheel-data/scripts/.")
    parser.add_argument("--profile", default="release", help="cargo profile (default: release)")
    print(stage_program(parser.parse_args().profile))
