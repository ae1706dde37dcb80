"""Privacy-first, opt-in telemetry for Python command-line tools.

Off unless the user opted in (``SPECFACT_TELEMETRY_OPT_IN``, ``~/.specfact/telemetry.yaml``
or ``~/.specfact/telemetry.opt-in``); off in test environments and under ``DO_NOT_TRACK``.
When on, each command becomes one event of allow-listed, typed fields in
``~/.specfact/telemetry.log``; with an endpoint, the ``specfact-telemetry`` program
installed with this package delivers it over OTLP in a detached process. Recording never
raises into your program, never waits for the network and never prints (unless
``SPECFACT_TELEMETRY_DEBUG`` is on).

Example::

    from specfact_telemetry import Telemetry

    telemetry = Telemetry(cli_version="1.4.0")

    with telemetry.track("import.from_code", {"mode": "cicd"}) as record:
        features = analyse()
        record({"features_detected": len(features)})

    @telemetry.command("plan.init")
    def plan_init(name):
        telemetry.record({"mode": "interactive"})  # adds to the running command
        ...

For SpecFact CLI itself, :mod:`specfact_telemetry.compat` replaces ``specfact_cli.telemetry``.
"""

from __future__ import annotations

from contextvars import ContextVar

from . import _native
from ._block import DISABLED, Block
from ._uploader import find as _find_uploader

__all__ = ["Telemetry", "track", "command", "record"]

_current = ContextVar("specfact_telemetry_current_block", default=None)


class Telemetry:
    """A telemetry handle for one program run; create it once, at start-up.

    ``cli_version`` is your program's version, recorded as ``cli_version``. Settings come
    from the environment and ``~/.specfact/``. Creating a handle never raises.
    """

    __slots__ = ("_handle",)

    def __init__(self, cli_version: str | None = None) -> None:
        self._handle = _make_handle(cli_version)

    @property
    def enabled(self) -> bool:
        """Whether commands are recorded."""
        return self._handle is not None

    @property
    def session_id(self) -> str | None:
        """This run's random session id, when enabled."""
        return None if self._handle is None else self._handle.session_id

    def track(self, command: str, metadata=None):
        """A context manager timing ``command`` (a dotted name such as ``plan.init``).

        It yields ``record(mapping)`` to add fields. Leaving the block by an exception
        records ``success: false`` and the exception's class name as ``error`` (never its
        message); ``SystemExit`` and ``KeyboardInterrupt`` record ``success: false``
        without ``error``. The exception always propagates.
        """
        handle = self._handle
        if handle is None:
            return DISABLED
        return _Tracked(handle.record, command, dict(metadata) if metadata else {})

    def command(self, name: str, **metadata):
        """A decorator tracking each call of the function as command ``name``.

        Inside it, :meth:`record` adds fields to the running command.
        """

        from functools import wraps

        def decorate(function):
            @wraps(function)
            def tracked(*args, **kwargs):
                with self.track(name, metadata):
                    return function(*args, **kwargs)

            return tracked

        return decorate

    @staticmethod
    def record(fields) -> None:
        """Adds fields to the innermost command running in this thread or task, if any."""
        block = _current.get()
        if block is not None:
            block.record(fields)


class _Tracked(Block):
    """A block that is also the current one for :meth:`Telemetry.record`."""

    __slots__ = ("_token",)

    def __enter__(self):
        record = super().__enter__()
        try:
            self._token = _current.set(self)
        except Exception:
            self._token = None
        return record

    def __exit__(self, exc_type, exc, tb):
        token = self._token
        if token is not None:
            try:
                _current.reset(token)
            except Exception:
                pass
        return super().__exit__(exc_type, exc, tb)


def _make_handle(cli_version):
    try:
        handle = _native.Handle(cli_version=cli_version, uploader=_find_uploader)
        return handle if handle.enabled else None
    except Exception:
        return None


_default: Telemetry | None = None


def _default_telemetry() -> Telemetry:
    global _default
    if _default is None:
        _default = Telemetry()
    return _default


def track(command: str, metadata=None):
    """:meth:`Telemetry.track` on a default handle (no ``cli_version``)."""
    return _default_telemetry().track(command, metadata)


def command(name: str, **metadata):
    """:meth:`Telemetry.command` on a default handle (no ``cli_version``)."""
    return _default_telemetry().command(name, **metadata)


def record(fields) -> None:
    """Adds fields to the innermost running command, if any."""
    Telemetry.record(fields)
