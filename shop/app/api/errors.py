"""How the API answers what went wrong: each `ShopError` as a status and an error code, in one table.

Every error answer is `{"error": <code>, "message": <text>}` (schemas.Error), the app's own routing
errors too (404 no such route, 405 with its `Allow` header, Starlette's HTTPException); validation errors
are FastAPI's own 422 with `detail` (each error's `type`, `loc`, `msg` and `ctx`; not the `input`,
which the client sent and which need not even be Unicode text).
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from shop.app.api.schemas import Error
from shop.app.errors import (
    ConflictError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    LimitReachedError,
    NotFoundError,
    ShopError,
    TooManyAttemptsError,
    UnauthorisedError,
    UnprocessableError,
)

ANSWERS: dict[type[ShopError], tuple[int, str]] = {
    UnauthorisedError: (401, "unauthorised"),
    ForbiddenError: (403, "forbidden"),
    NotFoundError: (404, "not_found"),
    ConflictError: (409, "conflict"),
    UnprocessableError: (422, "unprocessable"),
    IdempotencyKeyReusedError: (422, "idempotency_key_reused"),
    LimitReachedError: (409, "limit_reached"),
    TooManyAttemptsError: (429, "too_many_attempts"),
}

# The error answers every route may give, for the OpenAPI description.
DOCUMENTED: dict[int | str, dict[str, Any]] = {
    status: {"model": Error} for status in (400, 401, 403, 404, 409, 413, 429)
}


def answer_of(error: ShopError) -> tuple[int, str]:
    """The status and error code of `error`: its class's, or its nearest base class's (400 if none)."""
    for kind in type(error).__mro__:
        if kind in ANSWERS:
            return ANSWERS[kind]
    return 400, "bad_request"


async def shop_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ShopError)
    status, code = answer_of(error)
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, TooManyAttemptsError) else None
    return JSONResponse({"error": code, "message": error.message}, status, headers=headers)


class AsciiJSONResponse(JSONResponse):
    """JSON with every character outside ASCII escaped (RFC 8259, section 7): it can carry any text,
    even a lone surrogate (a client's "\\ud800" in a name it sent), which UTF-8 cannot encode."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


async def invalid_request(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    details = [{key: value for key, value in detail.items() if key != "input"} for detail in error.errors()]
    return AsciiJSONResponse({"detail": jsonable_encoder(details)}, 422)


# Starlette's own HTTP errors (routing's 404 and 405, a body that cannot be parsed), by status.
HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


async def http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    code = HTTP_CODES.get(error.status_code, "bad_request" if error.status_code < 500 else "internal_error")
    message = error.detail if isinstance(error.detail, str) else "the request could not be answered"
    return JSONResponse({"error": code, "message": message.lower()}, error.status_code, headers=error.headers)


async def data_error(_: Request, error: Exception) -> JSONResponse:
    # A value PostgreSQL cannot hold that no check before it caught: the client's input, not the shop's
    # fault. The request bodies refuse NUL and the data access checks money's range, naming the field;
    # this is the last line, so that no such value is ever a 500.
    return JSONResponse({"error": "unprocessable", "message": "a value the shop cannot store"}, 422)


def add_error_handlers(app: FastAPI) -> None:
    """Answer the shop's errors, invalid requests and PostgreSQL's refusals of the client's text, never
    with a 500."""
    app.add_exception_handler(ShopError, shop_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(psycopg.DataError, data_error)
