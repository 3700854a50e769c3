"""Workbooks whose XML parts are not UTF-8, read through a copy whose parts all are.

An XML part may declare any encoding (`<?xml version="1.0" encoding="EUC-KR"?>`, XML 1.0 section 4.3.3), or
be UTF-16 with a byte order mark. Excel writes UTF-8, but a Korean or Japanese tool may not, and the two
readers disagree on the others: calamine ignores the declaration, and openpyxl's expat refuses any
multi-byte encoding. So a workbook with such a part is read, by both, through a copy in which each such
part is decoded as declared and written as UTF-8 with its declaration saying so, as `strict_ooxml` copies
a Strict workbook.

Only text encodings Python knows are decoded; a name it does not know (LookupError) or one of its
bytes-to-bytes codecs (`zlib`, `base64`: ValueError) refuses the file, as do bytes the declared
encoding cannot decode (UnicodeDecodeError, a ValueError). The copy is streamed in chunks (flat memory);
a part's UTF-8 is at most 3 times its bytes (a single-byte encoding's letter can take three).
"""

from __future__ import annotations

import codecs
import re
import zipfile
from functools import partial
from pathlib import Path
from typing import IO

from shoplake.surveys.workbook_copy import CHUNK, XML_PARTS, PartRewrite, copy_rewriting

_HEAD = 1024
# A single-byte encoding's letter can take three bytes in UTF-8.
_GROWTH = 3
_DECLARED = re.compile(rb"""<\?xml\s[^>]*?\bencoding\s*=\s*["']([^"']{0,40})["']""")
_DECLARED_TEXT = re.compile(r"""\A(<\?xml\s[^>]*?\bencoding\s*=\s*)(["'])[^"']{0,40}\2""")
# UTF-16 without a declaration is told by its byte order mark, or by `<` as its first character.
_UTF16_HEADS = (
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)


def part_encoding(head: bytes) -> str:
    """The Python codec name of a part's encoding, from its first bytes: `utf-8` unless it says otherwise.

    Raises LookupError for an encoding Python does not know, ValueError for a codec that is not a text
    encoding.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    for mark, encoding in _UTF16_HEADS:
        if head.startswith(mark):
            return encoding
    match = _DECLARED.match(head)
    if not match:
        return "utf-8"
    info = codecs.lookup(match.group(1).decode("ascii", "replace"))
    if not getattr(info, "_is_text_encoding", False):
        raise ValueError(f"the XML declares the encoding {info.name!r}, which is not a text encoding")
    return info.name


def _encodings(path: Path) -> dict[str, str]:
    """The XML parts not in UTF-8, and the codec of each."""
    found = {}
    with zipfile.ZipFile(path) as archive:
        for entry in archive.infolist():
            if entry.filename.endswith(XML_PARTS):
                with archive.open(entry) as part:
                    encoding = part_encoding(part.read(_HEAD))
                if encoding != "utf-8":
                    found[entry.filename] = encoding
    return found


def to_utf8(path: Path, work_dir: Path) -> Path:
    """`path` itself when every XML part is UTF-8, else a copy in `work_dir` in which every one is.

    Call after `workbook.check_archive`. Raises LookupError, ValueError (see the module), and zipfile's or
    zlib's errors for a damaged member.
    """
    encodings = _encodings(path)
    if not encodings:
        return path
    target = work_dir / f"utf8{path.suffix}"

    def rewrite_for(name: str) -> PartRewrite | None:
        return partial(_to_utf8, encodings[name]) if name in encodings else None

    copy_rewriting(path, target, rewrite_for, _GROWTH)
    return target


def _to_utf8(encoding: str, part: IO[bytes], sink: IO[bytes]) -> None:
    """Decode `part` as `encoding` and write it as UTF-8, its BOM dropped and its declaration saying UTF-8."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    first = True
    while True:
        chunk = part.read(CHUNK)
        text = decoder.decode(chunk, final=not chunk)
        if first and text:
            text = _DECLARED_TEXT.sub(r'\1"UTF-8"', text.removeprefix("\ufeff"), count=1)
            first = False
        sink.write(text.encode("utf-8"))
        if not chunk:
            break
