"""An HTTP request made into the function URL event Lambda passes, and the function's result into the HTTP answer.

Lambda Developer Guide, "Invoking Lambda function URLs": request payload (version 2.0; header names lowercased,
repeated headers comma-joined, cookies apart, a body that is not text base64-encoded with `isBase64Encoded`) and
response payload (a `statusCode` result, or any other JSON as a 200 `application/json` answer).
"""

from __future__ import annotations

import base64
import json

from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent

from local_stack.function_url_server import http_answer
from local_stack.function_urls import http_request_event, slack_signed
from shoplake.alerts.interactions import verify_signature
from tests.conftest import our_event

URL = "https://shoplake-dev-slack-interactions.lambda-url.ap-northeast-2.on.aws/"


def test_a_form_post_arrives_base64_encoded_with_lowercased_headers_as_lambda_passes_it() -> None:
    # GIVEN Slack's POST of a form body
    body = b"payload=%7B%22type%22%3A%22block_actions%22%7D"
    headers = [("Content-Type", "application/x-www-form-urlencoded"), ("X-Slack-Signature", "v0=ab")]
    # WHEN it is made into the function's event
    event = http_request_event(URL, "POST", headers, body, source_ip="127.0.0.9")
    # THEN the body is base64, flagged, and Powertools' data class reads it back as sent
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body
    parsed = LambdaFunctionUrlEvent(event)
    assert parsed.decoded_body == body.decode()
    assert parsed.request_context.http.method == "POST"
    assert parsed.request_context.http.source_ip == "127.0.0.9"
    assert parsed.headers["x-slack-signature"] == "v0=ab"
    assert parsed.headers["x-forwarded-proto"] == "https"
    assert parsed.headers["host"] == "shoplake-dev-slack-interactions.lambda-url.ap-northeast-2.on.aws"


def test_a_json_body_arrives_as_text() -> None:
    event = http_request_event(URL, "POST", [("content-type", "application/json; charset=utf-8")], b'{"a": 1}')
    assert (event["isBase64Encoded"], event["body"]) == (False, '{"a": 1}')


def test_repeated_headers_are_joined_and_cookies_set_apart_and_an_empty_body_left_out() -> None:
    headers = [("Accept", "text/html"), ("accept", "application/json"), ("Cookie", "a=1; b=2")]
    event = http_request_event(URL + "path?x=1&x=2", "GET", headers, b"")
    assert event["headers"]["accept"] == "text/html,application/json"
    assert event["cookies"] == ["a=1", "b=2"] and "cookie" not in event["headers"]
    assert "body" not in event and event["isBase64Encoded"] is False
    assert (event["rawPath"], event["queryStringParameters"]) == ("/path", {"x": "1,2"})


def test_a_status_code_result_gives_the_answer_with_its_headers_cookies_and_decoded_body() -> None:
    answer = http_answer(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/octet-stream"},
            "cookies": ["session=1; Secure"],
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )
    assert answer.status == 201 and answer.body == b"\x00\x01"
    assert ("Set-Cookie", "session=1; Secure") in answer.headers


def test_any_other_result_is_a_200_json_answer_of_it() -> None:
    answer = http_answer({"ok": True})
    assert (answer.status, json.loads(answer.body)) == (200, {"ok": True})
    assert ("Content-Type", "application/json") in answer.headers


def test_a_sample_slack_request_signed_again_passes_slacks_check_now() -> None:
    # GIVEN the sample press, signed long ago with the tests' signing secret
    sample = our_event("slack_interactions/block_actions_acknowledge.json")
    # WHEN it is signed again with another secret at a given time
    signed = slack_signed(sample, "another-secret", now=1_900_000_000)
    # THEN the same body verifies with that secret at that time, and only the signature headers changed
    body = base64.b64decode(signed["body"]).decode()
    assert verify_signature(body, signed["headers"], "another-secret", 1_900_000_000)[1] == 1_900_000_000
    changed = {k for k in sample["headers"] if sample["headers"][k] != signed["headers"][k]}
    assert changed == {"x-slack-request-timestamp", "x-slack-signature"}
    assert signed["body"] == sample["body"]
