"""Signing up, logging in and out, and who is logged in."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import Field

from shop.app.api.deps import (
    SESSION_COOKIE,
    TOKEN_MAX,
    ActingCustomer,
    ConnectionDep,
    CurrentCustomer,
    ServicesDep,
    VisitDep,
)
from shop.app.api.schemas import TEXT_PATTERN, Accepted, Login, Me, SignUp, Strict
from shop.app.client_limits import limited_client
from shop.app.db import accounts, signups
from shop.app.db.signups import SignUpRequest
from shop.app.errors import UnauthorisedError
from shop.app.mail import already_a_customer_mail, confirmation_mail
from shoplake.business import EventType

router = APIRouter(tags=["accounts"])


class SignUpConfirmation(Strict):
    """The token of a sign-up's confirmation link and the password chosen at that sign-up."""

    token: str = Field(min_length=1, max_length=TOKEN_MAX, pattern=r"^[A-Za-z0-9_-]+$")
    password: str = Field(min_length=1, max_length=128, pattern=TEXT_PATTERN)


@router.post("/signup", status_code=202, response_model=Accepted)
def sign_up(*, body: SignUp, db: ConnectionDep, visit: VisitDep, svc: ServicesDep) -> Accepted:
    """Mail a confirmation link to the address, or a notice if it already has an account: the same
    answer either way, so it cannot be probed (OWASP's authentication cheat sheet). 429 with
    Retry-After past the per-address limit (docs/shop.md "Signing up")."""
    settings = svc.settings
    signups.reserve_signup(db, limited_client(visit.client_ip), settings.signups_per_client, settings.signup_window)
    password_hash = svc.passwords.hash(body.password)  # hashed either way: the time tells nothing
    if signups.has_account(db, body.email):
        svc.mailer.send(already_a_customer_mail(body.email, settings.public_url))
    else:
        request = SignUpRequest(
            email=body.email, password_hash=password_hash, display_name=body.display_name, country=body.country,
            birth_year=body.birth_year, gender=body.gender, is_seller=body.seller,
        )  # fmt: skip
        token = signups.request_signup(db, request, settings.signup_lifetime)
        hours = int(settings.signup_lifetime.total_seconds() // 3600)
        svc.mailer.send(confirmation_mail(body.email, f"{settings.public_url}/#confirm={token}", hours))
    return Accepted(message="We sent a mail to this address: follow its link to confirm it, then log in.")


@router.post("/signup/confirm", response_model=Accepted)
def confirm_sign_up(*, body: SignUpConfirmation, db: ConnectionDep, visit: VisitDep, svc: ServicesDep) -> Accepted:
    """Make the account of the sign-up whose link carries `token`, if `password` is the one chosen at
    that sign-up (so that a link someone else asked for sets nobody's password). 401, alike, for a
    token unknown, used or expired and for another password."""
    refused = UnauthorisedError("this link is not valid any more, or the password is not the one chosen at sign-up")
    found = signups.pending_signup(db, body.token)
    # No password is hashed for a token that names nothing: the time tells only that a guessed
    # 256-bit token is not one, and a flood of them costs no argon2 work.
    if found is None:
        raise refused
    # A password tried at a link is a password guessed for its e-mail: the login limits count it.
    client = limited_client(visit.client_ip)
    accounts.reserve_login_attempt(db, found.email, client, svc.settings)
    if not svc.passwords.verify(found.password_hash, body.password):
        raise refused
    created = signups.confirm_signup(db, body.token)
    if created is None:
        raise refused
    accounts.login_succeeded(db, found.email, client)
    visit.user_id = str(created)
    svc.clicks.emit(EventType.SIGN_UP, visit, country=found.country)
    return Accepted(message="Your e-mail is confirmed: log in.")


@router.post("/login", response_model=Me)
def log_in(*, body: Login, db: ConnectionDep, response: Response, visit: VisitDep, request: Request,
           svc: ServicesDep) -> Me:  # fmt: skip
    """Log in: 429 with Retry-After while a limit holds this e-mail or address back (docs/shop.md)."""
    email, client, settings = body.email.lower(), limited_client(visit.client_ip), svc.settings
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
