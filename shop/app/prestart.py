"""The migration task: wait for the database, migrate it as its owner, then exit (or become the given command).

`python -m shop.app.prestart [--wait SECONDS] [COMMAND ...]` is the command of the migration task
(infra_core/compute.yaml, MigrationTaskDefinition: the app's image with the RDS master secret),
which the services pipeline runs before it updates the services; the server itself logs in as
the app's role and never migrates. A COMMAND runs only once the schema is current (for a local
run that migrates, then serves). Several runs may start at once: the migration lock
(shop.migrate) lets one apply each migration while the others wait. The database is the one
shop.app.settings.database_dsn finds in the environment (the owner's login).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

LOG = logging.getLogger("shop.app.prestart")


def connect(dsn: str, wait_seconds: float, *, sleep: Callable[[float], None] = time.sleep) -> Any:
    """An autocommit psycopg connection to `dsn`, trying again every second for up to `wait_seconds`
    while the database cannot be reached (a new RDS instance, a fail-over). Raises psycopg's
    OperationalError once the time is up."""
    import psycopg  # noqa: PLC0415

    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return psycopg.connect(dsn, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as error:
            if time.monotonic() >= deadline:
                raise
            LOG.warning("the database is not reachable yet (%s); trying again", str(error).strip()[:200])
            sleep(1)


def prepare(connection: Any) -> list[str]:
    """Bring the connection's schema up to date; returns the migrations applied (none if current)."""
    from shop.migrate import apply_migrations  # noqa: PLC0415

    applied = apply_migrations(connection)
    LOG.info("migrations applied: %s", ", ".join(applied) if applied else "none (the schema is current)")
    return applied


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="python -m shop.app.prestart", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    command.add_argument("--wait", type=float, default=120, metavar="SECONDS",
                         help="how long to wait for the database to answer (120)")  # fmt: skip
    command.add_argument("command", nargs=argparse.REMAINDER, help="what to run once migrated (none: just migrate)")
    return command


def main(argv: list[str] | None = None, env: Mapping[str, str] = os.environ) -> int:
    args = parser().parse_args(argv)
    from shop.app.settings import database_dsn  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    with connect(database_dsn(env), args.wait) as connection:
        prepare(connection)
    if args.command:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execvp(args.command[0], args.command)  # noqa: S606 - the image's own command, as Docker runs an entry point's
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
