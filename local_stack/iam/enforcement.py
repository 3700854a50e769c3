"""Where the local stack switches IAM on: a botocore `before-call` handler every new session gets.

STUB until work package B's hook (local_stack/iam/hook.py) lands: it records every call a principal
signs into `stack.iam_ledger` as allowed (resource "*") and decides nothing.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore.handlers

from local_stack.iam.model import Ledger, Registry, Use


def _recorder(registry: Registry, ledger: Ledger) -> Any:
    def record(model: Any, request_signer: Any, **_: Any) -> None:
        credentials = request_signer._credentials
        principal = (
            None if credentials is None else registry.by_access_key(credentials.get_frozen_credentials().access_key)
        )
        if principal is not None:
            ledger.record(Use(principal.name, f"{model.service_model.signing_name}:{model.name}", "*", True, "sdk"))

    return record


def enter(stack: Any) -> None:
    """Install the handler for `stack.principals` and `stack.iam_ledger`; sessions made from here on get it."""
    stack._iam_handler = ("before-call", _recorder(stack.principals, stack.iam_ledger))
    botocore.handlers.BUILTIN_HANDLERS.append(stack._iam_handler)
    boto3.DEFAULT_SESSION = None  # its clients were made without the handler


def exit(stack: Any) -> None:  # noqa: A001 - the pair of `enter`
    """Remove what `enter` installed."""
    handler = getattr(stack, "_iam_handler", None)
    if handler in botocore.handlers.BUILTIN_HANDLERS:
        botocore.handlers.BUILTIN_HANDLERS.remove(handler)
    boto3.DEFAULT_SESSION = None
