"""What the app image holds is enough to run: the app tier started from only the files its Dockerfile
copies (its .dockerignore allow-list) and the packages its requirements.txt installs, as the container's
entry point and command start it, answers its health check behind the web tier (nginx with the files
the web image holds: test_shop_web_image.py); the migration task's command migrates first (as the
database's owner), the app serves as its own role, and the scheduled housekeeping override runs (as
the app's role)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from psycopg.conninfo import make_conninfo

from local_stack.nginx import running_nginx
from local_stack.template import load_template
from shop.app.db_credentials import APP_ROLE
from shop.migrate import MIGRATIONS
from tests.package_guard import guard_directory, importable, requirements

ROOT = Path(__file__).resolve().parents[3]


def image_tree(tier: str, into: Path) -> Path:
    """The files the tier's image gets, copied from the repository by its Dockerfile's allow-list."""
    allowed = [
        line[1:].rstrip("/")
        for line in (ROOT / "shop" / tier / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    for name in allowed:
        source, target = ROOT / name, into / name.removeprefix("layers/shoplake/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(
                source, target, ignore=shutil.ignore_patterns("__pycache__", "Dockerfile*", "requirements.txt")
            )
        else:
            shutil.copy(source, target)
    return into


def container_argv(tier: str, instruction: str) -> list[str]:
    """The exec form of the tier's Dockerfile ENTRYPOINT or CMD, run by this interpreter."""
    (line,) = [
        line for line in (ROOT / "shop" / tier / "Dockerfile").read_text().splitlines() if line.startswith(instruction)
    ]
    argv: list[str] = json.loads(line.removeprefix(instruction))
    return [sys.executable if arg == "python" else arg for arg in argv]


def migration_command() -> list[str]:
    """The command of the migration task, in the app's image (infra_core/compute.yaml)."""
    task = load_template(ROOT / "infra_core" / "compute.yaml")["Resources"]["MigrationTaskDefinition"]["Properties"]
    (container,) = task["ContainerDefinitions"]
    return [sys.executable if arg == "python" else arg for arg in container["Command"]]


def housekeeping_override() -> list[str]:
    """The command the housekeeping schedule runs in the app's container (infra_core/compute.yaml)."""
    target = load_template(ROOT / "infra_core" / "compute.yaml")["Resources"]["HousekeepingSchedule"]["Properties"]
    (override,) = json.loads(target["Target"]["Input"])["containerOverrides"]
    assert override["name"] == "app"
    return [sys.executable if arg == "python" else arg for arg in override["command"]]


def image_environment(tree: Path, **env: str) -> dict[str, str]:
    """The container's environment: its files first, and imports limited to its requirements.txt and its files."""
    first_party = {path.name.removesuffix(".py") for path in tree.iterdir()}
    allowed = importable(requirements(ROOT / "shop" / "app" / "requirements.txt"), first_party)
    guard = guard_directory(tree.parent / f"{tree.name}-guard", allowed)
    return {"PATH": os.environ["PATH"], "PYTHONPATH": f"{tree}:{tree.parent / f'{tree.name}-guard'}", **guard, **env}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def started(argv: list[str], tree: Path, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    environment = image_environment(tree, HOST="127.0.0.1", PORT=str(port), **env)
    process = subprocess.Popen(  # noqa: S603 - this interpreter, our own modules
        argv, cwd=tree, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"{argv} did not become healthy:\n{output[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def test_the_app_tier_runs_from_its_images_files_alone(tmp_path: Path, postgres_dsn: str, database: Any) -> None:
    # GIVEN the files the app image holds, and an empty schema
    app_tree = image_tree("app", tmp_path / "app")
    assert (app_tree / "shoplake" / "business.py").exists()
    schema = database.execute("SELECT current_schema()").fetchone()[0]
    owner_env = {"DATABASE_URL": f"{postgres_dsn}?options=-csearch_path%3D{schema}"}
    app_dsn = make_conninfo(postgres_dsn, user=APP_ROLE, options=f"-csearch_path={schema}")
    app_env = {"DATABASE_URL": app_dsn, "SHOP_COOKIE_SECURE": "false"}
    # WHEN the migration task runs, as the database's owner
    migrate = subprocess.run(  # noqa: S603 - this interpreter, our own modules
        migration_command(), cwd=app_tree, env=image_environment(app_tree, **owner_env),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert migrate.returncode == 0, migrate.stderr
    # ... and the app starts as its container does (as its own role), nginx before it
    with (
        started(container_argv("app", "CMD"), app_tree, app_env) as app,
        running_nginx(app) as web,
    ):
        # THEN the storefront answers through both, over a schema migrated to the last migration
        assert httpx.get(f"{app}/readyz", timeout=10).json()["status"] == "ready"
        answer = httpx.get(f"{web}/api/products", params={"limit": 1}, timeout=10)
        assert answer.status_code == 200 and answer.json() == {"items": [], "next_cursor": None}
        categories = httpx.get(f"{web}/api/categories", timeout=10).json()["categories"]
        assert categories and "tops" in categories
    applied = [row[0] for row in database.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert applied == sorted(path.stem for path in MIGRATIONS.glob("*.sql"))
    # AND the scheduled housekeeping runs in the app's container as the schedule overrides its command
    run = subprocess.run(  # noqa: S603 - this interpreter, our own modules
        housekeeping_override(),
        cwd=app_tree, env=image_environment(app_tree, **app_env), capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert (
        run.returncode == 0 and "Swept(sessions=0, login_failures=0, signups=0, orders=0, payments=0)" in run.stderr
    ), run.stderr


def test_image_requirements_are_pinned_as_the_tests_pin_them() -> None:
    pins = set((ROOT / "requirements" / "dev.txt").read_text().splitlines())
    lines = [line for line in (ROOT / "shop" / "app" / "requirements.txt").read_text().splitlines() if "==" in line]
    assert lines and set(lines) <= pins, set(lines) - pins
