"""Type stubs of the extension module `specfact_telemetry._native`."""

from collections.abc import Callable, Mapping
from os import PathLike
from typing import Any, Optional, Union

_Path = Union[str, PathLike[str]]

def resolve_settings(
    config_file: Optional[_Path] = ..., opt_in_file: Optional[_Path] = ...
) -> tuple[bool, Optional[str], list[tuple[str, str]], Optional[str], bool, str]: ...
def uploader_arg() -> str: ...

class Handle:
    def __init__(
        self,
        cli_version: Optional[str] = ...,
        overrides: Optional[tuple[bool, Optional[str], list[tuple[str, str]], Optional[_Path], bool, str]] = ...,
        config_file: Optional[_Path] = ...,
        opt_in_file: Optional[_Path] = ...,
        uploader: Optional[Callable[[], Optional[str]]] = ...,
    ) -> None: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def session_id(self) -> Optional[str]: ...
    @property
    def local_path(self) -> Optional[str]: ...
    def record(
        self,
        command: str,
        metadata: Mapping[str, Any],
        success: bool,
        error: Optional[str],
        duration_s: float,
    ) -> Optional[str]: ...
