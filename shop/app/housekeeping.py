"""Housekeeping: expired sessions and day-old failed logins go; orders unpaid for 30 minutes are
cancelled and their stock given back; payments whose answer a task lost are settled with the
payment provider (shop.app.db.payments; an order is never cancelled while its payment may have
been captured).

`python -m shop.app.housekeeping [--every SECONDS] [--unpaid-minutes 30]`: one pass, or a pass
every SECONDS (at least 1) until stopped; orders are cancelled after at least 5 minutes unpaid
(by default the hold the app's settings give, SHOP_UNPAID_HOLD_SECONDS: shop.app.settings).
In AWS an EventBridge Scheduler schedule runs one pass every few minutes as its own ECS task
(infra_core/compute.yaml, HousekeepingSchedule); locally the harness (local_stack.shop) keeps
house in a thread. Passes that meet are harmless, and one waits for none: a pass that finds
another under way skips (an advisory lock).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta

from shop.app.db import accounts, orders, payments, signups
from shop.app.db.locks import Lock, advisory_lock
from shop.app.db.sql import Connection
from shop.app.payments import PaymentProvider, configured_provider
from shop.app.settings import Settings

UNPAID_AFTER = Settings().unpaid_hold
# An order stays payable at least this long: less would cancel orders while their shoppers pay.
UNPAID_AFTER_MIN = timedelta(minutes=5)
UNPAID_AFTER_MAX = timedelta(days=30)
EVERY_SECONDS = (1.0, 86_400.0)  # the command's beat: not a busy loop, at least daily
LOG = logging.getLogger("shop.app.housekeeping")


@dataclass(frozen=True, slots=True)
class Swept:
    """What one pass did: sessions expired, failed logins forgotten, expired unconfirmed sign-ups
    forgotten, unpaid orders cancelled, payments whose answer was lost settled."""

    sessions: int
    login_failures: int
    signups: int
    orders: int
    payments: int


def _check(unpaid_after: timedelta) -> None:
    if unpaid_after < UNPAID_AFTER_MIN:
        raise ValueError(f"unpaid_after must be at least {UNPAID_AFTER_MIN}, not {unpaid_after}")


def keep_house(
    connection: Connection, *, unpaid_after: timedelta = UNPAID_AFTER, provider: PaymentProvider | None = None
) -> Swept | None:
    """One pass over the connection's schema (an autocommit connection); None when another pass is
    under way there (it does the work).

    Payments whose answer was lost are settled with `provider` (without one, they and their orders
    wait). Each step commits on its own; psycopg's and the provider's errors pass through (payments
    are settled last, so that an unreachable provider holds up nothing else). Raises ValueError for
    an `unpaid_after` under UNPAID_AFTER_MIN.
    """
    _check(unpaid_after)
    with advisory_lock(connection, Lock.HOUSEKEEPING, wait=False) as held:
        if not held:
            return None
        return Swept(
            sessions=accounts.remove_expired_sessions(connection),
            login_failures=accounts.forget_old_login_failures(connection),
            signups=signups.forget_old_signups(connection),
            orders=orders.cancel_unpaid_orders(connection, unpaid_after),
            payments=payments.settle_unanswered(connection, provider) if provider else 0,
        )


def keep_house_every(
    connect: Callable[[], AbstractContextManager[Connection]],
    every_seconds: float,
    stop: threading.Event,
    *,
    unpaid_after: timedelta = UNPAID_AFTER,
    provider: PaymentProvider | None = None,
) -> None:
    """A pass now and then every `every_seconds` until `stop` is set, each on a connection from
    `connect()` (keep_house's `unpaid_after` and `provider`); a pass that fails is logged and the
    next one tries again. Raises ValueError at once for an `unpaid_after` under UNPAID_AFTER_MIN."""
    _check(unpaid_after)
    while True:
        try:
            with connect() as connection:
                LOG.info(
                    "housekeeping: %s",
                    keep_house(connection, unpaid_after=unpaid_after, provider=provider) or "another pass is under way",
                )
        except Exception:  # the next pass tries again; the loop goes on
            LOG.exception("housekeeping failed")
        if stop.wait(every_seconds):
            return


def between(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a number from `low` to `high` (a usage error otherwise: not a number, NaN, infinite)."""

    def number(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"must be from {low:g} to {high:g}, not {text}")
        return value

    return number


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="python -m shop.app.housekeeping", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    command.add_argument("--every", type=between(*EVERY_SECONDS), metavar="SECONDS",
                         help="repeat every SECONDS, 1 to 86400 (default: one pass)")  # fmt: skip
    minutes = (UNPAID_AFTER_MIN / timedelta(minutes=1), UNPAID_AFTER_MAX / timedelta(minutes=1))
    command.add_argument("--unpaid-minutes", type=between(*minutes),
                         help=f"cancel orders unpaid this long, {minutes[0]:g} to {minutes[1]:g} "
                              "(default: the settings' unpaid hold, 30)")  # fmt: skip
    return command


def main(argv: list[str] | None = None, env: Mapping[str, str] = os.environ) -> int:
    args = parser().parse_args(argv)
    from shop.app.db_credentials import connect  # noqa: PLC0415 - as the app role, IAM token and all

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    unpaid_after = (
        timedelta(minutes=args.unpaid_minutes)
        if args.unpaid_minutes is not None
        else Settings.from_environ(env).unpaid_hold
    )
    provider = configured_provider()
    if args.every is not None:
        keep_house_every(lambda: connect(env), args.every, threading.Event(),
                         unpaid_after=unpaid_after, provider=provider)  # fmt: skip
        return 0
    with connect(env) as connection:
        swept = keep_house(connection, unpaid_after=unpaid_after, provider=provider)
    LOG.info("housekeeping: %s", swept or "another pass is under way")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
