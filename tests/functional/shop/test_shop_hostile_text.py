"""Text that is not Unicode, against every route the OpenAPI description lists: a lone surrogate
(JSON's "\\ud800", which UTF-8 cannot encode), bytes that are not UTF-8 in a query string, a path
or a header. Each is refused or ignored, never answered with a server error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from shop.app.api.schemas import Strict
from tests.functional.shop.shopping import GOOD_CARD, PASSWORD

SURROGATE = "\ud800"
NOT_UTF8 = "%ED%A0%80%FF"  # percent-encoded: UTF-8's spelling of a surrogate, then a byte UTF-8 never has
# A body the API accepts, for each request body schema it describes: one field at a time is spoiled.
VALID_BODIES: dict[str, dict[str, Any]] = {
    "SignUp": {"email": "ann@example.com", "password": PASSWORD, "display_name": "Ann", "country": "US"},
    "Login": {"email": "ann@example.com", "password": PASSWORD},
    "SignUpConfirmation": {"token": "a-token_of-the-link", "password": PASSWORD},
    "ProductIn": {"name": "Tee", "description": "Soft", "category": "tops", "price": "9.90", "stock": 1},
    "ProductChange": {"name": "Tee", "description": "Soft", "price": "9.90"},
    "Quantity": {"quantity": 1},
    "CardIn": GOOD_CARD,
    "ReviewIn": {"rating": 5, "body": "Fits well"},
}


def operations(app: FastAPI) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every operation of the OpenAPI description (method, path, operation), logging out last."""
    listed = [(method, path, op) for path, ops in app.openapi()["paths"].items() for method, op in ops.items()]
    yield from sorted(listed, key=lambda listing: listing[1] == "/api/logout")


def body_schema(operation: dict[str, Any]) -> str | None:
    ref = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    return str(ref["$ref"]).rsplit("/", 1)[-1] if ref else None


def send(client: TestClient, method: str, url: str, body: Any = None, **headers: Any) -> Any:
    """The request, its body JSON as Python writes it: every character outside ASCII a \\u escape."""
    content = None if body is None else json.dumps(body).encode("ascii")
    return client.request(method.upper(), url, content=content,
                          headers={"Content-Type": "application/json", "Idempotency-Key": "hostile-key-0001",
                                   **headers})  # fmt: skip


def test_every_request_body_schema_has_a_valid_body_here(shop_app: FastAPI) -> None:
    # GIVEN the API's description WHEN its request bodies are listed THEN each has a valid body above
    assert {body_schema(op) for _, _, op in operations(shop_app)} - {None} == set(VALID_BODIES)


def test_a_body_field_without_constraints_refuses_a_lone_surrogate_too() -> None:
    # GIVEN a body with a plain text field (pydantic checks Unicode only where a string has constraints)
    class Note(Strict):
        text: str

    # WHEN it holds a lone surrogate THEN it is refused as pydantic refuses one in a constrained string
    with pytest.raises(ValidationError) as refused:
        Note.model_validate({"text": f"x{SURROGATE}"})
    assert [(error["type"], error["loc"]) for error in refused.value.errors()] == [("string_unicode", ("text",))]
    assert Note.model_validate({"text": "비밀 ✓"}).text == "비밀 ✓"


def test_a_lone_surrogate_in_any_text_field_of_any_body_is_refused_naming_the_field(
    shopper: tuple[TestClient, dict[str, str]],
) -> None:
    # GIVEN a logged-in seller who buys, so that every route gets past its session checks to its body
    client, ids = shopper
    refused = []
    for method, path, operation in operations(client.app):  # type: ignore[arg-type] # the shop's FastAPI app
        schema = body_schema(operation)
        if schema is None:
            continue
        for field, value in VALID_BODIES[schema].items():
            if not isinstance(value, str):
                continue
            # WHEN one text field of an otherwise valid body holds a lone surrogate
            answer = send(client, method, path.format(**ids), {**VALID_BODIES[schema], field: f"x{SURROGATE}y"})
            # THEN it is refused as invalid input, naming the field, in JSON that any client can read
            assert answer.status_code == 422, (method, path, field, answer.status_code, answer.text)
            assert ["body", field] in [error["loc"] for error in answer.json()["detail"]], answer.text
            refused.append((path, field))
    assert len(refused) >= 15, refused


def test_no_route_answers_text_that_is_not_unicode_with_a_server_error(
    shopper: tuple[TestClient, dict[str, str]],
) -> None:
    # GIVEN a logged-in seller who buys, so that every route gets past its session checks
    client, ids = shopper
    for method, path, operation in operations(client.app):  # type: ignore[arg-type] # the shop's FastAPI app
        url = path.format(**ids)
        queries = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"] + ["unknown"]
        schema = body_schema(operation)
        fields = VALID_BODIES[schema] if schema else {"name": "x"}
        requests: list[tuple[str, Any, dict[str, Any]]] = [
            # WHEN a body holds a lone surrogate as every value, as a key, or as the whole of it
            (url, {field: SURROGATE for field in fields}, {}),
            (url, {**fields, SURROGATE: 1}, {}),
            (url, SURROGATE, {}),
            # a query string, a path or headers hold bytes that are not UTF-8
            (f"{url}?" + "&".join(f"{name}={NOT_UTF8}" for name in queries), None, {}),
            (path.format(**dict.fromkeys(ids, NOT_UTF8)), None, {}),
            (url, None, {"Idempotency-Key": b"\xed\xa0\x80\xff-key-0001", "User-Agent": b"\xed\xa0\x80\xff",
                         "Referer": b"https://shop.test/\xed\xa0\x80"}),
        ]  # fmt: skip
        for target, body, headers in requests:
            answer = send(client, method, target, body, **headers)
            # THEN the answer is never a server error, and any body it has is JSON
            assert answer.status_code < 500, (method, target, body, answer.status_code, answer.text)
            assert not answer.content or answer.json() is not None
