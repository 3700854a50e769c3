"""Notices that shoplake's own functions publish (see `shoplake.notices`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shoplake.alerts import console
from shoplake.alerts.model import Alert
from shoplake.notices import CATEGORY_OF_KIND, Notice


def from_sns(message: Mapping[str, Any], topic_arn: str | None) -> Alert:
    """A shoplake notice (the parsed JSON of an SNS `Message`) as an alert.

    Account and region come from the topic's ARN; the dedupe key is `notice:<notice_id>`; the thread is the
    notice's own `thread` (None without one). Raises
    NoticeError (from `Notice.from_message`) for a message that breaks the notice format.
    """
    notice = Notice.from_message(message)
    return Alert(
        title=notice.title,
        summary=notice.summary,
        severity=notice.severity,
        category=CATEGORY_OF_KIND[notice.kind],
        source="shoplake",
        resource=notice.resource,
        dedupe_key=f"notice:{notice.notice_id}",
        detail_type=notice.kind.value,
        account=console.account_of_arn(topic_arn),
        region=console.region_of_arn(topic_arn),
        occurred_at=notice.occurred_at,
        console_url=notice.link,
        link_label=notice.link_label,
        fields=tuple(notice.fields.items()),
        thread=notice.thread,
    )
