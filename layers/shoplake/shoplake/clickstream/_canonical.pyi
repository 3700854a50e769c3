"""The clickstream transform's canonical path, compiled from _canonical.c (see layers/shoplake/build_native.py)."""

from collections.abc import Callable
from typing import Any

TEXT: int
TEXT_LOWER: int
EVENT_TYPE: int
EVENT_TIME: int
PRICE: int
QUANTITY: int
CLIENT_IP: int
COUNTRY: int
IGNORED: int
USER_AGENT: int
NETWORK: int
DEVICE: int
BOT: int
VERSION: int

def configure(
    inputs: tuple[tuple[str, int, int, bool], ...],
    outputs: tuple[tuple[str, int], ...],
    event_types: tuple[str, ...],
    requirements: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...],
    oldest_ms: int,
    newest_ms: int,
    max_quantity: int,
    schema_version: int,
    ipv4_suffix: str,
    other_device: str,
    device_of: Callable[[str, dict[str, tuple[str, bool]]], tuple[str, bool]],
    contract_error: type[Exception],
    ok: str,
    dropped: str,
) -> None: ...
def run(
    records: list[Any],
    fallback_ms: int,
    agents: dict[str, tuple[str, bool]],
    network: Callable[[object], str | None],
    metadata: Callable[[str], dict[str, dict[str, str]]],
) -> tuple[list[dict[str, Any] | None], list[int], int]: ...
