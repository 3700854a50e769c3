"""How the report shows a product: by its name, with its id where names read alike (`Shirt (#10)`).

A product is its id (the queries' `product_id`); its name is what the shop lists it as, and two products may
be listed under names a reader cannot tell apart: the same name, or names that differ only in what the page
does not show (NFC against NFD accents, a trailing or doubled space, a zero-width space, letter case, a
full-width letter). Each such product is labelled with its id, and so is a product whose name reads like
another's label (a product named "Shirt (#11)" beside product 11, a "Shirt"): every product keeps a label of
its own, while rows stay keyed by the id, never by the label.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

Row = dict[str, Any]


def reads_as(name: str) -> str:
    """What a reader can tell of `name`: without format characters (Unicode category Cf: zero-width space and
    joiners, direction marks, soft hyphen), NFKC-normalised and case-folded (`unicodedata`), its white space
    trimmed and each run of it one space (as HTML shows it). Two names a reader cannot tell apart give the same."""
    visible = "".join(char for char in name if unicodedata.category(char) != "Cf")
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", visible).casefold())
    return " ".join(folded.split())


def product_labels(names: Mapping[str, str]) -> dict[str, str]:
    """Each product's label, by product id: its name, or `<name> (#<id>)` when it reads like another's.

    `names` maps each product id to its name. A product gets its id when its name reads as another product's
    name or label does (`reads_as`); repeated until no two labels read alike, which a label carrying its id
    never does with another (the ids differ).
    """
    with_id: set[str] = set()
    while True:
        labels = {key: f"{name} (#{key})" if key in with_id else name for key, name in names.items()}
        readers: dict[str, list[str]] = defaultdict(list)
        for key, label in labels.items():
            readers[reads_as(label)].append(key)
        clashing = {key for keys in readers.values() if len(keys) > 1 for key in keys} - with_id
        if not clashing:
            return labels
        with_id |= clashing


def with_labels(rows: list[Row], column: str) -> list[Row]:
    """The rows, each one with a `product_id` showing its product's label in `column` instead of its name.

    Labels are made over all the rows' products (one name per id: the queries name a product alike on every
    row); a row without a product (`product_id` None: a category's, a week's) is returned as it is.
    """
    labels = product_labels({str(r["product_id"]): str(r[column]) for r in rows if r["product_id"] is not None})
    return [row if row["product_id"] is None else row | {column: labels[str(row["product_id"])]} for row in rows]
