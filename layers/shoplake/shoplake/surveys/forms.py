"""Survey forms, declared one TOML file per form version under `forms/`.

A form says which columns a survey has, their types and allowed values, the header
aliases staff use (Korean and English), the date column that partitions the data and
the limits a file must stay within. Everything downstream derives from it: header
matching, validation, the Parquet schema and the Glue table's columns. Form files are TOML 1.0
(https://toml.io/en/v1.0.0), read with the standard library's `tomllib`.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

FORMS_DIR = Path(__file__).with_name("forms")

ColumnType = Literal["string", "integer", "number", "timestamp", "date", "string_list", "boolean"]

# Columns every survey table has besides the form's own: where each row came from.
SOURCE_COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("source_file", pa.string(), "string"),
    ("source_row", pa.int32(), "int"),
    ("form_version", pa.int16(), "smallint"),
)

_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "timestamp": pa.timestamp("ms", tz="UTC"),
    "date": pa.date32(),
    "string_list": pa.list_(pa.string()),
    "boolean": pa.bool_(),
}
_GLUE_TYPES = {
    "string": "string",
    "integer": "bigint",
    "number": "double",
    "timestamp": "timestamp",
    "date": "date",
    "string_list": "array<string>",
    "boolean": "boolean",
}


class FormError(ValueError):
    """A form file is malformed; the message names the file and the key."""


def normalise_label(text: object) -> str:
    """The form of a header or choice label that matching compares: case, width, spacing and punctuation folded.

    Unicode NFKC (UAX #15) and case-folded (full-width `ＡＢＣ` -> `abc`), format characters (category Cf:
    a byte-order mark U+FEFF left by a doubled BOM, zero-width spaces U+200B, word joiners U+2060, direction
    marks, soft hyphens) removed, and runs of whitespace, `_ - : . / ( )` made one space, trimmed:
    `"\\ufeffVisit_Date (방문일)"` -> `"visit date 방문일"`. Any object is turned to text first.
    """
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    if not folded.isascii():  # every format character is outside ASCII
        folded = "".join(character for character in folded if unicodedata.category(character) != "Cf")
    return re.sub(r"[\s_\-:./()]+", " ", folded).strip()


@dataclass(frozen=True)
class Limits:
    """What a file may hold before it is refused rather than read.

    `max_rows` and `max_columns` bound a sheet (Excel's own maxima are 1,048,576 rows, 16,384 columns);
    `max_cell_chars` is characters in one text cell; `max_uncompressed_bytes` bounds the whole xlsx archive
    inflated, `max_compression_ratio` any one member over 1 MB; the header is looked for in the first
    `header_search_rows` rows. A form's `[limits]` table overrides these.
    """

    max_rows: int = 1_048_576
    max_columns: int = 200
    max_cell_chars: int = 10_000
    # A full-height sheet (1,048,576 rows) of 20 columns inflates to 1.2 GB; streaming reads it without holding it.
    max_uncompressed_bytes: int = 2_500_000_000
    max_compression_ratio: float = 200.0
    header_search_rows: int = 20


@dataclass(frozen=True)
class Column:
    """One survey column: its stored name, type, whether required, the headers staff write for it.

    `allowed` lists the values a choice column may hold (empty: free text); `value_aliases` maps
    normalised labels to allowed values; `max_length` is characters; `minimum`/`maximum` bound numbers;
    `pattern` is a Python regular expression a text value must match from its start (`re.match`).
    """

    name: str
    type: ColumnType
    required: bool
    aliases: tuple[str, ...]
    allowed: tuple[str, ...] = ()
    value_aliases: Mapping[str, str] = field(default_factory=dict)
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None

    @property
    def arrow_type(self) -> pa.DataType:
        """The Parquet/Arrow type: int64, float64, `timestamp[ms, UTC]`, date32, list<string>, bool or string."""
        return _ARROW_TYPES[self.type]

    @property
    def glue_type(self) -> str:
        """The Glue (Hive) column type: bigint, double, timestamp, date, array<string>, boolean or string."""
        return _GLUE_TYPES[self.type]

    @property
    def labels(self) -> frozenset[str]:
        """The name and aliases as `normalise_label` folds them: what a header cell is matched against."""
        return frozenset(normalise_label(a) for a in (self.name, *self.aliases))


@dataclass(frozen=True)
class Form:
    """One version of a survey form, as its TOML file declares it.

    `form` and `version` name it (`key`); `table` is the Glue table and lake folder it fills;
    `partition_by` names the required timestamp or date column whose day (in `timezone`, an IANA zone
    name) partitions the data; `max_reject_ratio` (0-1) is the share of rows that may fail before the
    whole file is quarantined; `sheet` is the sheet name to try first.
    """

    form: str
    version: int
    title: str
    table: str
    partition_by: str
    timezone: str
    columns: tuple[Column, ...]
    max_reject_ratio: float
    sheet: str | None = None
    limits: Limits = field(default_factory=Limits)

    @property
    def key(self) -> str:
        """`<form>.v<version>`, e.g. `offline_ads.v1`: the form file's stem and the Parquet schema's metadata."""
        return f"{self.form}.v{self.version}"

    def column(self, name: str) -> Column:
        """The column named `name`; raises KeyError if the form has none."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def arrow_schema(self) -> pa.Schema:
        """The Parquet schema: the form's columns (required ones non-nullable), then `SOURCE_COLUMNS`.

        The schema's metadata holds `shoplake.form` = `key`.
        """
        fields = [pa.field(c.name, c.arrow_type, nullable=not c.required) for c in self.columns]
        fields += [pa.field(name, arrow_type, nullable=False) for name, arrow_type, _ in SOURCE_COLUMNS]
        return pa.schema(fields, metadata={"shoplake.form": self.key})

    def glue_columns(self) -> list[dict[str, str]]:
        """The Glue table's columns, as template.yaml must declare them."""
        return [{"Name": c.name, "Type": c.glue_type} for c in self.columns] + [
            {"Name": name, "Type": glue_type} for name, _, glue_type in SOURCE_COLUMNS
        ]

    def match_header(self, cells: Sequence[object]) -> dict[int, Column]:
        """Which cell index holds which column, for a candidate header row.

        Cells are compared by `normalise_label`; empty cells are skipped; a column is taken by its first
        matching cell only. Returns {0-based cell index: column}.
        """
        by_label = {label: column for column in self.columns for label in column.labels}
        matched: dict[int, Column] = {}
        taken: set[str] = set()
        for index, cell in enumerate(cells):
            if cell is None:
                continue
            column = by_label.get(normalise_label(cell))
            if column is not None and column.name not in taken:
                matched[index] = column
                taken.add(column.name)
        return matched

    def missing_required(self, matched: Mapping[int, Column]) -> list[str]:
        """The names of the required columns `matched` (from `match_header`) lacks, in form order."""
        present = {c.name for c in matched.values()}
        return [c.name for c in self.columns if c.required and c.name not in present]


def _column(raw: Mapping[str, Any], where: str) -> Column:
    try:
        kind = raw["type"]
        if kind not in _ARROW_TYPES:
            raise FormError(f"{where}.type: {kind!r} is not one of {sorted(_ARROW_TYPES)}")
        allowed = tuple(raw.get("allowed", ()))
        value_aliases = {normalise_label(k): v for k, v in (raw.get("value_aliases") or {}).items()}
        for alias, target in value_aliases.items():
            if allowed and target not in allowed:
                raise FormError(f"{where}.value_aliases.{alias}: {target!r} is not an allowed value")
        return Column(
            name=raw["name"],
            type=kind,
            required=bool(raw.get("required", False)),
            aliases=tuple(raw.get("aliases", ())),
            allowed=allowed,
            value_aliases=value_aliases,
            max_length=raw.get("max_length"),
            minimum=raw.get("minimum"),
            maximum=raw.get("maximum"),
            pattern=raw.get("pattern"),
        )
    except KeyError as error:
        raise FormError(f"{where}: missing key {error.args[0]!r}") from None


def load_form(path: Path) -> Form:
    """Read one form file, `<form>.v<version>.toml` (UTF-8 TOML).

    Raises FormError naming the file and key when the TOML is malformed, a required key (`form`,
    `version`, `title`, `table`, `partition_by`, `columns`, a column's `name`/`type`) is missing, a type is
    unknown, a value alias targets a value not `allowed`, the file name does not match, or `partition_by`
    is not a required timestamp or date column. An unknown `[limits]` key raises TypeError; a non-integer
    `version` ValueError; an unreadable file OSError.
    """
    where = path.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise FormError(f"{where}: {error}") from None
    try:
        columns = tuple(_column(c, f"{where} columns[{i}]") for i, c in enumerate(raw["columns"]))
        form = Form(
            form=raw["form"],
            version=int(raw["version"]),
            title=raw["title"],
            table=raw["table"],
            partition_by=raw["partition_by"],
            timezone=raw.get("timezone", "UTC"),
            columns=columns,
            max_reject_ratio=float(raw.get("max_reject_ratio", 0.1)),
            sheet=raw.get("sheet"),
            limits=Limits(**(raw.get("limits") or {})),
        )
    except KeyError as error:
        raise FormError(f"{where}: missing key {error.args[0]!r}") from None
    if path.name != f"{form.key}.toml":
        raise FormError(f"{where}: a form file is named <form>.v<version>.toml, here {form.key}.toml")
    partition = form.column(form.partition_by) if form.partition_by in {c.name for c in columns} else None
    if partition is None or partition.type not in ("timestamp", "date") or not partition.required:
        raise FormError(f"{where}.partition_by: {form.partition_by!r} must be a required timestamp or date column")
    return form


@cache
def all_forms(directory: Path = FORMS_DIR) -> tuple[Form, ...]:
    """Every form in `directory`, by form name, newest version first: a header matching two takes the newer.

    Cached per directory for the life of the process. Raises FormError (see `load_form`) for a bad file.
    """
    forms = [load_form(path) for path in sorted(directory.glob("*.toml"))]
    return tuple(sorted(forms, key=lambda f: (f.form, -f.version)))


def main(argv: list[str] | None = None) -> int:
    """`python -m shoplake.surveys.forms`: each form's Glue columns, to paste into template.yaml. Returns 0."""
    import argparse  # noqa: PLC0415 - only the command needs it

    argparse.ArgumentParser(
        prog="python -m shoplake.surveys.forms",
        description="Print each survey form's Glue table columns, as template.yaml's table declares them "
        "(make test fails until the template's table matches its form).",
    ).parse_args(argv)
    for each in all_forms():
        print(f"# {each.key} -> table {each.table}")  # noqa: T201
        for glue_column in each.glue_columns():
            print(f"            - {{Name: {glue_column['Name']}, Type: {glue_column['Type']}}}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
