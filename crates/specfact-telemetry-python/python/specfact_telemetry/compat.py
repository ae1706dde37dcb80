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
from dataclasses import dataclass, field
from pathlib import Path

from . import _native
from ._block import DISABLED, Block
from ._uploader import find as _find_uploader

__all__ = ["TelemetryManager", "TelemetrySettings", "telemetry"]

OPT_IN_FILE = Path.home() / ".specfact" / "telemetry.opt-in"
TELEMETRY_CONFIG_FILE = Path.home() / ".specfact" / "telemetry.yaml"
DEFAULT_LOCAL_LOG = Path.home() / ".specfact" / "telemetry.log"

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


@dataclass(frozen=True)
class TelemetrySettings:
    """Telemetry settings; :meth:`from_env` resolves them, tests build them by keyword."""

    enabled: bool
    endpoint: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    local_path: Path = DEFAULT_LOCAL_LOG
    debug: bool = False
    opt_in_source: str = "disabled"

    @classmethod
    def from_env(cls) -> TelemetrySettings:
        """Resolves the settings: environment, then ``TELEMETRY_CONFIG_FILE``, then
        ``OPT_IN_FILE`` (module globals, read at call time), then defaults.

        Off in test environments (``TEST_MODE=true``, ``PYTEST_CURRENT_TEST``) and under
        ``DO_NOT_TRACK``. Never raises: bad values are ignored (and explained with
        ``SPECFACT_TELEMETRY_DEBUG``).
        """
        try:
            enabled, endpoint, headers, local_path, debug, source = _native.resolve_settings(
                str(TELEMETRY_CONFIG_FILE), str(OPT_IN_FILE)
            )
        except Exception:
            return cls(enabled=False)
        return cls(
            enabled=enabled,
            endpoint=endpoint,
            headers=dict(headers),
            local_path=Path(local_path) if local_path else DEFAULT_LOCAL_LOG,
            debug=debug,
            opt_in_source=source,
        )


def _cli_version() -> str | None:
    cli = sys.modules.get("specfact_cli")
    version = getattr(cli, "__version__", None)
    return version if isinstance(version, str) else None


class TelemetryManager:
    """Records one event per tracked command, when telemetry is enabled."""

    TELEMETRY_VERSION = "1.0"

    def __init__(self, settings: TelemetrySettings | None = None) -> None:
        if settings is None:
            settings = TelemetrySettings.from_env()
        self._settings = settings
        self._enabled = bool(settings.enabled)
        # The native handle is made by the first tracked command, when SpecFact's
        # version is known.
        self._handle = None
        self._last_line: str | None = None

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
            s = self._settings
            handle = _native.Handle(
                cli_version=_cli_version(),
                overrides=(
                    bool(s.enabled),
                    s.endpoint if isinstance(s.endpoint, str) else None,
                    [(str(k), str(v)) for k, v in dict(s.headers or {}).items()],
                    str(s.local_path),
                    bool(s.debug),
                    str(s.opt_in_source),
                ),
                config_file=str(TELEMETRY_CONFIG_FILE),
                opt_in_file=str(OPT_IN_FILE),
                uploader=_find_uploader,
            )
            self._handle = handle
        return handle

    def _finish(self, command, metadata, success, error, duration_s) -> None:
        _map_findings(command, metadata)
        line = self._native_handle().record(command, metadata, success, error, duration_s)
        if line is not None:
            self._last_line = line


def _make_singleton() -> TelemetryManager:
    try:
        return TelemetryManager()
    except Exception:
        return TelemetryManager(TelemetrySettings(enabled=False))


# The shared instance SpecFact's commands use.
telemetry = _make_singleton()
