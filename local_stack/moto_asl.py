"""moto validates each state machine definition by parsing it with its ANTLR grammar: seconds for the nightly
ETL's, on every `CreateStateMachine`, and the tests make a local stack (and so the same definitions) hundreds
of times a run. A definition that parsed once parses again: `validate_definitions_once` remembers the texts
that passed. A definition that fails is parsed, and refused, every time, as before.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.stepfunctions.parser.models import StepFunctionsParserBackend

_VALID: set[str] = set()
_LOCK = threading.Lock()
_installed = False


def validate_definitions_once() -> None:
    """Make moto's Step Functions parse each distinct valid definition once per process (idempotent)."""
    global _installed  # noqa: PLW0603 - one patch per process
    with _LOCK:
        if _installed:
            return
        original = StepFunctionsParserBackend._validate_definition

        def validate(definition: str) -> Any:
            if definition in _VALID:
                return None
            result = original(definition)  # raises InvalidDefinition for a bad one: not remembered
            _VALID.add(definition)
            return result

        # moto ships no type hints for it; the patch is this module's whole purpose.
        StepFunctionsParserBackend._validate_definition = staticmethod(validate)  # type: ignore[method-assign]
        _installed = True
