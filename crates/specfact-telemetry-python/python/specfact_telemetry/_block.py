"""The timed block behind every tracking API: one command, one event.

A block notes the process id and a monotonic clock when it is entered. When it is left
it hands the command, its metadata, the outcome and the duration to the native handle,
which sanitizes, writes the local log and starts delivery. Nothing here waits for the
network, takes a lock or starts a thread, and nothing raised by recording reaches the
host: the host's own exception always propagates unchanged.
"""

from __future__ import annotations

from os import getpid
from time import perf_counter


def _ignore(extra=None):
    """The `record` function of a disabled block: accepts anything, keeps nothing."""
    return None


class DisabledBlock:
    """What a disabled handle gives for every command: no state, no clock, no file."""

    __slots__ = ()

    def __enter__(self):
        return _ignore

    def __exit__(self, exc_type, exc, tb):
        return False


DISABLED = DisabledBlock()


def outcome(exc_type) -> tuple[bool, str | None]:
    """`(success, error)` for the exception type a block ends with (or None).

    An `Exception` is a failure named by its class; `SystemExit`, `KeyboardInterrupt`
    and `GeneratorExit` stop a command without an error of its own.
    """
    if exc_type is None:
        return True, None
    if issubclass(exc_type, Exception):
        return False, exc_type.__name__
    return False, None


class Block:
    """An enabled block: times one command and records it when left."""

    __slots__ = ("_finish", "_command", "_metadata", "_pid", "_start")

    def __init__(self, finish, command, metadata) -> None:
        # `finish(command, metadata, success, error, duration_s)` records the event.
        self._finish = finish
        self._command = command
        self._metadata = metadata
        self._pid = 0
        self._start = 0.0

    def __enter__(self):
        self._pid = getpid()
        self._start = perf_counter()
        return self.record

    def record(self, extra=None) -> None:
        """Adds metadata; later values replace earlier ones. Never raises."""
        if not extra:
            return
        try:
            for key, value in extra.items():
                if value is not None:
                    self._metadata[key] = value
        except Exception:
            pass

    def __exit__(self, exc_type, exc, tb):
        try:
            # A process forked inside the block leaves it too: only the process that
            # entered the block records it, so a fork never records it twice.
            if getpid() == self._pid:
                success, error = outcome(exc_type)
                self._finish(self._command, self._metadata, success, error, perf_counter() - self._start)
        except Exception:
            pass
        return False
