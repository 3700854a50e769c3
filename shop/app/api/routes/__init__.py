"""The API's routes, one module per resource, gathered under `/api` (and the health check beside it)."""

from __future__ import annotations

from fastapi import APIRouter

from shop.app.api.errors import DOCUMENTED
from shop.app.api.routes import accounts, health, orders, payments, products, reviews

api_router = APIRouter(prefix="/api", responses=DOCUMENTED)
for resource in (accounts, products, orders, payments, reviews):
    api_router.include_router(resource.router)

health_router = health.router
