"""The API's ASGI middleware: every request recorded in the clickstream, every body size-limited and,
if JSON, refused when nested too deep or with a key twice, and every answer kept out of caches."""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders

from shop.app.api.errors import AsciiJSONResponse
from shop.app.clicks import Clicks, Visit
from shop.app.settings import Settings
from shoplake.business import EventType

VISIT_COOKIE = "shop_visit"
_VISIT_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# The load balancers and the container ask these every few seconds: they are not visits.
NOT_RECORDED = ("/healthz", "/readyz", "/static")
ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


def client_address(scope: MutableMapping[str, Any], hops: int) -> str | None:
    """The client's address: the one the `hops` trusted proxies saw, else the peer's; None if not an address."""
    peer = scope.get("client")
    address = str(peer[0]) if peer else ""
    if hops > 0:
        forwarded = Headers(scope=scope).get("x-forwarded-for", "")
        addresses = [a.strip() for a in forwarded.split(",") if a.strip()]
        if len(addresses) >= hops:
            address = addresses[-hops]
    try:
        return str(ipaddress.ip_address(address[:45]))
    except ValueError:
        return None


class ClickstreamMiddleware:
    """Gives each request a Visit (the visitor's clickstream session from a cookie) and records it.

    A request whose route sent no event of its own is recorded as a page view once answered.
    """

    def __init__(self, app: ASGIApp, clicks: Clicks, settings: Settings) -> None:
        self.app = app
        self.clicks = clicks
        self.settings = settings

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in NOT_RECORDED:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # noqa: BLE001 - a malformed cookie header is only a new visitor
            cookie = SimpleCookie()
        known = cookie.get(VISIT_COOKIE)
        session_id = known.value if known is not None and _VISIT_ID.match(known.value) else None
        query = scope.get("query_string", b"").decode("latin-1")
        visit = Visit(
            session_id=session_id or secrets.token_urlsafe(18),
            page=scope["path"] + (f"?{query}" if query else ""),
            referrer=headers.get("referer"),
            user_agent=headers.get("user-agent", ""),
            client_ip=client_address(scope, self.settings.forwarded_hops),
        )
        scope.setdefault("state", {})["visit"] = visit

        async def sending(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start" and session_id is None:
                secure = "; Secure" if self.settings.cookie_secure else ""
                value = f"{VISIT_COOKIE}={visit.session_id}; Path=/; Max-Age=1800; HttpOnly; SameSite=Lax{secure}"
                message.setdefault("headers", []).append((b"set-cookie", value.encode()))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if not visit.emitted:
                self.clicks.emit(EventType.PAGE_VIEW, visit)


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every answer that does not say otherwise: most depend on the session
    (the customer, the cart, the CSRF token), and no cache on the way may keep one customer's answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, sending)


class DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateKeyError(key)
        seen[key] = value
    return seen


def json_refusal(body: bytes) -> dict[str, Any] | None:
    """Why a JSON body is refused before FastAPI reads it: a FastAPI validation error (`type`, `loc`
    ["body", <key>], `msg`, `ctx`) for an object with a key twice (the last would silently win) or
    nesting too deep for the parser (its RecursionError would be a 400), a body not in UTF-8 or a number
    past Python's digit limit (FastAPI's 400); None otherwise, also for a body that is not JSON at all,
    which FastAPI itself refuses, naming `body`."""
    try:
        json.loads(body, object_pairs_hook=_unique_keys)
    except RecursionError:
        return {
            "type": "json_invalid",
            "loc": ["body"],
            "msg": "JSON decode error",
            "ctx": {"error": "nested too deep"},
        }
    except DuplicateKeyError as error:
        return {
            "type": "json_invalid",
            "loc": ["body", error.key],
            "msg": "JSON decode error",
            "ctx": {"error": str(error)},
        }
    except json.JSONDecodeError:  # not JSON: FastAPI refuses it itself, naming `body`
        return None
    except ValueError as error:  # not UTF-8, or a number past Python's digit limit: FastAPI would answer 400
        reason = "not UTF-8" if isinstance(error, UnicodeDecodeError) else "a number too long to read"
        return {"type": "json_invalid", "loc": ["body"], "msg": "JSON decode error", "ctx": {"error": reason}}
    return None


def is_json(headers: Headers) -> bool:
    """Whether the body is JSON by its Content-Type (application/json or application/*+json), as FastAPI reads it."""
    kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


class BodyLimitMiddleware:
    """Refuses bodies over the limit (413): by Content-Length at once, else while they are read; and JSON
    bodies that `json_refusal` refuses (422, in FastAPI's validation error shape)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        answer = JSONResponse({"error": "too_large", "message": f"at most {self.max_bytes} bytes"}, 413)
        await answer(scope, receive, send)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        # Small bodies only (JSON), so the whole body is read here first, and refused past the limit.
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
        refusal = json_refusal(body) if body and is_json(headers) else None
        if refusal is not None:
            await AsciiJSONResponse({"detail": [refusal]}, 422)(scope, receive, send)
            return
        replayed = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            message: MutableMapping[str, Any] = await receive()
            return message

        await self.app(scope, replay, send)
