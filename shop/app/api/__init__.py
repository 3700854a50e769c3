"""The shop's HTTP API: `create_app` (factory) assembles the routes (routes/), their dependencies
(deps), the request and answer shapes (schemas), the middleware and the error answers (errors)."""

from shop.app.api.factory import create_app

__all__ = ["create_app"]
