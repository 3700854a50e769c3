"""The transform's canonical path as built: arm64 in the layer, and memory-safe under sanitizers.

The sanitizer run repeats every canonical-path test (CANONICAL_PATH_TESTS) against a build with
AddressSanitizer and UndefinedBehaviorSanitizer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from local_stack.template import load_template

SAM_LAYER = Path(".aws-sam/build/SharedLayer/python")
# What the sanitized build must pass: every test that runs the canonical path.
CANONICAL_PATH_TESTS = [
    str(Path(__file__).with_name(name))
    for name in ("test_clickstream_canonical_cases.py", "test_clickstream_canonical_properties.py")
]
AARCH64 = 183  # ELF e_machine


@pytest.mark.build  # reads the layer `sam build` made
def test_the_layer_is_built_with_its_native_module_for_lambdas_arm64() -> None:
    # The template builds the layer with its Makefile, which compiles the module for the layer's architecture.
    template = load_template()
    layer = template["Resources"]["SharedLayer"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    transform_function = template["Resources"]["FirehoseTransformFunction"]["Properties"]
    architectures = transform_function.get("Architectures", template["Globals"]["Function"]["Architectures"])
    assert architectures == ["arm64"]
    makefile = (Path(layer["Properties"]["ContentUri"]) / "Makefile").read_text()
    assert "build-SharedLayer:" in makefile and "--target aarch64-linux-gnu" in makefile
    # and `sam build` (make test runs it before the tests) put an arm64 module beside transform.py
    module = SAM_LAYER / "shoplake" / "clickstream" / "_canonical.abi3.so"
    if not SAM_LAYER.is_dir():
        pytest.skip("sam build has not run here (make test runs it)")
    header = module.read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and header[4] == 2 and header[5] == 1  # 64-bit, little-endian
    assert int.from_bytes(header[18:20], "little") == AARCH64
    assert (SAM_LAYER / "shoplake" / "clickstream" / "transform.py").is_file()
    assert not list((SAM_LAYER / "shoplake").rglob("*.c"))
    assert (SAM_LAYER / "aws_lambda_powertools").is_dir() and (SAM_LAYER / "slack_sdk").is_dir()


def _sanitizer_runtimes() -> list[str]:
    gcc = shutil.which("gcc")
    if gcc is None:
        return []
    found = [
        subprocess.run([gcc, f"-print-file-name={lib}"], capture_output=True, text=True, check=False).stdout.strip()  # noqa: S603 - gcc, found on PATH
        for lib in ("libasan.so", "libubsan.so")
    ]
    return [f for f in found if os.path.isabs(f) and os.path.exists(f)]


@pytest.mark.build  # compiles the module with sanitizers and runs the canonical-path tests again
@pytest.mark.skipif(bool(os.environ.get("SHOPLAKE_SANITIZED")), reason="already the sanitized run")
def test_the_canonical_path_is_memory_safe_under_address_and_undefined_behaviour_sanitizers(tmp_path: Path) -> None:
    # The module parses untrusted bytes in C: every canonical-path test (CANONICAL_PATH_TESTS) runs
    # again against a build with AddressSanitizer and UndefinedBehaviorSanitizer, which abort on any
    # out-of-bounds access, use after free or undefined arithmetic.
    runtimes, gcc = _sanitizer_runtimes(), shutil.which("gcc")
    if len(runtimes) != 2 or gcc is None:
        pytest.skip("needs gcc with libasan and libubsan (Debian: gcc)")
    layer = tmp_path / "layer"
    shutil.copytree(Path("layers/shoplake/shoplake"), layer / "shoplake", ignore=shutil.ignore_patterns("*.so"))
    include = sysconfig.get_paths()["include"]
    source = layer / "shoplake" / "clickstream" / "_canonical.c"
    module = source.with_name("_canonical.abi3.so")
    sanitize = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
    subprocess.run(  # noqa: S603 - gcc, found on PATH, on our own source
        [gcc, "-O1", "-g", *sanitize, "-fPIC", "-shared", "-I", include, str(source), "-o", str(module)], check=True
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(layer), ".", "glue"]),
        "LD_PRELOAD": ":".join(runtimes),
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1",
        "PYTHONMALLOC": "malloc",  # Python's own allocations are checked too
        "SHOPLAKE_SANITIZED": str(module),  # which the run checks it imported
    }
    run = subprocess.run(  # noqa: S603 - this interpreter, this file's tests
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-x",
            "-o",
            "pythonpath=. glue",
            *CANONICAL_PATH_TESTS,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
