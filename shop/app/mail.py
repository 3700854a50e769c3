"""The shop's outgoing mail: a `Mailer` sends one plain-text message to one address.

`SesMailer` sends through Amazon SES (API v2, `SendEmail`, a Simple message) from a verified
identity (`SHOP_MAIL_FROM`, infra_core/compute.yaml); `MailSink` keeps the messages in memory
for the tests and the local shop (`local_stack.shop.LocalShop.mailbox`). Pure: the caller builds
the SES client.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, Protocol

CONFIRM_LINK = re.compile(r"#confirm=([A-Za-z0-9_-]+)")
"""A confirmation link's token in a message's text (`<shop>/#confirm=<token>`)."""


@dataclass(frozen=True, slots=True)
class Mail:
    """One message: its recipient's address, its subject and its plain-text body."""

    to: str
    subject: str
    text: str


class Mailer(Protocol):
    def send(self, mail: Mail) -> None:
        """Send `mail`; raises what the service raises when it refuses it."""


class SesMailer:
    """Amazon SES v2 from `from_address` (an address of a verified identity), through `client`
    (boto3's "sesv2" client)."""

    def __init__(self, client: Any, from_address: str) -> None:
        self._client, self._from = client, from_address

    def send(self, mail: Mail) -> None:
        self._client.send_email(
            FromEmailAddress=self._from,
            Destination={"ToAddresses": [mail.to]},
            Content={
                "Simple": {
                    "Subject": {"Data": mail.subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": mail.text, "Charset": "UTF-8"}},
                }
            },
        )


class MailSink:
    """Keeps every message sent, oldest first (thread-safe): the local shop's mailbox."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages: list[Mail] = []

    def send(self, mail: Mail) -> None:
        with self._lock:
            self.messages.append(mail)

    def to(self, address: str) -> list[Mail]:
        """The messages sent to `address` (compared in lower case), oldest first."""
        with self._lock:
            return [m for m in self.messages if m.to.lower() == address.lower()]

    def confirmation_token(self, address: str) -> str:
        """The token of the newest confirmation link sent to `address`; LookupError if none was."""
        for mail in reversed(self.to(address)):
            found = CONFIRM_LINK.search(mail.text)
            if found:
                return found.group(1)
        raise LookupError(f"no confirmation link was sent to {address}")


def confirmation_mail(to: str, link: str, lifetime_hours: int) -> Mail:
    """The mail that asks `to` to confirm a sign-up by following `link`."""
    return Mail(
        to=to,
        subject="Confirm your e-mail for shoplake",
        text=(
            "Someone, we hope you, asked to open a shoplake account with this address.\n\n"
            f"To confirm it, open this link within {lifetime_hours} hours and enter the password you chose:\n"
            f"{link}\n\nIf it was not you, ignore this mail: no account is made without the link."
        ),
    )


def already_a_customer_mail(to: str, shop_url: str) -> Mail:
    """The notice to a customer that someone tried to sign up with their address."""
    return Mail(
        to=to,
        subject="Someone tried to sign up with your address",
        text=(
            "Someone tried to open a shoplake account with this address, which already has one.\n\n"
            f"If it was you, log in at {shop_url}/ with your password. If it was not, nothing has changed: "
            "your account and password are as they were."
        ),
    )
