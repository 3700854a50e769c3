"""What the two images hold is enough to run: each tier started from only the files its Dockerfile
copies (its .dockerignore allow-list), as the container's command starts it, answers its health check."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def started(module: str, tree: Path, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    environment = {"PATH": os.environ["PATH"], "PYTHONPATH": str(tree), "HOST": "127.0.0.1", "PORT": str(port), **env}
    process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
        [sys.executable, "-m", module], cwd=tree, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
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
                pytest.fail(f"{module} did not become healthy:\n{output[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def test_each_tier_runs_from_its_images_files_alone(tmp_path: Path, postgres_dsn: str, shop_schema: str) -> None:
    app_tree = image_tree("app", tmp_path / "app")
    web_tree = image_tree("web", tmp_path / "web")
    assert not (app_tree / "shop" / "history.py").exists() and not (web_tree / "shop" / "app").exists()
    database = f"{postgres_dsn}?options=-csearch_path%3D{shop_schema}"
    with (
        started("shop.app.main", app_tree, {"DATABASE_URL": database, "SHOP_COOKIE_SECURE": "false"}) as app,
        started("shop.web.site", web_tree, {"APP_TIER_URL": app}) as web,
    ):
        answer = httpx.get(f"{web}/api/products", params={"limit": 1}, timeout=10)
        assert answer.status_code == 200 and answer.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("tier", ["app", "web"])
def test_image_requirements_are_pinned_as_the_tests_pin_them(tier: str) -> None:
    pins = set((ROOT / "requirements" / "dev.txt").read_text().splitlines())
    lines = [line for line in (ROOT / "shop" / tier / "requirements.txt").read_text().splitlines() if "==" in line]
    assert lines and set(lines) <= pins, set(lines) - pins
