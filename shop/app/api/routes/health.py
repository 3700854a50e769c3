"""Liveness and readiness: what the container's health check and the internal load balancer ask.

- `/healthz` (liveness): the process serves. It never touches the database, so that a database
  blip never makes ECS replace every task at once (the container health check asks here).
- `/readyz` (readiness): this task can serve the shop: it logs in to the database as its role
  (`SELECT`, within READY_TIMEOUT_SECONDS) and the schema has every migration this image ships
  (they are applied by the migration task before the services are updated). The internal load
  balancer's target group asks here (infra_core/compute.yaml says why it may).
"""

from __future__ import annotations

from typing import Literal

import psycopg
from fastapi import APIRouter, Response
from psycopg_pool import PoolTimeout
from pydantic import BaseModel

from shop.app.api.deps import ServicesDep
from shop.app.api.schemas import Health
from shop.migrate import pending_migrations

router = APIRouter(tags=["health"])
# A readiness answer within the load balancer's 5-second health-check timeout, even when the
# pool must open a connection first.
READY_TIMEOUT_SECONDS = 2.0


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    # Why not: the database did not answer, or which migrations the schema lacks.
    detail: str | None = None


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Answers while the process serves; the container's health check asks here."""
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "The database does not answer, or the schema is behind."}},
)
def readyz(svc: ServicesDep, response: Response) -> Readiness:
    """200 when the database answers this task's login within READY_TIMEOUT_SECONDS and its schema
    is current; 503 saying which is not."""
    try:
        with svc.pool.connection(timeout=READY_TIMEOUT_SECONDS) as db, db.transaction():
            db.execute(f"SET LOCAL statement_timeout = {int(READY_TIMEOUT_SECONDS * 1000)}")
            behind = pending_migrations(db)
    except (psycopg.Error, PoolTimeout) as error:
        response.status_code = 503
        return Readiness(status="not ready", detail=f"the database does not answer: {type(error).__name__}")
    if behind:
        response.status_code = 503
        return Readiness(status="not ready", detail=f"the schema lacks migrations {', '.join(behind)}")
    return Readiness(status="ready")
