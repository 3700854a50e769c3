"""A workbook's copy with some of its parts rewritten: how `xml_encoding` and `strict_ooxml` make theirs.

Each member of the ZIP package is copied in order, under its name and date, deflated at level 1 (the copy
is read once, by this process); a member the caller names is rewritten on the way by a function of its
own, the others copied byte for byte. Both stream in chunks, so a large part costs no more memory than a
small one; the caller has already checked the archive's sizes (`workbook.check_archive`).
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

# The parts that hold XML (`.vml`: legacy drawings, such as comments' shapes).
XML_PARTS = (".xml", ".rels", ".vml")
CHUNK = 1 << 20
# Reads a part from the first stream and writes its rewritten bytes to the second.
PartRewrite = Callable[[IO[bytes], IO[bytes]], None]


def copy_rewriting(path: Path, target: Path, rewrite_for: Callable[[str], PartRewrite | None], growth: int) -> None:
    """Copy the workbook at `path` to `target`, each part `rewrite_for(<its name>)` answers rewritten by that.

    `growth` is the most a rewrite can multiply a part's size by: a part whose size times `growth` may pass
    `zipfile.ZIP64_LIMIT` (2 GiB) is written as ZIP64, which must be decided before it is written.
    Raises zipfile's or zlib's errors for a damaged member, and what a rewrite raises.
    """
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for entry in source.infolist():
            copy = zipfile.ZipInfo(entry.filename, entry.date_time)
            copy.compress_type = zipfile.ZIP_DEFLATED
            large = entry.file_size > zipfile.ZIP64_LIMIT // growth
            rewrite = rewrite_for(entry.filename)
            with source.open(entry) as part, out.open(copy, "w", force_zip64=large) as sink:
                if rewrite is None:
                    shutil.copyfileobj(part, sink, CHUNK)
                else:
                    rewrite(part, sink)
