"""Schemathesis against the shop's own OpenAPI description: whatever the description allows, the API
answers without a server error, with a documented status, content type and body."""

from __future__ import annotations

from typing import Any

import hypothesis
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis.core.result import Ok

from tests.functional.shop.shopping import customer, post_product

# Each operation's examples; a few dozen find what the shapes allow without a long run.
EXAMPLES = 20


def integers_as_integers(value: Any) -> Any:
    """`value` (parsed JSON) with each whole float (2.0) written as the integer it is (2)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: integers_as_integers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [integers_as_integers(item) for item in value]
    return value


def test_description_says_request_bodies_take_only_the_integer_spelling(shop_app: FastAPI) -> None:
    # GIVEN the OpenAPI description THEN its text says what JSON Schema cannot: 2.0 is not an integer here
    assert "not `2.0`" in shop_app.openapi()["info"]["description"]


def test_every_operation_keeps_to_the_openapi_description(shop_app: FastAPI) -> None:
    # GIVEN a seller with a product for sale, so that generated calls reach past the login check
    with TestClient(shop_app, base_url="https://shop.test") as client:
        me = customer(client, seller=True)
        post_product(client)
        session = {"Cookie": f"shop_session={client.cookies['shop_session']}", "X-CSRF-Token": me["csrf_token"]}
    schema = schemathesis.openapi.from_asgi("/openapi.json", shop_app)
    tested = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the description itself is valid
        operation = result.ok()
        # Logging out would end the session the other examples use; its behaviour has its own tests.
        if operation.path == "/api/logout":
            continue

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(hypothesis.HealthCheck), derandomize=True
        )
        def keeps_to_it(case: Any) -> None:
            # WHEN schemathesis calls it with what the description allows THEN every check holds. Its
            # integers spelled as whole floats (2.0) are spelled as integers: JSON Schema 2020-12 cannot
            # tell them apart, and the description's own text says bodies take only the integer spelling
            # (test_shop_attack_review.py tests that 2.0 is refused).
            if case.body is not None:
                case.body = integers_as_integers(case.body)
            case.call_and_validate(headers=session)

        keeps_to_it()
        tested.append(f"{operation.method.upper()} {operation.path}")
    assert len(tested) >= 15, tested
