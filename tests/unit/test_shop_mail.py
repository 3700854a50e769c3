"""The shop's mail (shop.app.mail): what SES v2 is asked to send, and the local mailbox."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from shop.app.mail import Mail, MailSink, SesMailer, confirmation_mail


def test_ses_is_asked_for_one_simple_utf8_message_from_the_configured_address() -> None:
    # GIVEN an SES v2 client (stubbed: no network) and the mailer over it
    client = boto3.client("sesv2", region_name="ap-northeast-2", aws_access_key_id="x", aws_secret_access_key="x")
    mail = Mail(to="kim@example.com", subject="Confirm", text="Follow https://shop.example/#confirm=abc")
    with Stubber(client) as stub:
        stub.add_response(
            "send_email",
            {"MessageId": "m-1"},
            {
                "FromEmailAddress": "shop@example.com",
                "Destination": {"ToAddresses": ["kim@example.com"]},
                "Content": {"Simple": {"Subject": {"Data": "Confirm", "Charset": "UTF-8"},
                                       "Body": {"Text": {"Data": mail.text, "Charset": "UTF-8"}}}},
            },
        )  # fmt: skip
        # WHEN it sends THEN exactly that request is made (the stubber checks every parameter)
        SesMailer(client, "shop@example.com").send(mail)
        stub.assert_no_pending_responses()


def test_the_mailbox_finds_the_newest_link_sent_to_an_address_in_any_case() -> None:
    sink = MailSink()
    sink.send(confirmation_mail("kim@example.com", "http://shop/#confirm=old-token", 24))
    sink.send(confirmation_mail("Kim@Example.com", "http://shop/#confirm=new_token-2", 24))
    assert sink.confirmation_token("kim@example.com") == "new_token-2"
    with pytest.raises(LookupError):
        sink.confirmation_token("nobody@example.com")
