"""Where the `specfact-telemetry` program installed with this package is.

The wheel installs the Rust CLI into the scripts directory of the environment it is
installed in (a venv's `bin/`, pipx's and uvx's environments, `~/.local/bin` for a user
install). That program is also the detached uploader: a Python host never re-executes
its interpreter, which inside a venv may be a base interpreter without this package.
"""

from __future__ import annotations

import os
import sys
from itertools import chain

PROGRAM = "specfact-telemetry.exe" if os.name == "nt" else "specfact-telemetry"


def _prefix_scripts(package_parent: str):
    """The common case without importing sysconfig (which costs more than a host's
    whole command): installed under the running environment's prefix (a venv, pipx,
    uvx), whose scripts directory is `bin/` (`Scripts\\` on Windows)."""
    prefix = os.path.abspath(sys.prefix)
    if package_parent.startswith(prefix + os.sep):
        yield os.path.join(prefix, "Scripts" if os.name == "nt" else "bin")


def _scheme_scripts(package_parent: str):
    """Every other install: the scheme whose purelib or platlib holds this package (a
    user install's `~/.local/bin`, a distribution's `/usr/local/bin`), then the running
    environment's scripts directory."""
    import sysconfig

    for scheme in sysconfig.get_scheme_names():
        try:
            paths = sysconfig.get_paths(scheme)
        except Exception:
            continue
        libs = (paths.get("purelib"), paths.get("platlib"))
        if any(lib and os.path.normcase(os.path.abspath(lib)) == os.path.normcase(package_parent) for lib in libs):
            if paths.get("scripts"):
                yield paths["scripts"]
    yield sysconfig.get_path("scripts")


def find() -> str | None:
    """The uploader program's path, or None when it is not installed beside us."""
    try:
        package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        for directory in chain(_prefix_scripts(package_parent), _scheme_scripts(package_parent)):
            if directory:
                path = os.path.join(directory, PROGRAM)
                if os.path.isfile(path) and os.access(path, os.X_OK):
                    return path
    except Exception:
        pass
    return None
