"""Survey workbook → typed Parquet: shoplake's `read_survey` against pandas `read_excel` + `to_parquet`,
with pandas's calamine engine (the alternative `ratio` names) and with its default, openpyxl.

The workbook is what staff upload (local_stack.sample_surveys): a merged title row, Korean
headers on row 3, 12 form columns and 8 free-text ones, 20 columns in all. It is converted
at 20,000 and 200,000 data rows by

- ours: `shoplake.surveys.ingest.read_survey` with the offline_ads form plus the 8 extra
  columns declared as optional strings, so both tools type and write all 20 columns; the
  budget the deployed function has (`memory_budget` of the MemorySize in template.yaml)
  picks the reader, calamine or openpyxl streaming;
- pandas-calamine: `pandas.read_excel(engine="calamine", sheet_name="응답", header=2)` then
  `DataFrame.to_parquet` (zstd, like ours): the fastest reader a user can pick in pandas (2.2+,
  python-calamine, the same Rust parser as ours). pandas alone cannot write this file: the date
  column mixes Excel dates and dates typed as text, which pyarrow refuses, so the alternative also
  runs the one line a user would add, `pd.to_datetime(format="mixed")`. No cell is validated;
- pandas: the same with pandas's default `engine="openpyxl"`, as awswrangler does it (a second figure).

Each measurement runs in a fresh interpreter that imports only its own tool, and reports the
seconds of the conversion and the process's peak RSS (`ru_maxrss`, imports included). The
parent imports nothing heavy and makes the workbooks in a subprocess of their own: on Linux a
child's `ru_maxrss` starts at its parent's peak. Workbooks are cached in .local/bench/.

The last line reads: rows/s and peak RSS at 200,000 rows for each tool (MB = MiB, as Lambda counts
memory), ratio = ours ÷ pandas-calamine in rows/s (higher is better for ours), then the same
figures at 20,000 rows in brackets.
"""

from __future__ import annotations

import importlib
import importlib.abc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local_stack.scratch import scratch_directory  # standard library only: the parent stays small

if TYPE_CHECKING:
    from shoplake.surveys.forms import Form

NAME = "survey_ingest"
ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".local" / "bench"
SIZES = (20_000, 200_000)
TOOLS = ("ours", "pandas-calamine", "pandas")
ALTERNATIVE = "pandas-calamine"
EXTRA_COLUMNS = 8
SHEET = "응답"
HEADER_ROW = 2  # 0-based for pandas: the title row, an empty row, then the header
DATE_HEADER = "응답 일시"
FORM_FILE = "offline_ads.v1.toml"


@dataclass(frozen=True)
class Measurement:
    tool: str
    rows: int
    seconds: float
    peak_rss_kib: int
    after_imports_kib: int
    hwm_kib: int
    reader: str
    outputs: int
    output_bytes: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds

    @property
    def peak_mb(self) -> float:
        return self.peak_rss_kib / 1024


# The child side: one tool, one file, in this fresh process.


def _peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _vm_hwm_kib() -> int:
    """This process's own high-water mark, without what a parent passed on through exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return -1


def _untyped(module: str) -> Any:
    """pandas and pyarrow ship no type information; imported this way they are `Any`, with no ignore to go stale."""
    return importlib.import_module(module)


def _benchmark_form(directory: Path) -> Form:
    """The real offline_ads form with the workbook's 8 free-text columns declared as optional strings."""
    from shoplake.surveys.forms import FORMS_DIR, load_form  # noqa: PLC0415 - only the child imports shoplake

    text = (FORMS_DIR / FORM_FILE).read_text(encoding="utf-8")
    for i in range(1, EXTRA_COLUMNS + 1):
        text += f'\n[[columns]]\nname = "extra_{i}"\ntype = "string"\nrequired = false\naliases = ["추가 질문 {i}"]\n'
    path = directory / FORM_FILE
    path.write_text(text, encoding="utf-8")
    return load_form(path)


class _NoPandas(importlib.abc.MetaPathFinder):
    """An import finder for which pandas is not installed, as in the survey parser's Lambda package."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname == "pandas" or fullname.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)


def _run_ours(path: Path) -> dict[str, Any]:
    # As deployed: the parser's package has no pandas (functions/survey_parser/requirements.txt), while pyarrow
    # imports it on its first `pa.array` where it can (half a second here, never in Lambda).
    sys.meta_path.insert(0, _NoPandas())
    from shoplake.surveys.ingest import memory_budget  # noqa: PLC0415 - each child imports its own tool only
    from shoplake.surveys.survey_file import read_survey  # noqa: PLC0415 - each child imports its own tool only

    function_memory = int(os.environ["SHOPLAKE_BENCH_FUNCTION_MEMORY_MB"])

    pa, pq = _untyped("pyarrow"), _untyped("pyarrow.parquet")

    with tempfile.TemporaryDirectory(prefix="bench-form-") as work:
        form = _benchmark_form(Path(work))
    after_imports = _peak_rss_kib()
    start = time.perf_counter()
    parsed = read_survey(path, path.name, f"bench/{path.name}", (form,), memory_budget(function_memory))
    seconds = time.perf_counter() - start
    peak, hwm = _peak_rss_kib(), _vm_hwm_kib()
    assert not parsed.problems, parsed.problems[:5]
    assert len(parsed.layout.columns) == len(form.columns) and not parsed.layout.ignored, parsed.layout
    written: int = sum(pq.read_metadata(pa.BufferReader(body)).num_rows for body in parsed.partitions.values())
    assert written == parsed.rows, (written, parsed.rows)
    return {
        "rows": parsed.rows,
        "seconds": seconds,
        "peak_rss_kib": peak,
        "after_imports_kib": after_imports,
        "hwm_kib": hwm,
        "reader": parsed.reader,
        "outputs": len(parsed.partitions),
        "output_bytes": sum(len(body) for body in parsed.partitions.values()),
    }


def _run_pandas(path: Path, engine: str) -> dict[str, Any]:
    pd = _untyped("pandas")  # each child imports its own tool only
    if engine == "calamine":
        _untyped("python_calamine")  # imported here, as pandas would, so its import is not timed

    after_imports = _peak_rss_kib()
    start = time.perf_counter()
    frame = pd.read_excel(path, sheet_name=SHEET, header=HEADER_ROW, engine=engine)
    # Excel dates and dates typed as text share the column; pyarrow refuses the mix without this.
    frame[DATE_HEADER] = pd.to_datetime(frame[DATE_HEADER], format="mixed")
    body: bytes = frame.to_parquet(None, engine="pyarrow", compression="zstd", index=False)
    seconds = time.perf_counter() - start
    peak, hwm = _peak_rss_kib(), _vm_hwm_kib()
    rows, columns = (int(n) for n in frame.shape)
    assert columns == 12 + EXTRA_COLUMNS, list(frame.columns)
    return {
        "rows": rows,
        "seconds": seconds,
        "peak_rss_kib": peak,
        "after_imports_kib": after_imports,
        "hwm_kib": hwm,
        "reader": f"{engine} (pandas)",
        "outputs": 1,
        "output_bytes": len(body),
    }


def _generate(rows: int, path: Path) -> None:
    from local_stack.sample_surveys import write_survey_workbook  # noqa: PLC0415 - only the child imports openpyxl

    partial = path.with_name(path.stem + ".partial.xlsx")  # openpyxl reopens it, so it keeps .xlsx
    write_survey_workbook(partial, rows=rows, bad_rows=False, extra_columns=EXTRA_COLUMNS)
    partial.replace(path)


# The parent side: workbooks, one child per measurement, the lines.


def _child(*args: str) -> str:
    run = subprocess.run(  # noqa: S603 - this script, with this interpreter
        [sys.executable, __file__, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True
    )
    return run.stdout


def workbook(rows: int) -> Path:
    """The cached workbook with this many data rows, made first if it is not there."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"survey_{rows}rows_{12 + EXTRA_COLUMNS}cols.xlsx"
    if not path.exists():
        start = time.perf_counter()
        _child("--generate", str(rows), str(path))
        size = path.stat().st_size / 2**20
        print(f"  made {path.relative_to(ROOT)} ({size:.1f} MiB) in {time.perf_counter() - start:.0f} s", flush=True)
    return path


def measure(tool: str, path: Path) -> Measurement:
    output = _child("--one", tool, str(path))
    result = json.loads(output.strip().splitlines()[-1])
    return Measurement(tool=tool, **result)


def describe(m: Measurement) -> str:
    return (
        f"  {m.rows:>7,} rows  {m.tool:<15}  {m.rows_per_second:>9,.0f} rows/s  ({m.seconds:6.2f} s)  "
        f"peak RSS {m.peak_mb:6.0f} MB (after imports {m.after_imports_kib / 1024:.0f} MB, "
        f"VmHWM {m.hwm_kib / 1024:.0f} MB)"
        f"  reader={m.reader}  {m.outputs} Parquet file(s), {m.output_bytes / 2**20:.1f} MiB"
    )


def _function_memory_mb() -> str:
    """The survey parser's MemorySize in template.yaml, read in a child so this process stays small."""
    script = (
        "from local_stack.template import load_template; "
        "print(load_template()['Resources']['SurveyParserFunction']['Properties']['MemorySize'])"
    )
    run = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return run.stdout.strip()


def _figures(results: dict[tuple[str, int], Measurement], rows: int) -> str:
    """Each tool's rows/s and peak RSS at `rows`, as the summary line gives them."""
    return " ".join(
        f"{tool.replace('-', '_')}={results[tool, rows].rows_per_second:.0f} rows/s "
        f"{tool.replace('-', '_')}_peak_rss={results[tool, rows].peak_mb:.0f} MB"
        for tool in TOOLS
    )


def main() -> int:
    os.environ["SHOPLAKE_BENCH_FUNCTION_MEMORY_MB"] = _function_memory_mb()
    results: dict[tuple[str, int], Measurement] = {}
    # The children's temporary files (openpyxl's, the forms') go in here, removed at the end.
    with scratch_directory("bench-survey"):
        for rows in SIZES:
            path = workbook(rows)
            for tool in TOOLS:
                result = measure(tool, path)
                print(describe(result), flush=True)
                results[tool, rows] = result
            assert all(results[tool, rows].rows == rows for tool in TOOLS), [results[t, rows].rows for t in TOOLS]
    small, large = SIZES
    ratio = results["ours", large].rows_per_second / results[ALTERNATIVE, large].rows_per_second
    print(
        f"{NAME} rows={large} {_figures(results, large)} ratio={ratio:.2f} "
        f"({small // 1000}k: {_figures(results, small)})"
    )
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        tool, file = sys.argv[2], Path(sys.argv[3])
        engine = tool.removeprefix("pandas").removeprefix("-") or "openpyxl"
        print(json.dumps(_run_ours(file) if tool == "ours" else _run_pandas(file, engine)))
    elif sys.argv[1:2] == ["--generate"]:
        _generate(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit(main())
