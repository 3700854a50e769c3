"""Each local stack's IAM ledger, kept on disk for `make iam-report`.

One JSON file per local stack, `<dir>/<pid>-<n>.json`:
`{"principals": [Principal as a dict, policies as [name, document] pairs], "uses": [Use as a dict],
"refusals_expected": bool}`.
The directory is `.local/iam` in the repository unless `SHOPLAKE_IAM_LEDGER_DIR` names another;
`make test` empties it before pytest, so the report reads exactly what that run did.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from local_stack.iam.model import Principal, Use
from local_stack.template import ROOT

LEDGER_DIR_VARIABLE = "SHOPLAKE_IAM_LEDGER_DIR"
_numbers = itertools.count()


def ledger_dir() -> Path:
    """Where the ledgers go: `$SHOPLAKE_IAM_LEDGER_DIR`, else `<repository>/.local/iam`."""
    return Path(os.environ.get(LEDGER_DIR_VARIABLE) or ROOT / ".local" / "iam")


@dataclass(frozen=True)
class Run:
    """One local stack's principals (with their resolved policies) and the requests they made."""

    principals: tuple[Principal, ...]
    uses: tuple[Use, ...]
    refusals_expected: bool = False  # a test that provokes AccessDenied on purpose


def write_run(
    principals: Iterable[Principal],
    uses: Iterable[Use],
    directory: Path | None = None,
    *,
    refusals_expected: bool = False,
) -> Path:
    """Write one run's ledger as a new file; returns its path. Raises OSError if it cannot be written."""
    directory = directory or ledger_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{os.getpid()}-{next(_numbers)}.json"
    body = {
        "principals": [asdict(p) for p in principals],
        "uses": [asdict(u) for u in uses],
        "refusals_expected": refusals_expected,
    }
    hidden = path.with_name("." + path.name)
    hidden.write_text(json.dumps(body), encoding="utf-8")
    hidden.replace(path)
    return path


def _principal(raw: dict[str, object]) -> Principal:
    policies = tuple((str(name), document) for name, document in raw["policies"])  # type: ignore[attr-defined]
    return Principal(
        name=str(raw["name"]),
        role_name=str(raw["role_name"]),
        role_arn=str(raw["role_arn"]),
        policies=policies,
        boundary=raw.get("boundary"),  # type: ignore[arg-type]
        session_arn=str(raw.get("session_arn", "")),
    )


def read_run(path: Path) -> Run:
    """One ledger file. Raises ValueError naming the file if it is not a ledger."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Run(
            principals=tuple(_principal(p) for p in raw["principals"]),
            uses=tuple(Use(**u) for u in raw["uses"]),
            refusals_expected=bool(raw.get("refusals_expected", False)),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path} is not an IAM ledger: {error}") from error


def read_runs(directory: Path | None = None) -> Iterator[Run]:
    """Every run in the directory, oldest file name first. Raises ValueError naming a file that is not a ledger."""
    directory = directory or ledger_dir()
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        yield read_run(path)
