"""The clickstream transform as `sam build` packages it for Lambda's arm64: pip's wheels, nothing of ours compiled."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.template import ROOT, function_properties, load_template

TEMPLATE = load_template()
BUILT = ROOT / ".aws-sam" / "build"
LAYER = BUILT / "SharedLayer" / "python"
FUNCTION = BUILT / "FirehoseTransformFunction"
# The transform's dependencies that ship compiled code (functions/firehose_transform/requirements.txt).
BINARY_DEPENDENCIES = ("msgspec", "pybase64")
AARCH64 = 183  # ELF e_machine


def _elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and header[4] == 2 and header[5] == 1, f"{path}: not a 64-bit little-endian ELF"
    return int.from_bytes(header[18:20], "little")


def _wheel_tags(dist_info: Path) -> list[str]:
    lines = (dist_info / "WHEEL").read_text(encoding="utf-8").splitlines()
    return [line.removeprefix("Tag:").strip() for line in lines if line.startswith("Tag:")]


def test_the_layer_and_the_transform_are_built_by_pip_for_arm64() -> None:
    # GIVEN the template: SAM's own python3.12 build method (aws-lambda-builders' pip workflow) for the layer
    layer = TEMPLATE["Resources"]["SharedLayer"]
    assert layer["Metadata"] == {"BuildMethod": "python3.12", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    # THEN the transform runs on arm64 too, and no C source is left to compile
    transform_function = function_properties(TEMPLATE, "FirehoseTransformFunction")
    assert transform_function["Architectures"] == ["arm64"]
    assert not list((ROOT / layer["Properties"]["ContentUri"]).rglob("*.c"))


@pytest.mark.build  # reads what `sam build` made (make test runs it before the tests)
def test_sam_build_packages_our_sources_and_aarch64_wheels_only() -> None:
    if not (LAYER.is_dir() and FUNCTION.is_dir()):
        pytest.skip("sam build has not run here (make test runs it)")
    # GIVEN the layer as built: our package is Python sources and data, nothing compiled
    ours = LAYER / "shoplake"
    assert (ours / "clickstream" / "transform.py").is_file()
    assert [str(p.relative_to(ours)) for p in ours.rglob("*") if p.suffix in {".so", ".c", ".pyd"}] == []
    assert (LAYER / "aws_lambda_powertools").is_dir() and (LAYER / "slack_sdk").is_dir()
    # THEN the transform's compiled dependencies are arm64 Linux wheels, by their tags and by their ELF files
    for name in BINARY_DEPENDENCIES:
        (dist_info,) = FUNCTION.glob(f"{name}-*.dist-info")
        tags = _wheel_tags(dist_info)
        assert tags and all(tag.startswith("cp312-") and tag.endswith("_aarch64") for tag in tags), (name, tags)
        modules = list((FUNCTION / name).rglob("*.so"))
        assert modules, f"{name}: no compiled module"
        assert {_elf_machine(module) for module in modules} == {AARCH64}, name
    # AND so is every other compiled file in either package (they cannot be imported here: checked as files)
    compiled = [*LAYER.rglob("*.so"), *FUNCTION.rglob("*.so")]
    assert {str(p.relative_to(BUILT)): _elf_machine(p) for p in compiled if _elf_machine(p) != AARCH64} == {}
