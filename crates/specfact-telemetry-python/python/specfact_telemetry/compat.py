"""A drop-in replacement for ``specfact_cli.telemetry`` (SpecFact CLI 0.20.5).

SpecFact adopts it by making ``specfact_cli/telemetry.py`` this one line::

    import sys, specfact_telemetry.compat as compat; sys.modules[__name__] = compat  # noqa: E401, E702

so ``specfact_cli.telemetry`` *is* this module: the names SpecFact imports, and the
module globals its tests monkeypatch (``OPT_IN_FILE``, ``TELEMETRY_CONFIG_FILE``), are
these.

It keeps the names and behaviour SpecFact's call sites and tests use —
:class:`TelemetrySettings`, :class:`TelemetryManager`, the ``telemetry`` singleton,
``OPT_IN_FILE``, ``TELEMETRY_CONFIG_FILE``, ``DEFAULT_LOCAL_LOG`` and ``ALLOWED_FIELDS`` —
with this library's guarantees instead of the original's:

- every field is typed: ``error`` holds an exception class name, never a message, and a
  string that names a path, the user or the machine is dropped;
- each event has a ``timestamp`` and an ``event_id``;
- the environment decides before the files (``SPECFACT_TELEMETRY_OPT_IN=false`` is off),
  and ``DO_NOT_TRACK`` turns telemetry off;
- delivery runs in a detached ``specfact-telemetry`` process: the command never waits for
  a collector, and no thread or exit hook is added to the host;
- the findings of ``drift.detect`` (``total_issues``), ``plan.compare``
  (``total_deviations``) and ``enforce.sdd`` (``deviations``) are recorded as
  ``violations_detected``.
"""

from __future__ import annotations

import sys

from . import _native
from ._block import DISABLED, Block
from ._uploader import find as _find_uploader

__all__ = ["TelemetryManager", "TelemetrySettings", "telemetry"]

# `OPT_IN_FILE`, `TELEMETRY_CONFIG_FILE` and `DEFAULT_LOCAL_LOG` (paths under
# `~/.specfact/`) and `TelemetrySettings` are made on first use, by `__getattr__` below:
# `pathlib` and `dataclasses` would otherwise cost a host that never looks at them more
# than everything else this module does at import.
_PATH_NAMES = ("OPT_IN_FILE", "TELEMETRY_CONFIG_FILE", "DEFAULT_LOCAL_LOG")

ALLOWED_FIELDS = {
    "command",
    "mode",
    "execution_mode",
    "shadow_mode",
    "files_analyzed",
    "features_detected",
    "stories_detected",
    "violations_detected",
    "checks_total",
    "checks_failed",
    "duration_ms",
    "success",
    "error",
    "telemetry_version",
    "session_id",
    "opt_in_source",
    "cli_version",
}

# Commands that count their findings under another name, and the names, in order of
# preference, whose value becomes `violations_detected`.
FINDINGS = {
    "drift.detect": ("total_issues", "contract_violations"),
    "plan.compare": ("total_deviations", "deviations"),
    "enforce.sdd": ("deviations", "total_deviations"),
}


def _map_findings(command: str, metadata: dict) -> None:
    names = FINDINGS.get(command)
    if names is None or "violations_detected" in metadata:
        return
    for name in names:
        value = metadata.get(name)
        if value is not None:
            metadata["violations_detected"] = value
            return


def __getattr__(name: str):
    module = globals()
    if name in _PATH_NAMES:
        from pathlib import Path

        specfact = Path.home() / ".specfact"
        module.setdefault("OPT_IN_FILE", specfact / "telemetry.opt-in")
        module.setdefault("TELEMETRY_CONFIG_FILE", specfact / "telemetry.yaml")
        module.setdefault("DEFAULT_LOCAL_LOG", specfact / "telemetry.log")
        return module[name]
    if name == "TelemetrySettings":
        return module.setdefault("TelemetrySettings", _define_settings())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _settings_files() -> tuple[str | None, str | None]:
    """The settings files named by the module globals, or (None, None) for the defaults
    under `~/.specfact/` (read at call time: tests monkeypatch them)."""
    module = globals()
    if "OPT_IN_FILE" not in module and "TELEMETRY_CONFIG_FILE" not in module:
        return None, None
    this = sys.modules[__name__]
    return str(this.TELEMETRY_CONFIG_FILE), str(this.OPT_IN_FILE)


def _resolve() -> tuple:
    """`(enabled, endpoint, headers, local_path, debug, opt_in_source)` from the
    environment and the settings files; off if anything goes wrong."""
    try:
        return _native.resolve_settings(*_settings_files())
    except Exception:
        return (False, None, [], None, False, "disabled")


def _define_settings():
    from dataclasses import dataclass, field
    from pathlib import Path

    default_log = sys.modules[__name__].DEFAULT_LOCAL_LOG

    @dataclass(frozen=True)
    class TelemetrySettings:
        """Telemetry settings; :meth:`from_env` resolves them, tests build them by keyword."""

        enabled: bool
        endpoint: str | None = None
        headers: dict[str, str] = field(default_factory=dict)
        local_path: Path = default_log
        debug: bool = False
        opt_in_source: str = "disabled"

        @classmethod
        def from_env(cls) -> TelemetrySettings:
            """Resolves the settings: environment, then ``TELEMETRY_CONFIG_FILE``, then
            ``OPT_IN_FILE`` (module globals, read at call time), then defaults.

            Off in test environments (``TEST_MODE=true``, ``PYTEST_CURRENT_TEST``) and
            under ``DO_NOT_TRACK``. Never raises: bad values are ignored (and explained
            with ``SPECFACT_TELEMETRY_DEBUG``).
            """
            return _settings_from_view(cls, _resolve())

    TelemetrySettings.__module__ = __name__
    TelemetrySettings.__qualname__ = "TelemetrySettings"
    return TelemetrySettings


def _settings_from_view(cls, view):
    from pathlib import Path

    enabled, endpoint, headers, local_path, debug, source = view
    return cls(
        enabled=enabled,
        endpoint=endpoint,
        headers=dict(headers),
        local_path=Path(local_path) if local_path else sys.modules[__name__].DEFAULT_LOCAL_LOG,
        debug=debug,
        opt_in_source=source,
    )


def _view_of(settings) -> tuple:
    headers = getattr(settings, "headers", None) or {}
    local_path = getattr(settings, "local_path", None)
    endpoint = getattr(settings, "endpoint", None)
    return (
        bool(getattr(settings, "enabled", False)),
        endpoint if isinstance(endpoint, str) else None,
        [(str(k), str(v)) for k, v in dict(headers).items()],
        None if local_path is None else str(local_path),
        bool(getattr(settings, "debug", False)),
        str(getattr(settings, "opt_in_source", "disabled")),
    )


def _cli_version() -> str | None:
    cli = sys.modules.get("specfact_cli")
    version = getattr(cli, "__version__", None)
    return version if isinstance(version, str) else None


class TelemetryManager:
    """Records one event per tracked command, when telemetry is enabled."""

    TELEMETRY_VERSION = "1.0"

    def __init__(self, settings=None) -> None:
        # Settings given by the host are obeyed as given (even in a test environment:
        # that is how a host's tests check its telemetry); otherwise they are resolved
        # now, once, like the original.
        self._given = settings
        self._view = _resolve() if settings is None else _view_of(settings)
        self._enabled = bool(self._view[0])
        # The native handle is made by the first tracked command, when SpecFact's
        # version is known.
        self._handle = None
        self._last_line: str | None = None

    @property
    def _settings(self):
        """The settings in force, as a ``TelemetrySettings``."""
        if self._given is None:
            self._given = _settings_from_view(sys.modules[__name__].TelemetrySettings, self._view)
        return self._given

    @property
    def enabled(self) -> bool:
        """Whether commands are recorded."""
        return self._enabled

    @property
    def last_event(self) -> dict | None:
        """The last event written to the local log, as a dict (None before the first)."""
        line = self._last_line
        if line is None:
            return None
        import json

        return json.loads(line)

    def track_command(self, command: str, initial_metadata=None):
        """A context manager recording ``command`` as one event; yields ``record(mapping)``.

        An ``Exception`` leaving the block records ``success: false`` and its class name
        as ``error``, then propagates; ``SystemExit`` and ``KeyboardInterrupt`` record
        ``success: false`` without ``error``. The event is written when the block ends,
        whatever the outcome.
        """
        if not self._enabled:
            return DISABLED
        try:
            metadata = dict(initial_metadata) if initial_metadata else {}
        except Exception:
            metadata = {}
        return Block(self._finish, command, metadata)

    def _native_handle(self):
        handle = self._handle
        if handle is None:
            config_file, opt_in_file = _settings_files()
            handle = _native.Handle(
                cli_version=_cli_version(),
                overrides=self._view,
                config_file=config_file,
                opt_in_file=opt_in_file,
                uploader=_find_uploader,
            )
            self._handle = handle
        return handle

    def _finish(self, command, metadata, success, error, duration_s) -> None:
        _map_findings(command, metadata)
        line = self._native_handle().record(command, metadata, success, error, duration_s)
        if line is not None:
            self._last_line = line


class _Off:
    enabled = False


def _make_singleton() -> TelemetryManager:
    try:
        return TelemetryManager()
    except Exception:
        return TelemetryManager(_Off())


# The shared instance SpecFact's commands use.
telemetry = _make_singleton()
