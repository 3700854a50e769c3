"""Helper of check-native-arm64.sh: run the native module alone, on any interpreter, and digest its answers.

`prepare DIR` writes the module's configuration (from transform.py) and the benchmark's
batch as JSON; `run DIR MODULE` loads that build of the module by path (standard library
only, so Debian's bare arm64 Python can run it), answers the batch and prints the sha256
of every result, then the counts.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import types
from pathlib import Path
from typing import Any


def prepare(work: Path) -> None:
    from bench.bench_firehose_transform import ARRIVAL, batch  # noqa: PLC0415 - the full environment only
    from shoplake.clickstream import transform  # noqa: PLC0415

    native = transform._native
    assert native is not None
    captured: list[Any] = []
    stub = types.SimpleNamespace(**{k: getattr(native, k) for k in dir(native) if k.isupper()})
    stub.configure = lambda *arguments: captured.extend(arguments[:10])
    transform._configure_canonical(stub)
    (work / "config.json").write_text(json.dumps(captured))
    (work / "batch.json").write_text(json.dumps({"records": batch(), "now": int(ARRIVAL.timestamp() * 1000)}))


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


class ContractError(ValueError):
    pass


def run(work: Path, module_path: str) -> str:
    spec = importlib.util.spec_from_file_location("_canonical", module_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def device(agent: str, cache: dict[str, tuple[str, bool]]) -> tuple[str, bool]:
        found = (
            ("bot", True) if "bot" in agent.lower() else ("mobile", False) if "Mobile" in agent else ("desktop", False)
        )
        cache[agent] = found
        return found

    def network(address: str) -> str:
        if ":" in address:
            return "2001:db8::/48"
        raise ContractError(address)

    hours: dict[str, Any] = {}
    config = _tuples(json.loads((work / "config.json").read_text()))
    module.configure(*config, device, ContractError, "Ok", "Dropped")
    batch = json.loads((work / "batch.json").read_text())
    results, passed_on, dropped = module.run(
        batch["records"],
        batch["now"],
        {},
        network,
        lambda t: hours.setdefault(t[:13], {"partitionKeys": {"hour": t[11:13]}}),
    )
    digest = hashlib.sha256(json.dumps(results, sort_keys=True).encode()).hexdigest()
    return f"{digest} records={len(results)} passed_on={len(passed_on)} dropped={dropped}"


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(Path(sys.argv[2]))
    else:
        print(run(Path(sys.argv[2]), sys.argv[3]))  # noqa: T201 - the script's answer
