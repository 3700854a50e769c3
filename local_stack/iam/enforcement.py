"""Where the local stack switches IAM on: the botocore hook (local_stack/iam/hook.py) for its principals.

`enter(stack)` enters `hook.enforce` with `stack.principals` and `stack.iam_ledger`, and the
template's customer managed keys for implied KMS and its KMS aliases (local_stack/iam/keys.py); every botocore session
made from then on is checked. `exit(stack)` removes it and writes the run's ledger for
`make iam-report` (local_stack/iam/ledger_file.py), unless the stack ran on a template a test changed.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from local_stack.iam.hook import enforce
from local_stack.iam.keys import encrypting_keys, key_aliases
from local_stack.iam.ledger_file import write_run
from local_stack.template import TEMPLATE_PATH


def enter(stack: Any) -> None:
    """Enforce IAM for `stack.principals`, recording into `stack.iam_ledger`."""
    keys = encrypting_keys(stack.stack)
    aliases = key_aliases(stack.stack)
    enforced: AbstractContextManager[None] = enforce(
        stack.principals, stack.iam_ledger, key_of=keys.get, aliases=aliases
    )
    enforced.__enter__()
    stack._iam_enforced = enforced


def exit(stack: Any) -> None:  # noqa: A001 - the pair of `enter`
    """Stop enforcing, and keep the ledger of a run on the template as written."""
    enforced = getattr(stack, "_iam_enforced", None)
    if enforced is None:
        return
    stack._iam_enforced = None
    enforced.__exit__(None, None, None)
    if stack.template is not None or stack.template_path != TEMPLATE_PATH:  # a test's own template
        return
    principals = [stack.principals.principal(name) for name in stack.principals.names()]
    write_run(principals, stack.iam_ledger.uses, refusals_expected=stack.expect_refusals)
