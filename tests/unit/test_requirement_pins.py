"""The dev and tools environments translate SAM templates with the same aws-sam-translator.

The local stack (requirements/dev.txt) creates the roles SAM generates from its translation; cfn-lint and
`make templates` (requirements/tools.txt) validate with theirs. Two versions could expand a policy template
differently, and the roles tested offline would not be the roles deployed.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pins(name: str) -> dict[str, str]:
    lines = (ROOT / "requirements" / name).read_text(encoding="utf-8").splitlines()
    pairs = (line.split("#", 1)[0].strip().split("==", 1) for line in lines)
    return {pair[0].lower().replace("_", "-"): pair[1] for pair in pairs if len(pair) == 2}


def test_dev_and_tools_pin_the_same_sam_translator() -> None:
    # GIVEN both pin files WHEN their aws-sam-translator pins are read THEN they are one version
    dev, tools = _pins("dev.txt"), _pins("tools.txt")
    assert dev["aws-sam-translator"] == tools["aws-sam-translator"]


def test_dev_pins_the_pydantic_the_translator_accepts() -> None:
    # GIVEN aws-sam-translator needs pydantic below 2.14 WHEN the dev pins are read THEN they are the tools' ones
    dev, tools = _pins("dev.txt"), _pins("tools.txt")
    assert (dev["pydantic"], dev["pydantic-core"]) == (tools["pydantic"], tools["pydantic-core"])
