"""Where the `specfact-telemetry` program installed with this package is.

The wheel installs the Rust CLI into the scripts directory of the environment it is
installed in (a venv's `bin/`, pipx's and uvx's environments, `~/.local/bin` for a user
install). That program is also the detached uploader: a Python host never re-executes
its interpreter, which inside a venv may be a base interpreter without this package.
"""

from __future__ import annotations

import os

PROGRAM = "specfact-telemetry.exe" if os.name == "nt" else "specfact-telemetry"


def _candidates():
    import sysconfig

    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # The scheme this package was installed with: its purelib or platlib holds us.
    for scheme in sysconfig.get_scheme_names():
        try:
            paths = sysconfig.get_paths(scheme)
        except Exception:
            continue
        libs = {paths.get("purelib"), paths.get("platlib")}
        if any(lib and os.path.normcase(os.path.abspath(lib)) == os.path.normcase(package_parent) for lib in libs):
            if paths.get("scripts"):
                yield paths["scripts"]
    # The running environment's scripts directory.
    yield sysconfig.get_path("scripts")


def find() -> str | None:
    """The uploader program's path, or None when it is not installed beside us."""
    try:
        for directory in _candidates():
            if directory:
                path = os.path.join(directory, PROGRAM)
                if os.path.isfile(path) and os.access(path, os.X_OK):
                    return path
    except Exception:
        pass
    return None
