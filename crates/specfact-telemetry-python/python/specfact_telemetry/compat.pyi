"""Type stubs of `specfact_telemetry.compat` (some names are made on first use)."""

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Optional

__all__ = ["TelemetryManager", "TelemetrySettings", "telemetry"]

OPT_IN_FILE: Path
TELEMETRY_CONFIG_FILE: Path
DEFAULT_LOCAL_LOG: Path
ALLOWED_FIELDS: set[str]
FINDINGS: dict[str, tuple[str, ...]]

@dataclass(frozen=True)
class TelemetrySettings:
    enabled: bool
    endpoint: Optional[str] = ...
    headers: dict[str, str] = ...
    local_path: Path = ...
    debug: bool = ...
    opt_in_source: str = ...
    @classmethod
    def from_env(cls) -> TelemetrySettings: ...

Record = Callable[[Optional[Mapping[str, Any]]], None]

class TelemetryManager:
    TELEMETRY_VERSION: ClassVar[str]
    def __init__(self, settings: Optional[TelemetrySettings] = ...) -> None: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def last_event(self) -> Optional[dict[str, Any]]: ...
    def track_command(
        self, command: str, initial_metadata: Optional[Mapping[str, Any]] = ...
    ) -> AbstractContextManager[Record]: ...

telemetry: TelemetryManager
