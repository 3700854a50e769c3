"""Signing up, logging in and out, and who is logged in."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from shop.app.api.deps import (
    SESSION_COOKIE,
    TOKEN_MAX,
    ActingCustomer,
    ConnectionDep,
    CurrentCustomer,
    ServicesDep,
    VisitDep,
)
from shop.app.api.schemas import Accepted, Login, Me, SignUp
from shop.app.db import accounts
from shop.app.errors import UnauthorisedError
from shoplake.business import EventType

router = APIRouter(tags=["accounts"])


@router.post("/signup", status_code=202, response_model=Accepted)
def sign_up(*, body: SignUp, db: ConnectionDep, visit: VisitDep, svc: ServicesDep) -> Accepted:
    """The same answer whether or not the e-mail was already known, so it cannot be probed."""
    created = accounts.sign_up(
        db,
        email=body.email,
        password_hash=svc.passwords.hash(body.password),
        display_name=body.display_name,
        country=body.country,
        birth_year=body.birth_year,
        gender=body.gender,
        seller=body.seller,
    )
    visit.user_id = str(created) if created else None
    svc.clicks.emit(EventType.SIGN_UP, visit, country=body.country)
    return Accepted(message="If this e-mail is new, the account is ready: log in.")


@router.post("/login", response_model=Me)
def log_in(*, body: Login, db: ConnectionDep, response: Response, visit: VisitDep, request: Request,
           svc: ServicesDep) -> Me:  # fmt: skip
    """Log in: 429 with Retry-After while a limit holds this e-mail or address back (docs/shop.md)."""
    email, client, settings = body.email.lower(), visit.client_ip or "unknown", svc.settings
    accounts.reserve_login_attempt(db, email, client, settings)  # counted as failed until it succeeds
    found = accounts.credentials(db, email)
    if not svc.passwords.verify(found.password_hash if found else None, body.password) or found is None:
        raise UnauthorisedError("wrong e-mail or password")
    accounts.login_succeeded(db, email, client)
    old = request.cookies.get(SESSION_COOKIE)
    if old and len(old) <= TOKEN_MAX:
        accounts.close_session(db, old)  # a new session on every login: no session fixation
    session = accounts.open_session(db, found.customer_id, settings.session_lifetime)
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=int(settings.session_lifetime.total_seconds()),
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )
    visit.user_id = str(found.customer_id)
    svc.clicks.emit(EventType.LOGIN, visit)
    return Me(customer_id=found.customer_id, display_name=found.display_name, seller=found.is_seller,
              csrf_token=session.csrf_token)  # fmt: skip


@router.post("/logout", status_code=204)
def log_out(*, request: Request, db: ConnectionDep, _: ActingCustomer, svc: ServicesDep) -> Response:
    accounts.close_session(db, request.cookies[SESSION_COOKIE])
    response = Response(status_code=204)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=svc.settings.cookie_secure, httponly=True, samesite="strict"
    )
    return response


@router.get("/me", response_model=Me)
def me(*, customer: CurrentCustomer) -> Me:
    return Me(customer_id=customer.customer_id, display_name=customer.display_name, seller=customer.is_seller,
              csrf_token=customer.csrf_token)  # fmt: skip
