"""Links to a marked-up copy that work for 7 days, and what the download function answers to one.

An S3 presigned URL made with a role's temporary credentials stops working when those credentials
expire (hours for Lambda), whatever expiry it names (Amazon S3 User Guide, "Download and upload objects
with presigned URLs", who can create a presigned URL). So the link in Slack points at the download
function instead, carrying a token signed with a secret and stamped with its time (itsdangerous'
`URLSafeTimedSerializer`); the function checks the token and answers with a redirect to a presigned URL
valid for 5 minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from shoplake import lake_layout

LINK_LIFETIME = timedelta(days=7)
# How long the redirect's presigned URL lives: long enough to start the download.
REDIRECT_SECONDS = 300
TOKEN_PARAMETER = "copy"  # noqa: S105 - the query parameter's name, not a secret
_SALT = "shoplake.survey-marked-copy.v1"
# The media type of each kind of copy (IANA's registrations for Office Open XML).
CONTENT_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
}
Clock = Callable[[], float]


def _serializer(secret: str, clock: Clock) -> URLSafeTimedSerializer:
    class _Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock())

    return URLSafeTimedSerializer(secret, salt=_SALT, signer=_Signer)


def link_for(base_url: str, secret: str, key: str, download_name: str, clock: Clock = time.time) -> str:
    """The https link to the download function for the marked-up copy at `key` in the survey bucket.

    `base_url` is the function URL (`https://<id>.lambda-url.<region>.on.aws/`); the token in the
    `copy` query parameter holds `key` and `download_name` (the name the browser saves it as), signed
    with `secret` at `clock()` (seconds since the epoch). Valid for `LINK_LIFETIME`.
    """
    token = _serializer(secret, clock).dumps({"key": key, "name": download_name})
    return f"{base_url.rstrip('/')}/?{TOKEN_PARAMETER}={token}"


def download_name(file_name: str, key: str) -> str:
    """The name the copy at `key` is saved as: the uploaded name's stem, ` (marked)`, the copy's own suffix.

    `설문.csv` with a copy at `marked/설문.<id>.xlsx` -> `설문 (marked).xlsx`.
    """
    stem, dot, _ = file_name.rpartition(".")
    return f"{stem if dot and stem else file_name} (marked).{key.rsplit('.', 1)[-1]}"


def expires_at(clock: Clock = time.time) -> datetime:
    """When a link made now stops working, in UTC."""
    return datetime.fromtimestamp(clock(), UTC) + LINK_LIFETIME


@dataclass(frozen=True)
class Answer:
    """An HTTP answer of the download function: status, headers, UTF-8 text body."""

    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def as_function_url_response(self) -> dict[str, object]:
        """The Lambda function URL response shape (payload 2.0): statusCode, headers, body."""
        headers = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", **self.headers}
        return {"statusCode": self.status, "headers": headers, "body": self.body}


def content_disposition(name: str) -> str:
    """An attachment header naming the file in ASCII and, for any other characters, in UTF-8 (RFC 6266, RFC 8187)."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in name) or "marked.xlsx"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def answer(
    query: Mapping[str, str],
    secret: str,
    exists: Callable[[str], bool],
    presign: Callable[[str, str, str], str],
    clock: Clock = time.time,
) -> Answer:
    """What the download function answers to a request whose query string is `query`.

    303 to `presign(key, content_disposition, content_type)` for a good token whose copy `exists(key)`;
    400 without a token; 403 for a token that is not ours (tampered, cut, another secret, a key outside
    `marked/`); 410 when the link is older than `LINK_LIFETIME` or the copy is no longer kept. The texts
    say what the person can do. Never raises for any query.
    """
    token = query.get(TOKEN_PARAMETER, "")
    if not token:
        return Answer(
            400, f"This link is incomplete: it has no '{TOKEN_PARAMETER}' part. Open the whole link from Slack."
        )
    try:
        document = _serializer(secret, clock).loads(token, max_age=int(LINK_LIFETIME.total_seconds()))
    except SignatureExpired:
        return Answer(410, "This link has expired (links last 7 days). Upload the file again to get a new one.")
    except (BadData, UnicodeError, ValueError):
        return Answer(403, "This link is not valid. Open the whole link from the Slack message.")
    key = document.get("key") if isinstance(document, dict) else None
    name = document.get("name") if isinstance(document, dict) else None
    if not isinstance(key, str) or not key.startswith(lake_layout.SURVEY_MARKED) or not isinstance(name, str):
        return Answer(403, "This link is not valid. Open the whole link from the Slack message.")
    if not exists(key):
        return Answer(410, "The marked-up copy is no longer kept. Upload the file again to get a new one.")
    suffix = "." + key.rsplit(".", 1)[-1].lower()
    location = presign(key, content_disposition(name), CONTENT_TYPES.get(suffix, CONTENT_TYPES[".xlsx"]))
    return Answer(303, "", {"Location": location})
