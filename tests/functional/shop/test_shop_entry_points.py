"""The app tier's entry points: each says how it is used without a database; the pre-start migrates
once however many tasks start together; housekeeping runs a pass, skips one already under way, and
keeps its beat through a failed pass, and refuses an unpaid window or a beat out of range."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from shop.app import housekeeping, prestart
from shop.app.db.locks import Lock, advisory_lock
from shop.migrate import MIGRATIONS

ENTRY_POINTS = ["shop.app.main", "shop.app.prestart", "shop.app.housekeeping", "shop.migrate"]
# Nothing listens here: an entry point that tried to reach its database would fail.
NOWHERE = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"}


def schema_dsn(postgres_dsn: str, database: Any) -> str:
    schema = database.execute("SELECT current_schema()").fetchone()[0]
    return f"{postgres_dsn}?options=-csearch_path%3D{schema}"


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_every_entry_point_prints_its_usage_without_a_database(module: str) -> None:
    run = subprocess.run(  # noqa: S603 - this interpreter, our own module
        [sys.executable, "-m", module, "--help"],
        env={"PATH": os.environ["PATH"], **NOWHERE}, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage:") and module in run.stdout


def test_two_pre_starts_at_once_apply_each_migration_exactly_once(postgres_dsn: str, database: Any) -> None:
    # GIVEN an empty schema whose migration lock someone holds, and two tasks starting on it
    dsn = schema_dsn(postgres_dsn, database)
    environment = {"PATH": os.environ["PATH"], "DATABASE_URL": dsn}
    with advisory_lock(database, Lock.MIGRATIONS):
        tasks = [
            subprocess.Popen(
                [sys.executable, "-m", "shop.app.prestart"], env=environment, stderr=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        # WHEN both are waiting on the lock
        deadline = time.monotonic() + 30
        while _waiting_for(database, Lock.MIGRATIONS) < 2:
            assert time.monotonic() < deadline and all(task.poll() is None for task in tasks)
            time.sleep(0.05)
    # ... and the lock is let go: THEN both finish, one having migrated, the other finding nothing to do
    logs = [task.communicate(timeout=60)[1] for task in tasks]
    assert [task.returncode for task in tasks] == [0, 0], logs
    migrations = sorted(path.stem for path in MIGRATIONS.glob("*.sql"))
    applied = [row[0] for row in database.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert applied == migrations
    assert sorted("the schema is current" in log for log in logs) == [False, True], logs


def _waiting_for(connection: Any, lock: Lock) -> int:
    row = connection.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND NOT granted", (int(lock),)
    ).fetchone()
    return int(row[0])


def test_the_pre_start_becomes_its_command_once_migrated(postgres_dsn: str, database: Any) -> None:
    # GIVEN an empty schema WHEN the pre-start runs with a command after its own options
    probe = "import sys; print('ran', *sys.argv[1:])"
    run = subprocess.run(  # noqa: S603 - this interpreter, our own module
        [sys.executable, "-m", "shop.app.prestart", "--wait", "5", sys.executable, "-c", probe, "--port", "1"],
        env={"PATH": os.environ["PATH"], "DATABASE_URL": schema_dsn(postgres_dsn, database)},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    # THEN the schema is migrated first, and the command runs with its own arguments untouched
    assert run.returncode == 0 and run.stdout == "ran --port 1\n", run.stderr
    assert database.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(
        list(MIGRATIONS.glob("*.sql"))
    )


def test_the_pre_start_gives_up_on_a_database_that_never_answers() -> None:
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(0.1)

    with pytest.raises(psycopg.OperationalError):
        prestart.connect(NOWHERE["DATABASE_URL"], 0.3, sleep=sleep)
    assert waits  # it tried again before giving up


def test_a_housekeeping_pass_removes_expired_sessions_and_cancels_orders_left_unpaid(
    postgres_dsn: str, database: Any
) -> None:
    # GIVEN a shop with an expired session, a live one, and an order unpaid for 31 minutes
    prestart.prepare(database)
    customer = database.execute("INSERT INTO customer (country) VALUES ('US') RETURNING customer_id").fetchone()[0]
    product = database.execute(
        "INSERT INTO product (seller_id, name, category, price, stock) VALUES (%s, 'Tote', 'bags', 20, 3) "
        "RETURNING product_id",
        (customer,),
    ).fetchone()[0]
    for token, lifetime in ((b"old", timedelta(minutes=-1)), (b"new", timedelta(hours=1))):
        database.execute(
            "INSERT INTO shop_session (token_hash, customer_id, csrf_token, expires_at) "
            "VALUES (%s, %s, 'x', now() + %s)",
            (token, customer, lifetime),
        )
    database.execute(
        "INSERT INTO customer_order (order_id, customer_id, idempotency_key, total, currency, created_at) "
        "VALUES (gen_random_uuid(), %s, 'key-00000001', 40, 'USD', now() - interval '31 minutes')",
        (customer,),
    )
    database.execute(
        "INSERT INTO purchase (order_id, customer_id, product_id, quantity, unit_price) "
        "SELECT order_id, customer_id, %s, 2, 20 FROM customer_order",
        (product,),
    )
    database.execute("UPDATE product SET stock = 1")
    # WHEN the entry point runs one pass, as the schedule starts it
    assert housekeeping.main([], env={"DATABASE_URL": schema_dsn(postgres_dsn, database)}) == 0
    # THEN the expired session went, the live one stays, the order is cancelled and its stock is back
    assert database.execute("SELECT token_hash FROM shop_session").fetchall() == [(b"new",)]
    assert database.execute("SELECT status FROM customer_order").fetchall() == [("cancelled",)]
    assert database.execute("SELECT status FROM purchase").fetchall() == [("cancelled",)]
    assert database.execute("SELECT stock FROM product").fetchone() == (3,)


def test_a_housekeeping_pass_skips_while_another_is_under_way(postgres_dsn: str, database: Any) -> None:
    # GIVEN another pass under way (it holds the housekeeping lock on its own connection)
    prestart.prepare(database)
    with psycopg.connect(schema_dsn(postgres_dsn, database), autocommit=True) as other:
        with advisory_lock(other, Lock.HOUSEKEEPING, wait=False) as held:
            assert held
            # WHEN a second pass starts THEN it does nothing and says so
            assert housekeeping.keep_house(database) is None
        # AND once the first is done, the next pass runs
        assert housekeeping.keep_house(database) == housekeeping.Swept(0, 0, 0, 0, 0)


def test_housekeeping_every_few_seconds_goes_on_after_a_failed_pass(postgres_dsn: str, database: Any) -> None:
    # GIVEN a beat whose first pass cannot reach the database
    prestart.prepare(database)
    dsn, stop, attempts = schema_dsn(postgres_dsn, database), threading.Event(), []

    @contextmanager
    def connect() -> Iterator[Any]:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            raise psycopg.OperationalError("the database is restarting")
        if len(attempts) == 3:
            stop.set()
        with psycopg.connect(dsn, autocommit=True) as connection:
            yield connection

    # WHEN it keeps house every few milliseconds THEN the passes after the failure run, until stopped
    housekeeping.keep_house_every(connect, 0.01, stop, unpaid_after=timedelta(minutes=30))
    assert len(attempts) == 3


@pytest.mark.parametrize(
    "argv",
    [["--unpaid-minutes", value] for value in ("-1", "0", "4.9", "nan", "inf", "1e12", "thirty")]
    + [["--every", value] for value in ("0", "-5", "0.5", "nan", "inf")],
)
def test_housekeeping_refuses_an_unpaid_window_or_beat_out_of_range_as_a_usage_error(
    postgres_dsn: str, database: Any, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an order placed a moment ago
    prestart.prepare(database)
    customer = database.execute("INSERT INTO customer (country) VALUES ('US') RETURNING customer_id").fetchone()[0]
    database.execute(
        "INSERT INTO customer_order (order_id, customer_id, idempotency_key, total, currency) "
        "VALUES (gen_random_uuid(), %s, 'key-00000001', 40, 'USD')",
        (customer,),
    )
    # WHEN housekeeping is started with a window or a beat out of range
    with pytest.raises(SystemExit) as stopped:
        housekeeping.main(argv, env={"DATABASE_URL": schema_dsn(postgres_dsn, database)})
    # THEN it stops with a usage error naming the option, and the order stays
    assert stopped.value.code == 2 and argv[0] in capsys.readouterr().err
    assert database.execute("SELECT status FROM customer_order").fetchall() == [("pending",)]


def test_keeping_house_with_an_unpaid_window_under_the_minimum_is_refused(database: Any) -> None:
    # GIVEN a migrated schema WHEN a pass or a beat is asked to cancel orders unpaid for a minute THEN ValueError
    prestart.prepare(database)
    with pytest.raises(ValueError, match="unpaid_after"):
        housekeeping.keep_house(database, unpaid_after=timedelta(minutes=1))
    with pytest.raises(ValueError, match="unpaid_after"):
        housekeeping.keep_house_every(lambda: database, 60, threading.Event(), unpaid_after=timedelta(0))
