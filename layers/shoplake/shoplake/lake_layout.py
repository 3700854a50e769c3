"""Where everything lives in shoplake's buckets: the one place prefixes are spelled.

template.yaml repeats some of them where CloudFormation needs literals (the survey
trigger's prefix, the Glue tables' locations); a test holds the two together.
"""

from __future__ import annotations

from datetime import date

# The survey bucket, where staff drop files and can see what became of them.
SURVEY_INBOX = "inbox/"
SURVEY_PROCESSED = "processed/"
SURVEY_QUARANTINE = "quarantine/"
QUARANTINE_REPORT_SUFFIX = ".report.json"
# Marked-up copies of files with rejected cells (shoplake.surveys.markup), kept while their link lasts.
SURVEY_MARKED = "marked/"

# Every table in the lake is partitioned by the day, Hive-style.
PARTITION_KEYS = ("year", "month", "day")

# The lake bucket.
SURVEY_DATA = "surveys/"
SURVEY_REJECTS = "survey_rejects/"
# Firehose writes the clickstream by the event's hour, and what it could not deliver beside it.
CLICKSTREAM_EVENTS = "clickstream/events/"
CLICKSTREAM_ERRORS = "clickstream/errors/"
CLICKSTREAM_ERRORS_REDRIVEN = "clickstream/errors-redriven/"
CLICKSTREAM_ERRORS_UNREPAIRED = "clickstream/errors-unrepaired/"
# The nightly ETL's stages: each table's day under raw/, then clean/.
ETL_RAW = "raw/"
ETL_CLEAN = "clean/"
# Curated tables are written to staging/<run id>/ (each run its own, so that one run never publishes
# what another checked) and move to curated/ only once the day passes its checks.
ETL_STAGING = "staging/"
# The quality step's word that a run's staged day passed its checks (staging/<run id>/_checked/<day>/checked.json):
# publish refuses staging without it, so one run never publishes what was not checked for it.
ETL_CHECKED = "_checked/"
ETL_CURATED = "curated/"
# A published day is a version folder under its partition (curated/<table>/year=/month=/day=/version=<v>/);
# the catalog's partitions point at it; older ones are removed a grace after they stop being read
# (shoplake_etl.superseded).
PUBLISHED_VERSION_KEY = "version"
# product_dim is the whole product list as of the day (names and categories as a marketer reads them), so
# that a report names products by the dimension of the newest day published on or before its range's last day.
CURATED_TABLES = ("sales_fact", "review_fact", "daily_product_stats", "clickstream_hourly", "product_dim")
# The day manifest (curated/_published/year=/month=/day=/manifest.json), written once every curated
# table's partition points at the day's new version: the one record the catch-up and the analytics trust.
ETL_PUBLISHED_DAYS = "curated/_published/"
DAY_MANIFEST = "manifest.json"
# A publish under way (curated/_publishing/year=/month=/day=/publishing.json, the manifest it means to write):
# written before its first catalog call, removed once its manifest is; a day that has one and no manifest is a
# publish that did not finish, which the next publish undoes (shoplake_etl.repair).
ETL_PUBLISHING_DAYS = "curated/_publishing/"
PUBLISHING_MARKER = "publishing.json"
# Versions of a day no longer published, each with the time it stopped being read, awaiting removal
# (curated/_superseded/year=/month=/day=/superseded.json): every publish removes those past their grace, whatever
# the day, so listing this prefix, not the whole lake, finds them (shoplake_etl.superseded).
ETL_SUPERSEDED_DAYS = "curated/_superseded/"
SUPERSEDED_RECORD = "superseded.json"
# The days a night's catch-up will not reach, as its extract found them (under raw/, which the extract
# writes): one text per run date, which the state machine's success notice reads and repeats.
ETL_LEFT_BEHIND = "raw/_left_behind/"


def partition_path(day: date) -> str:
    """The folder of `day`'s partition, relative to a table's prefix, with a trailing slash.

    Hive-style `key=value` folders, zero-padded: `date(2026, 11, 4)` -> `"year=2026/month=11/day=04/"`,
    which is what Athena's partition projection for year/month/day reads
    (https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html). The day is whatever
    calendar day the caller passes; callers pass the Korean business day.
    """
    year, month, day_key = PARTITION_KEYS
    return f"{year}={day.year:04d}/{month}={day.month:02d}/{day_key}={day.day:02d}/"


def staging_prefix(run_id: str) -> str:
    """`staging/<run_id>/`: where one run of the nightly ETL stages its curated tables until it publishes them.

    `run_id` is the state machine's execution name (or a name chosen for a run by hand); ValueError if it is
    empty or holds a `/`, which would let one run's staging reach into another's.
    """
    if not run_id or "/" in run_id or run_id in {".", ".."}:
        raise ValueError(f"not a run id: {run_id!r}")
    return f"{ETL_STAGING}{run_id}/"


def checked_marker_key(run_id: str, day: date) -> str:
    """`staging/<run_id>/_checked/year=/month=/day=/checked.json`: the quality step's marker for the run's day.

    ValueError for a run id `staging_prefix` refuses.
    """
    return f"{staging_prefix(run_id)}{ETL_CHECKED}{partition_path(day)}checked.json"


def partition_day(folders: str) -> date | None:
    """The day `partition_path` spells in `folders` ("year=2026/month=11/day=04", a trailing slash allowed),
    or None for any other text: other keys, not digits, or a day no calendar has (`month=13`)."""
    parts = [folder.partition("=") for folder in folders.rstrip("/").split("/")]
    if [key for key, _, _ in parts] != list(PARTITION_KEYS) or not all(v.isascii() and v.isdigit() for *_, v in parts):
        return None
    try:
        return date(*(int(value) for *_, value in parts))
    except ValueError:
        return None


def day_manifest_key(day: date) -> str:
    """The lake-bucket key of `day`'s manifest: `curated/_published/year=YYYY/month=MM/day=DD/manifest.json`."""
    return f"{ETL_PUBLISHED_DAYS}{partition_path(day)}{DAY_MANIFEST}"


def day_publishing_key(day: date) -> str:
    """`curated/_publishing/year=YYYY/month=MM/day=DD/publishing.json`: the marker of a publish of `day` under way."""
    return f"{ETL_PUBLISHING_DAYS}{partition_path(day)}{PUBLISHING_MARKER}"


def day_superseded_key(day: date) -> str:
    """`curated/_superseded/year=YYYY/month=MM/day=DD/superseded.json`: `day`'s versions awaiting removal."""
    return f"{ETL_SUPERSEDED_DAYS}{partition_path(day)}{SUPERSEDED_RECORD}"


def left_behind_key(day: date) -> str:
    """The lake-bucket key of the note on the days a run for `day` leaves behind: `raw/_left_behind/YYYY-MM-DD.txt`."""
    return f"{ETL_LEFT_BEHIND}{day.isoformat()}.txt"


def survey_table_prefix(table: str) -> str:
    """The lake-bucket key prefix of a survey table's data: `"surveys/<table>/"`; `table` is not checked."""
    return f"{SURVEY_DATA}{table}/"


def survey_rejects_prefix(table: str) -> str:
    """The lake-bucket key prefix of a survey table's rejected-row reports: `"survey_rejects/<table>/"`."""
    return f"{SURVEY_REJECTS}{table}/"


# S3 refuses keys over 1,024 bytes of UTF-8 (KeyTooLongError).
S3_KEY_MAX_BYTES = 1024
# What a filed key may still grow by: the quarantine report's suffix, or `.csv` -> `.xlsx` for a marked copy.
_FILED_KEY_GROWTH = len(QUARANTINE_REPORT_SUFFIX) + 1


def _fit(stem: str, other_bytes: int) -> str:
    """`stem` cut at a character boundary so `other_bytes` more still fit in a key (the upload id keeps it unique)."""
    room = S3_KEY_MAX_BYTES - _FILED_KEY_GROWTH - other_bytes
    encoded = stem.encode()
    return stem if len(encoded) <= room else encoded[: max(room, 0)].decode("utf-8", "ignore")


def moved_key(inbox_key: str, destination: str, upload_id: str) -> str:
    """Where one upload of an inbox file goes: its own name, so that two uploads of one name never meet.

    `inbox/2026/설문.xlsx` with upload id `3f2a…` -> `processed/2026/설문.3f2a….xlsx` (or `quarantine/...`):
    the path under the inbox is kept and the upload id (`ObjectCreated.upload_id`) goes before the suffix,
    so the file still opens by its type. `destination` is a prefix with its trailing slash
    (`SURVEY_PROCESSED` or `SURVEY_QUARANTINE`). A key that is not under `inbox/` is kept whole under it.
    A name too long for the result (with a report's suffix) to fit S3's 1,024 bytes is cut short, and a
    `.` or `..` folder becomes `_.` or `_..`; the upload id still makes the key unique.
    """
    path = inbox_key.removeprefix(SURVEY_INBOX)
    # A `.` or `..` folder would be resolved away by a browser opening a link to the key.
    path = "/".join(f"_{part}" if part in (".", "..") else part for part in path.split("/"))
    folder, _, name = path.rpartition("/")
    stem, dot, suffix = name.rpartition(".")
    if not (dot and stem):
        stem, suffix = name, ""
    tail = f".{upload_id}" + (f".{suffix}" if suffix else "")
    # The path under the destination, folders and stem, is what gets cut when the whole would not fit.
    kept = _fit((f"{folder}/" if folder else "") + stem, len((destination + tail).encode()))
    return destination + kept + tail


def marked_key(inbox_key: str, upload_id: str, suffix: str) -> str:
    """Where one upload's marked-up copy goes: `moved_key` under `marked/`, with the copy's own `suffix` (`.xlsx`).

    `inbox/2026/설문.csv` -> `marked/2026/설문.<upload_id>.xlsx`.
    """
    moved = moved_key(inbox_key, SURVEY_MARKED, upload_id)
    # moved_key ends with the upload id, or with the id and the file's own suffix, which the copy's replaces.
    return (moved if moved.endswith(f".{upload_id}") else moved.rpartition(".")[0]) + suffix
