"""Housekeeping: expired sessions and day-old failed logins go; orders unpaid for 30 minutes are
cancelled and their stock given back.

`python -m shop.app.housekeeping [--every SECONDS] [--unpaid-minutes 30]`: one pass, or a pass
every SECONDS until stopped. In AWS an EventBridge Scheduler schedule runs one pass every few
minutes as its own ECS task (infra_core/compute.yaml, HousekeepingSchedule); locally the harness
(local_stack.shop) keeps house in a thread. Passes that meet are harmless, and one waits for
none: a pass that finds another under way skips (an advisory lock).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta

from shop.app.db import accounts, orders
from shop.app.db.locks import Lock, advisory_lock
from shop.app.db.sql import Connection

UNPAID_AFTER = timedelta(minutes=30)
LOG = logging.getLogger("shop.app.housekeeping")


@dataclass(frozen=True, slots=True)
class Swept:
    """What one pass removed: sessions expired, failed logins forgotten, unpaid orders cancelled."""

    sessions: int
    login_failures: int
    orders: int


def keep_house(connection: Connection, *, unpaid_after: timedelta = UNPAID_AFTER) -> Swept | None:
    """One pass over the connection's schema (an autocommit connection); None when another pass is
    under way there (it does the work). Each step commits on its own; psycopg's errors pass through."""
    with advisory_lock(connection, Lock.HOUSEKEEPING, wait=False) as held:
        if not held:
            return None
        return Swept(
            sessions=accounts.remove_expired_sessions(connection),
            login_failures=accounts.forget_old_login_failures(connection),
            orders=orders.cancel_unpaid_orders(connection, unpaid_after),
        )


def keep_house_every(
    connect: Callable[[], AbstractContextManager[Connection]],
    every_seconds: float,
    stop: threading.Event,
    *,
    unpaid_after: timedelta = UNPAID_AFTER,
) -> None:
    """A pass now and then every `every_seconds` until `stop` is set, each on a connection from
    `connect()`; a pass that fails is logged and the next one tries again."""
    while True:
        try:
            with connect() as connection:
                LOG.info(
                    "housekeeping: %s", keep_house(connection, unpaid_after=unpaid_after) or "another pass is under way"
                )
        except Exception:  # the next pass tries again; the loop goes on
            LOG.exception("housekeeping failed")
        if stop.wait(every_seconds):
            return


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="python -m shop.app.housekeeping", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    command.add_argument("--every", type=float, metavar="SECONDS", help="repeat every SECONDS (default: one pass)")
    command.add_argument("--unpaid-minutes", type=float, default=UNPAID_AFTER / timedelta(minutes=1),
                         help="cancel orders unpaid this long (30)")  # fmt: skip
    return command


def main(argv: list[str] | None = None, env: Mapping[str, str] = os.environ) -> int:
    args = parser().parse_args(argv)
    import psycopg  # noqa: PLC0415

    from shop.app.settings import database_dsn  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    dsn, unpaid_after = database_dsn(env), timedelta(minutes=args.unpaid_minutes)
    if args.every is not None:
        keep_house_every(lambda: psycopg.connect(dsn, autocommit=True), args.every, threading.Event(),
                         unpaid_after=unpaid_after)  # fmt: skip
        return 0
    with psycopg.connect(dsn, autocommit=True) as connection:
        swept = keep_house(connection, unpaid_after=unpaid_after)
    LOG.info("housekeeping: %s", swept or "another pass is under way")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
