"""Small inputs shoplake once got wrong, each one instance of a kind of fault (see README.md here)."""

from __future__ import annotations

from pathlib import Path

CASES = Path(__file__).resolve().parent


def case(name: str) -> Path:
    """The case file `name` (``<area>/<file>``), failing loudly if it is not here."""
    path = CASES / name
    if not path.is_file():
        raise FileNotFoundError(f"no case file {name} in {CASES}")
    return path
