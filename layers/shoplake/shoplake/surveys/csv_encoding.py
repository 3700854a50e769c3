"""The text encoding of an uploaded CSV, decided with certainty or refused with what to do instead.

Certain are: a byte-order mark (UTF-8, UTF-16 or UTF-32: Excel's "Unicode Text" is UTF-16 with one), and
UTF-8 when the whole file is UTF-8. Anything else is one of the legacy code pages Excel writes a CSV in
where the shop's staff work (Korea, North America, Europe), and those decode almost any bytes, so
"it decodes" is not "it is". Each candidate that decodes the whole file reads every word holding
non-ASCII bytes; its reading is plausible when

- no word is odd: no control, format or unassigned character, no diacritic standing alone (`ˇ`),
  no Latin, Greek and Cyrillic letters in one word, no symbol glued to the letters after it;
- charset-normalizer's mess detector (`charset_normalizer.md`) finds nothing odd in the words
  with letters (it flags `MontrŽal`, `Ìîñêâà`);
- for CP949, the text is Korean as Korean Excel writes it: Hangul syllables of KS X 1001 (the
  2,350 of EUC-KR), at most one rare syllable or Hanja in ten; the bytes of Japanese, Western and
  other text land in CP949's extension area (a lead byte 0x81-0xC6 with a trail byte below 0xA1)
  or among its Hanja.

The file is read when all plausible readings are the same text and the first is one of
`READ_ENCODINGS`; otherwise (`Très` in Windows-1252 is `Trčs` in Windows-1250; no plausible reading)
it is refused, quoting the readings and asking for "CSV UTF-8", which every current Excel writes.
charset-normalizer's own ranking does not decide: it ranks, it does not refuse (it ranks
Windows-1252 first for a Shift_JIS file).

Sources: the code pages are Python's codecs (cp949 is Microsoft's Unified Hangul Code, a superset of
EUC-KR/KS X 1001; cp1250-cp1257 are Windows' ANSI code pages; mac_roman is Excel for Mac's
"CSV (Macintosh)"). Byte-order marks: the Unicode Standard, section 23.8.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from charset_normalizer.md import mess_ratio

from shoplake.surveys.workbook import Refused

# Byte-order marks, longest first: UTF-32 LE's begins with UTF-16 LE's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_NOT_TEXT = (
    (b"PK\x03\x04", "the file is a ZIP archive (an .xlsx workbook?) named .csv: upload it with its own name"),
    (b"\xd0\xcf\x11\xe0", "the file is an old Excel .xls workbook named .csv: save it as .xlsx or CSV UTF-8"),
)
# The legacy code pages Excel writes a CSV in where the shop's staff work, in the order a tie of
# identical readings is named. The first three are read; the others are considered so that their
# files are not misread as one of those (`Dziękuję` in Windows-1250 reads `Dziêkujê` in Windows-1252),
# and refused: a run of Cyrillic or Greek letters is plausible whatever bytes made it.
READ_ENCODINGS = {
    "cp949": "Korean CP949",
    "cp1252": "Windows-1252 (Western European)",
    "mac_roman": "Mac Roman (Excel for Mac)",
}
LEGACY_ENCODINGS = {
    **READ_ENCODINGS,
    "cp1250": "Windows-1250 (Central European)",
    "cp1251": "Windows-1251 (Cyrillic)",
    "cp1253": "Windows-1253 (Greek)",
    "cp1254": "Windows-1254 (Turkish)",
    "cp1257": "Windows-1257 (Baltic)",
}
SAVE_AS_UTF8 = "save it as CSV UTF-8 (Excel: Save As, CSV UTF-8 (Comma delimited))"
_CHUNK = 1 << 20
_HEAD = 1 << 16
# Distinct words with non-ASCII bytes are all read up to this many bytes; beyond it, only those holding a
# byte not seen before, so that every byte value of the file is read in a word at least once.
_EVIDENCE_BYTES = 1 << 22
# Mess is measured over this many words at a time: over a whole file, a few odd ones would dilute.
_MESS_WORDS = 64
_WORD_BREAK = re.compile(rb'[\s,;|"]+')
# Unicode categories no word of any language is made of: controls, format characters, private use,
# unassigned code points, and diacritics standing alone (spacing modifier symbols and letters).
_NEVER_IN_WORDS = frozenset({"Cc", "Cf", "Co", "Cn", "Sk", "Lm"})
_EUROPEAN_SCRIPTS = frozenset({"LATIN", "GREEK", "CYRILLIC"})
# Korean text: at most one rare syllable (or Hanja) for this many KS X 1001 syllables.
_KOREAN_PER_RARE = 10


def _undecodable(path: Path, encoding: str) -> str | None:
    """Where the file stops being `encoding` text (its line and byte offset); None if all of it is."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = lines = 0
    after_cr = False
    with path.open("rb") as raw:
        while True:
            chunk = raw.read(_CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                # The decoder may hold back the start of a character cut by the chunk's end.
                start = max(error.start - len(error.object) + len(chunk), 0)
                if encoding.startswith(("utf-16", "utf-32")):  # a newline byte is no line break there
                    return f"byte {offset + start:,}"
                line = lines + _line_breaks(chunk[:start].decode("latin-1"), after_cr) + 1
                return f"line {line} (byte {offset + start:,})"
            if not chunk:
                return None
            offset += len(chunk)
            # Latin-1 keeps each byte: CR and LF are those bytes in every encoding here but UTF-16/32.
            lines += _line_breaks(chunk.decode("latin-1"), after_cr)
            after_cr = chunk.endswith(b"\r")


def _refuse_nul(path: Path, encoding: str) -> None:
    """Refuse a file holding a NUL (U+0000) anywhere, naming the first one's line: no one types it, and a cell
    holding one would reach the lake. It means a file that is not text, one damaged (a block of zeros), or
    UTF-16 without a byte-order mark."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 0
    after_cr = False
    with path.open("rb") as raw:
        while chunk := raw.read(_CHUNK):
            text = decoder.decode(chunk)
            at = text.find("\x00")
            if at >= 0:
                line = lines + _line_breaks(text[:at], after_cr) + 1
                raise Refused(
                    "the CSV holds NUL bytes: not text, or UTF-16 without a byte-order mark (save as CSV UTF-8); "
                    f"the first is on line {line}"
                )
            lines += _line_breaks(text, after_cr)
            after_cr = text.endswith("\r") if text else after_cr


def _line_breaks(text: str, after_cr: bool) -> int:
    """The line breaks in `text` as the csv module counts lines: CR, LF, or CRLF as one; a LF first in `text`
    ends no line when the text before it ended in CR (`after_cr`: a CRLF cut between two chunks)."""
    return text.count("\n") + text.count("\r") - text.count("\r\n") - (after_cr and text.startswith("\n"))


def csv_encoding(path: Path) -> str:
    """The CSV's encoding, as a Python codec name: its byte-order mark's, else UTF-8, else one certain legacy one.

    Returns `utf-8-sig`, `utf-16` or `utf-32` (marked), `utf-8`, or a key of `READ_ENCODINGS`. Raises
    Refused naming the line (and byte) where the file stops being text in the marked encoding; for a
    file that is not text at all (a workbook, NUL bytes); and for a file that is not UTF-8 and that no
    legacy encoding reads with certainty, quoting its readings and asking for CSV UTF-8. A NUL anywhere in the
    file refuses it (`_refuse_nul`), so no cell in the lake holds one.
    """
    with path.open("rb") as raw:
        head = raw.read(_HEAD)
    marked = next((encoding for bom, encoding in _BOMS if head.startswith(bom)), None)
    if marked:
        problem = _undecodable(path, marked)
        if problem is not None:
            raise Refused(f"the CSV's byte-order mark says {marked}, but {problem} is not text")
        _refuse_nul(path, marked)
        return marked
    for magic, reason in _NOT_TEXT:
        if head.startswith(magic):
            raise Refused(reason)
    _refuse_nul(path, "latin-1")  # one byte, one character: a NUL byte is a NUL in UTF-8 and every code page here
    not_utf8 = _undecodable(path, "utf-8")
    if not_utf8 is None:
        return "utf-8"
    return _legacy_encoding(path, f"the CSV is not UTF-8 from {not_utf8} on")


def _evidence(path: Path) -> tuple[list[int], list[bytes]]:
    """The distinct words holding non-ASCII bytes, and the line each is first on (see `_EVIDENCE_BYTES`).

    Words are split at ASCII spaces, quotes and the delimiters, which no code page here uses inside a
    character; lines end at CR, LF or CRLF, as the csv module counts them (Excel for Mac writes CR alone).
    """
    numbers: list[int] = []
    words: list[bytes] = []
    size = 0
    seen_words: set[bytes] = set()
    seen_bytes: set[int] = set()
    # Latin-1 maps each byte to one character and back: lines are split before any encoding is decided.
    with path.open(encoding="latin-1", newline="") as raw:
        for number, text in enumerate(raw, start=1):
            if text.isascii():
                continue
            for word in _WORD_BREAK.split(text.encode("latin-1")):
                if word.isascii() or word in seen_words:
                    continue
                if size >= _EVIDENCE_BYTES and seen_bytes.issuperset(word):
                    continue
                numbers.append(number)
                words.append(word)
                size += len(word)
                seen_words.add(word)
                seen_bytes.update(word)
    return numbers, words


def _korean(text: str) -> bool:
    """Whether `text` reads as Korean Excel writes it: KS X 1001 syllables, few rare ones, few Hanja."""
    common = rare = 0
    for character in set(text):
        if character.isascii():
            continue
        lead, trail = character.encode("cp949")
        if lead < 0xA1 or trail < 0xA1 or 0xCA <= lead <= 0xFD:
            rare += text.count(character)  # CP949's extension area, or KS X 1001's Hanja
        elif 0xB0 <= lead <= 0xC8:
            common += text.count(character)  # KS X 1001's Hangul syllables
    return common > 0 and rare * _KOREAN_PER_RARE <= common


def _odd(word: str) -> bool:
    """Whether no language writes `word`: a character of `_NEVER_IN_WORDS`, Latin, Greek and Cyrillic letters
    mixed, or a symbol glued to the letters after it (`≈lesund` is Mac Roman's reading of Windows' `Ålesund`)."""
    scripts = set()
    previous = "Zs"
    for character in word:
        category = unicodedata.category(character)
        if category in _NEVER_IN_WORDS or (category == "Ll" and previous[0] == "S"):
            return True
        if category[0] == "L":
            scripts.add(unicodedata.name(character, "").partition(" ")[0])
        previous = category if not character.isascii() else "Zs"
    return len(scripts & _EUROPEAN_SCRIPTS) > 1


def _plausible(words: list[str]) -> bool:
    """Whether the words could be text: none `_odd`, and nothing charset-normalizer's mess detector finds
    odd in the words that hold letters (alone, a dash or `€5` looks odd to it)."""
    if any(_odd(word) for word in words):
        return False
    lettered = [word for word in words if any(character.isalpha() for character in word)]
    for start in range(0, len(lettered), _MESS_WORDS):
        if mess_ratio("\n".join(lettered[start : start + _MESS_WORDS]), maximum_threshold=1e-9) > 0:
            return False
    return True


def _legacy_encoding(path: Path, not_utf8: str) -> str:
    numbers, evidence = _evidence(path)
    readings: dict[str, list[str]] = {}
    for encoding in LEGACY_ENCODINGS:
        try:
            words = [word.decode(encoding) for word in evidence]
        except UnicodeDecodeError:
            continue
        # A single-byte code page decodes every line if it decodes the words (they hold every byte value of
        # the file); CP949 pairs bytes, so the whole file is decoded.
        if encoding == "cp949" and (_undecodable(path, encoding) is not None or not _korean("".join(words))):
            continue
        if _plausible(words):
            readings[encoding] = words
    if not readings:
        tried = ", ".join(READ_ENCODINGS.values())
        raise Refused(
            f"{not_utf8}, and no other encoding reads it as plausible text (tried {tried} and Europe's other "
            f"Windows code pages): {SAVE_AS_UTF8}"
        )
    encoding, words = next(iter(readings.items()))
    if all(other == words for other in readings.values()):
        if encoding in READ_ENCODINGS:
            return encoding
        raise Refused(f"{not_utf8}; it reads as {LEGACY_ENCODINGS[encoding]}, which is not read here: {SAVE_AS_UTF8}")
    (first, one), (second, other) = list(readings.items())[:2]
    index = next(i for i, (a, b) in enumerate(zip(one, other, strict=True)) if a != b)
    raise Refused(
        f"{not_utf8}, and its text reads more than one way: line {numbers[index]} says {one[index][:24]!r} as "
        f"{LEGACY_ENCODINGS[first]} but {other[index][:24]!r} as {LEGACY_ENCODINGS[second]}: {SAVE_AS_UTF8}"
    )
