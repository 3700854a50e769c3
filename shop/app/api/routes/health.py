"""The health check the load balancer and the container ask."""

from __future__ import annotations

from fastapi import APIRouter

from shop.app.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Answers while the process serves; the load balancer and the container's health check ask here."""
    return Health()
