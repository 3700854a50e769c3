"""The storefront (a small single-page app in static/) and a thin forwarder of `/api/*` to the app tier.

The browser only ever talks to this tier, so the session cookie stays first-party and
SameSite=Strict; the app tier sits behind the internal load balancer (APP_TIER_URL). Product
images are sent on to where they are published (IMAGE_BASE_URL: CloudFront over the image bucket).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC = Path(__file__).with_name("static")
MAX_BODY_BYTES = 64 * 1024
# Not forwarded: they describe one hop, not the request.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
     "transfer-encoding", "upgrade", "host", "content-length"}
)  # fmt: skip
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data: https:; connect-src 'self' https:; "
        "form-action 'self' https:; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, sending)


def create_site(app_tier_url: str, image_base_url: str | None = None, timeout: float = 15.0) -> Starlette:
    client = httpx.AsyncClient(base_url=app_tier_url.rstrip("/"), timeout=timeout)

    async def forward(request: Request) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return JSONResponse({"error": "too_large", "message": f"at most {MAX_BODY_BYTES} bytes"}, 413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return JSONResponse({"error": "too_large", "message": f"at most {MAX_BODY_BYTES} bytes"}, 413)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        peer = request.client.host if request.client else ""
        forwarded = request.headers.get("x-forwarded-for")
        headers = [(k, v) for k, v in headers if k.lower() != "x-forwarded-for"]
        headers.append(("x-forwarded-for", f"{forwarded}, {peer}" if forwarded else peer))
        try:
            answer = await client.request(
                request.method,
                request.url.path,
                params=request.url.query or None,
                headers=headers,
                content=body,
            )
        except httpx.HTTPError:
            return JSONResponse({"error": "unavailable", "message": "the shop is busy; try again"}, 502)
        response = Response(answer.content, answer.status_code)
        for name, value in answer.headers.multi_items():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-encoding":
                response.headers.append(name, value)
        return response

    async def image(request: Request) -> Response:
        key = request.path_params["key"]
        if not image_base_url or ".." in key:
            return PlainTextResponse("not found", 404)
        return RedirectResponse(f"{image_base_url.rstrip('/')}/{key}", 302)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    async def page(_: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})

    site = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/api/{path:path}", forward, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            Route("/images/{key:path}", image),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
            Route("/", page),
        ],
        lifespan=lifespan,
    )
    site.add_middleware(SecurityHeaders)
    return site


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="python -m shop.web.site", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    command.add_argument("--app-tier-url", default=os.environ.get("APP_TIER_URL"),
                         help="where the app tier answers (APP_TIER_URL; required)")  # fmt: skip
    command.add_argument("--image-base-url", default=os.environ.get("IMAGE_BASE_URL"),
                         help="where product images are published (IMAGE_BASE_URL)")  # fmt: skip
    # In its container, behind the load balancer: every interface.
    command.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"), help="address to listen on (HOST)")  # noqa: S104
    command.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")), help="port (PORT)")
    return command


def main(argv: list[str] | None = None) -> int:
    """The web tier's server (the image's command)."""
    command = parser()
    args = command.parse_args(argv)
    if not args.app_tier_url:
        command.error("the app tier's URL is needed: --app-tier-url or APP_TIER_URL")
    import uvicorn  # noqa: PLC0415

    uvicorn.run(create_site(args.app_tier_url, args.image_base_url), host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
