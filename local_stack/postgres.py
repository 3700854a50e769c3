"""The shop database, locally: this machine's PostgreSQL, or an embedded one reachable over TCP.

Glue reads the shop database over JDBC, which speaks TCP only. Where no server listens on
127.0.0.1:5432, pgserver starts an embedded PostgreSQL (on a Unix socket, as it always
does) and a small loopback forwarder gives it a TCP port.
"""

from __future__ import annotations

import os
import socket
import socketserver
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import psycopg

# The server this machine (and CI, on the same machine) starts before a session.
LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _pump(source: socket.socket, target: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with suppress(OSError):
        target.shutdown(socket.SHUT_WR)


class _Forwarder(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, unix_socket: str) -> None:
        self.unix_socket = unix_socket
        super().__init__(("127.0.0.1", 0), _Connection)


class _Connection(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        assert isinstance(self.server, _Forwarder)
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.connect(self.server.unix_socket)
        back = threading.Thread(target=_pump, args=(upstream, self.request), daemon=True)
        back.start()
        _pump(self.request, upstream)
        back.join()
        upstream.close()


@contextmanager
def tcp_forwarder(unix_socket: str) -> Iterator[int]:
    """Forward 127.0.0.1:<port> to a Unix socket while open; yields the port."""
    server = _Forwarder(unix_socket)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def reachable(dsn: str) -> bool:
    try:
        psycopg.connect(dsn, connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


@contextmanager
def shop_postgres(work_dir: Path | None = None, dsn: str | None = None) -> Iterator[str]:
    """A TCP DSN of a running PostgreSQL: `dsn` (or $SHOPLAKE_DEMO_DSN, or this machine's), else an embedded one."""
    dsn = dsn or os.environ.get("SHOPLAKE_DEMO_DSN", LOCAL_DSN)
    if reachable(dsn):
        yield dsn
        return
    import pgserver  # noqa: PLC0415 - only where no server runs

    data = work_dir / "postgres" if work_dir else Path(tempfile.mkdtemp(prefix="shoplake-pg-"))
    server: Any = pgserver.get_server(data, cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        uri = urlparse(server.get_uri())
        socket_dir = parse_qs(uri.query)["host"][0]
        with tcp_forwarder(f"{socket_dir}/.s.PGSQL.5432") as port:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        server.cleanup()


def jdbc_url(dsn: str, schema: str | None = None) -> str:
    url = urlparse(dsn)
    suffix = f"?currentSchema={schema}" if schema else ""
    return f"jdbc:postgresql://{url.hostname}:{url.port or 5432}{url.path}{suffix}"


def jdbc_properties(dsn: str, user: str | None = None) -> dict[str, str]:
    """Spark's JDBC options for `dsn`'s server: as `user` (the extract's `shop_etl`), else as the DSN's user."""
    url = urlparse(dsn)
    properties = {"user": user or url.username or "postgres", "driver": "org.postgresql.Driver"}
    if url.password:
        properties["password"] = url.password
    return properties
