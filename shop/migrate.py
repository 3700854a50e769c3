"""Apply the shop's migrations, in order, each once: `python -m shop.migrate --dsn postgresql://...`.

Each file in `migrations/` runs in its own transaction and is recorded in `schema_migrations`,
so running again applies only what is new. The whole run holds the schema's migration lock
(a PostgreSQL advisory lock), so tasks starting at once apply each migration exactly once: the
first applies, the others wait and then find nothing left to do. The app image runs this
before its server (shop.app.prestart).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from shop.app.db.locks import Lock, advisory_lock

MIGRATIONS = Path(__file__).with_name("migrations")


def apply_migrations(connection: Any, directory: Path = MIGRATIONS) -> list[str]:
    """Apply the migrations of `directory` (`NNNN_name.sql`, in name order) not yet applied to the
    connection's schema; returns their names (file stems), in order.

    `connection` is a psycopg connection in autocommit mode (ValueError otherwise). A migration that
    fails raises psycopg's error; it is rolled back, those before it stay applied.
    """
    with advisory_lock(connection, Lock.MIGRATIONS):
        with connection.transaction():
            connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
        applied = {row[0] for row in connection.execute("SELECT version FROM schema_migrations").fetchall()}
        done = []
        for path in sorted(directory.glob("*.sql")):
            if path.stem in applied:
                continue
            with connection.transaction():
                connection.execute(path.read_text(encoding="utf-8"))
                connection.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (path.stem,))
            done.append(path.stem)
        return done


def pending_migrations(connection: Any, directory: Path = MIGRATIONS) -> list[str]:
    """The migrations of `directory` not yet applied to the connection's schema (file stems, in
    order; all of them on a schema never migrated). Reads only: the app's role may ask (readiness).

    psycopg's errors pass through.
    """
    shipped = sorted(path.stem for path in directory.glob("*.sql"))
    exists = connection.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not (exists and exists[0]):
        return shipped
    applied = {row[0] for row in connection.execute("SELECT version FROM schema_migrations").fetchall()}
    return [name for name in shipped if name not in applied]


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - a thin command over apply_migrations
    import psycopg  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", required=True, help="e.g. postgresql://shop@localhost:5432/shop")
    args = parser.parse_args(argv)
    with psycopg.connect(args.dsn, autocommit=True) as connection:
        for name in apply_migrations(connection):
            print(f"applied {name}")  # noqa: T201
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
