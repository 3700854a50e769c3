"""Compile the shared layer's native module, shoplake/clickstream/_canonical.c, with Zig's C compiler.

One recipe for the two places it is built:

- `make` builds it for this machine, beside its source, for the tests, the demo and the
  benchmark (`python layers/shoplake/build_native.py`);
- the layer's Makefile (`sam build`) builds it for Lambda's arm64 Linux into the layer
  (`--target aarch64-linux-gnu.2.17 --out DIR`).

`zig cc` cross-compiles from any host with nothing but Python: it comes as the `ziglang`
wheel from PyPI, installed on demand into a cache when the interpreter lacks it. The module
uses Python's stable ABI (3.12 and later), so one build serves every later interpreter,
and it links against nothing but the interpreter (glibc 2.17 symbols at most).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import subprocess
import sys
import sysconfig
from pathlib import Path

ZIGLANG = "ziglang==0.15.2"
HERE = Path(__file__).resolve().parent
SOURCE = HERE / "shoplake" / "clickstream" / "_canonical.c"
MODULE = "_canonical.abi3.so"
FLAGS = ["-std=c11", "-O2", "-fPIC", "-shared", "-s", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"]


def _zig() -> tuple[list[str], dict[str, str]]:
    """The command that runs zig, and its environment: installed ziglang, or a cached copy."""
    env = dict(os.environ)
    if importlib.util.find_spec("ziglang") is None:
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "shoplake" / ZIGLANG.replace("==", "-")
        if not (cache / "ziglang").is_dir():
            subprocess.run(  # noqa: S603 - pip, with a pinned requirement
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--target",
                    str(cache),
                    ZIGLANG,
                ],
                check=True,
            )
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(cache), env.get("PYTHONPATH")]))
    return [sys.executable, "-m", "ziglang"], env


def host_target() -> str:
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine().lower())
    if sys.platform == "darwin":
        return f"{machine}-macos"
    return f"{machine}-linux-gnu.2.17"


def build(target: str, out: Path) -> Path:
    if sys.version_info < (3, 12):  # noqa: UP036 - run by whichever python3 the host has
        raise SystemExit("build_native.py needs Python 3.12 or later (its headers declare the stable ABI used)")
    zig, env = _zig()
    out.mkdir(parents=True, exist_ok=True)
    module = out / MODULE
    link = ["-undefined", "dynamic_lookup"] if "macos" in target else []
    command = [*zig, "cc", "-target", target, *FLAGS, *link, "-I", sysconfig.get_paths()["include"]]
    subprocess.run([*command, str(SOURCE), "-o", str(module)], check=True, env=env)  # noqa: S603
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default=host_target(), help="zig's target triple (default: this machine)")
    parser.add_argument("--out", type=Path, default=SOURCE.parent, help="directory for the module")
    arguments = parser.parse_args()
    print(f"built {build(arguments.target, arguments.out)} for {arguments.target}")  # noqa: T201 - a build tool's report


if __name__ == "__main__":
    main()
