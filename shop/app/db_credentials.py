"""How the app tier logs in to its database: as `shop_app`, with an RDS IAM authentication token
made for each new connection, so that no password is ever rotated under it.

A token (`rds.generate_db_auth_token`: a SigV4-signed request computed locally from the task
role's credentials, no call to AWS) is good for 15 minutes and only for opening a connection; an
open connection stays open. The pool asks for fresh connection arguments each time it opens one
(psycopg_pool's callable `kwargs`), so a connection opened hours after the task started, after a
fail-over, or when the pool renews connections (hourly) logs in as well as the first. The RDS master
user's secret is left to RDS's rotation: only the migration task reads it (shop.app.prestart).

Settings, from the environment the task definition sets (infra_core/compute.yaml):
- the connection's host, port, database, user and TLS: as shop.app.settings.database_dsn reads them;
- DATABASE_IAM_AUTH=true: a token as each connection's password (RDS needs TLS for it:
  DATABASE_SSLMODE=verify-full with DATABASE_SSLROOTCERT, the RDS CA bundle in the image);
  the region is AWS_REGION's (or AWS_DEFAULT_REGION's). Locally it is off: trust auth, no password.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from shop.app.settings import database_dsn

# The role the app tier logs in as (shop/migrations/0004_roles.sql); the task definition names it.
APP_ROLE = "shop_app"
TokenSource = Callable[[], str]


def iam_auth_enabled(env: Mapping[str, str]) -> bool:
    return env.get("DATABASE_IAM_AUTH", "false").strip().lower() == "true"


def rds_token_source(env: Mapping[str, str], rds_client: Any = None) -> TokenSource:
    """A function giving a fresh RDS IAM authentication token (text, good for 15 minutes) for the
    host, port and user of `env`'s connection (database_dsn).

    `rds_client` is a boto3 RDS client (built here, for AWS_REGION, when None). Raises ValueError
    when the connection names no host or user; botocore's errors (no credentials) when called.
    """
    params = conninfo_to_dict(database_dsn(env))
    host, user = params.get("host"), params.get("user")
    if not host or not user:
        raise ValueError("IAM authentication needs DATABASE_HOST and DATABASE_USER")
    port = int(str(params.get("port") or 5432))
    if rds_client is None:
        import boto3  # noqa: PLC0415 - only the service in AWS makes tokens

        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
        rds_client = boto3.client("rds", region_name=region)

    def token() -> str:
        return str(rds_client.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user))

    return token


def connection_arguments(token: TokenSource | None, **fixed: Any) -> Callable[[], dict[str, Any]]:
    """psycopg_pool's `kwargs` callable: `fixed` (autocommit, options...) and, with `token`, a fresh
    token as the password, each time the pool opens a connection."""

    def arguments() -> dict[str, Any]:
        return {**fixed, "password": token()} if token else dict(fixed)

    return arguments


def app_pool(env: Mapping[str, str], *, token: TokenSource | None = None, **pool_options: Any) -> ConnectionPool[Any]:
    """The app tier's connection pool (autocommit connections) over `env`'s database: with
    DATABASE_IAM_AUTH=true each new connection logs in with a token from `token` (default: one
    made with boto3 for `env`'s host and user). `pool_options` go to ConnectionPool (min_size,
    max_size, open...)."""
    if token is None and iam_auth_enabled(env):
        token = rds_token_source(env)
    return ConnectionPool(database_dsn(env), kwargs=connection_arguments(token, autocommit=True), **pool_options)


def connect(env: Mapping[str, str], *, token: TokenSource | None = None) -> psycopg.Connection[Any]:
    """One autocommit connection over `env`'s database, logged in as app_pool's are (for the app
    role's short tasks: housekeeping). psycopg's OperationalError when it cannot log in."""
    if token is None and iam_auth_enabled(env):
        token = rds_token_source(env)
    return psycopg.connect(database_dsn(env), **connection_arguments(token, autocommit=True)())
