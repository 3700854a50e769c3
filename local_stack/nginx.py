"""The shop's web tier on this machine: Debian's nginx, run with the repository's configuration.

`shop/web/nginx/shop.conf.template` is the one configuration; the container's entrypoint renders it
with envsubst, and `render` here does the same for a local run. `running_nginx` starts nginx as the
user who calls it (no privileges needed: a port above 1024, and its own prefix, configuration, pid
file, error log and temporary paths in a temporary directory), on a free 127.0.0.1 port, waits until
it answers /healthz, and stops it when closed.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

WEB = Path(__file__).resolve().parents[1] / "shop" / "web"
TEMPLATE = WEB / "nginx" / "shop.conf.template"
STATIC = WEB / "static"
LOOPBACK = "127.0.0.1"
# envsubst's form, in capitals: nginx's own variables ($uri, $host) are lower case and stay as they are.
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
INSTALL_HINT = "nginx is needed for the shop's web tier: install it (Debian: apt-get install nginx)"


class NginxMissingError(RuntimeError):
    """No nginx binary on PATH (or in /usr/sbin)."""


@dataclass(frozen=True)
class RateLimit:
    """API requests per client address: `rate` in nginx's form (`20r/s`, `600r/m`), `burst` above it at once.

    Locally every client is 127.0.0.1, so the default lets tests, the demo and the benchmark through;
    the container's own (Dockerfile, docs/shop.md) is 20r/s with a burst of 40.
    """

    rate: str = "10000r/s"
    burst: int = 10000

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[1-9][0-9]*r/[sm]", self.rate):
            raise ValueError(f"rate: {self.rate!r} is not an nginx rate such as 20r/s")
        if self.burst < 0:
            raise ValueError(f"burst: {self.burst} is negative")


def render(template: str, values: Mapping[str, str]) -> str:
    """The template with each `${NAME}` replaced, as envsubst does; KeyError names a placeholder without a value."""
    missing = sorted(set(PLACEHOLDER.findall(template)) - set(values))
    if missing:
        raise KeyError(f"no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def placeholders(template: str | None = None) -> set[str]:
    """The names the template expects (the container's environment must define each)."""
    return set(PLACEHOLDER.findall(TEMPLATE.read_text() if template is None else template))


def nginx_binary() -> str:
    """The nginx to run; NginxMissingError says what to install."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise NginxMissingError(INSTALL_HINT)
    return found


def local_values(
    app_tier_url: str, listen: str, root: Path, image_base_url: str | None = None, limit: RateLimit | None = None
) -> dict[str, str]:
    """The template's values for a local run; ValueError if `app_tier_url` is not http://host:port."""
    parts = urlsplit(app_tier_url)
    if parts.scheme != "http" or not parts.hostname or not parts.port or parts.path not in ("", "/") or parts.query:
        raise ValueError(f"app_tier_url: {app_tier_url!r} must be http://host:port, with no path")
    limit = limit or RateLimit()
    return {
        "SHOP_WEB_LISTEN": listen,
        "SHOP_WEB_ROOT": str(root),
        "APP_TIER_ADDRESS": parts.netloc,
        # Debian's nginx (1.22) has no `resolve`; locally the app is at an IP address and needs none.
        "APP_TIER_RESOLVE": "",
        "IMAGE_BASE_URL": (image_base_url or "").rstrip("/"),
        "NGINX_LOCAL_RESOLVERS": " ".join(_nameservers()) or LOOPBACK,
        # Clients connect directly: nobody may say who the client is.
        "SHOP_WEB_TRUSTED_PROXIES": "unix:",
        "SHOP_WEB_RATE": limit.rate,
        "SHOP_WEB_BURST": str(limit.burst),
    }


def _nameservers() -> list[str]:
    """This machine's IPv4 name servers, as the nginx image's 15-local-resolvers.envsh reads them."""
    try:
        lines = Path("/etc/resolv.conf").read_text().splitlines()
    except OSError:
        return []
    servers = [line.split()[1] for line in lines if line.startswith("nameserver") and len(line.split()) > 1]
    return [server for server in servers if re.fullmatch(r"[0-9.]+", server)]


def main_config(work: Path, mime_types: Path) -> str:
    """nginx.conf for a local run: everything it writes under `work`, the shop's server included from there."""
    user = pwd.getpwuid(os.geteuid()).pw_name
    return "\n".join(
        [
            # Only read as root; it keeps the workers as the caller (they read and write `work`).
            f"user {user};" if os.geteuid() == 0 else "",
            "worker_processes 1;",  # plenty on loopback; the other cores stay with the app
            f"pid {work}/nginx.pid;",
            f"error_log {work}/error.log warn;",
            "events { worker_connections 1024; }",
            "http {",
            f"    include {mime_types};",
            "    default_type application/octet-stream;",
            "    access_log off;",
            "    sendfile on;",
            *(
                f"    {kind}_temp_path {work}/{kind}_temp;"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            ),
            f"    include {work}/shop.conf;",
            "}",
            "",
        ]
    )


def mime_types(binary: str) -> Path:
    """The mime.types beside the binary's own configuration (Debian: /etc/nginx/mime.types)."""
    built = subprocess.run([binary, "-V"], capture_output=True, text=True, check=False).stderr  # noqa: S603
    found = re.search(r"--conf-path=(\S+)", built)
    return Path(found.group(1)).with_name("mime.types") if found else Path("/etc/nginx/mime.types")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1) as connection:
            connection.sendall(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
            return connection.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


@contextmanager
def running_nginx(
    app_tier_url: str, *, image_base_url: str | None = None, limit: RateLimit | None = None, attempts: int = 3
) -> Iterator[str]:
    """nginx in front of `app_tier_url` on a free loopback port while open; yields its base URL.

    NginxMissingError if nginx is not installed; RuntimeError (with nginx's error log) if it does not start.
    """
    binary = nginx_binary()
    with tempfile.TemporaryDirectory(prefix="shop-nginx-") as scratch:
        work = Path(scratch)
        root = work / "static"
        shutil.copytree(STATIC, root)  # as the image holds them
        (work / "nginx.conf").write_text(main_config(work, mime_types(binary)))
        process, port = None, 0
        for _ in range(attempts):
            port = _free_port()  # another process may take it meanwhile: then again, on another
            values = local_values(app_tier_url, f"{LOOPBACK}:{port}", root, image_base_url, limit)
            (work / "shop.conf").write_text(render(TEMPLATE.read_text(), values))
            process = _start(binary, work, port)
            if process is not None:
                break
        if process is None:
            log = (work / "error.log").read_text() if (work / "error.log").exists() else ""
            raise RuntimeError(f"nginx did not start:\n{log[-3000:]}")
        try:
            yield f"http://{LOOPBACK}:{port}"
        finally:
            _stop(process)


def _start(binary: str, work: Path, port: int) -> subprocess.Popen[bytes] | None:
    """nginx in the foreground with `work` as its prefix; None if it did not answer within 10 s."""
    process = subprocess.Popen(  # noqa: S603 - the system's nginx, our own configuration
        [binary, "-p", str(work), "-c", str(work / "nginx.conf"), "-e", str(work / "error.log"), "-g", "daemon off;"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while not _answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            return None
        time.sleep(0.02)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Fast shutdown (SIGTERM: the master stops its workers), then SIGKILL if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
