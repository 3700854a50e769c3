"""The web image is nginx with the repository's configuration: its Dockerfile builds from a pinned
nginx image as a non-root user and copies the one template and the storefront's files; the template
rendered with the values the image and the task definition give is accepted by `nginx -t`; and the
task definition gives nginx the writable paths it needs on a read-only root filesystem."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from local_stack import nginx
from local_stack.template import load_template

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "shop" / "web" / "Dockerfile"


def instructions(name: str) -> list[str]:
    """The arguments of each `name` instruction of the web Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    return [line.split(maxsplit=1)[1] for line in text.splitlines() if line.startswith(f"{name} ")]


def image_environment() -> dict[str, str]:
    """The Dockerfile's ENV values (KEY=VALUE form)."""
    return dict(pair.split("=", 1) for env in instructions("ENV") for pair in env.split())


def web_container() -> dict[str, Any]:
    compute = load_template(ROOT / "infra_core" / "compute.yaml")
    (container,) = compute["Resources"]["WebTaskDefinition"]["Properties"]["ContainerDefinitions"]
    return dict(container)


def test_the_web_image_is_a_pinned_unprivileged_nginx_with_the_repositorys_files() -> None:
    # GIVEN the web Dockerfile WHEN read THEN it builds from a pinned nginx image and ends as a non-root user
    (base,) = instructions("FROM")
    assert re.fullmatch(r"nginxinc/nginx-unprivileged:\d+\.\d+\.\d+-alpine", base), base
    assert instructions("USER")[-1] == "101"
    # AND it copies the one template where the image's entrypoint renders it, and the storefront where it is served
    copies = dict(line.split() for line in instructions("COPY"))
    assert copies == {
        "shop/web/nginx/shop.conf.template": "/etc/nginx/templates/shop.conf.template",
        "shop/web/static/": image_environment()["SHOP_WEB_ROOT"] + "/",
    }
    assert nginx.TEMPLATE.relative_to(ROOT).as_posix() in copies
    assert nginx.STATIC.relative_to(ROOT).as_posix() + "/" in copies
    # AND the build context lets in exactly those
    allowed = [
        line[1:]
        for line in (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    assert sorted(allowed) == sorted(copies)


def nginx_version(binary: str) -> tuple[int, ...]:
    printed = subprocess.run([binary, "-v"], capture_output=True, text=True, check=True).stderr  # noqa: S603
    return tuple(int(part) for part in re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", printed).groups())  # type: ignore[union-attr]


def test_the_template_as_the_container_renders_it_is_accepted_by_nginx(tmp_path: Path) -> None:
    # GIVEN the values the container has: the image's ENV, the task definition's, and the entrypoint's resolvers
    container = web_container()
    values = {**image_environment(), "NGINX_LOCAL_RESOLVERS": "10.0.0.2"}
    samples = {"APP_TIER_ADDRESS": "internal-shoplake-dev-1.ap-northeast-2.elb.amazonaws.com:80",
               "IMAGE_BASE_URL": "https://d111111abcdef8.cloudfront.net", "SHOP_WEB_TRUSTED_PROXIES": "10.0.0.0/16",
               "SHOP_WEB_LISTEN": "8080", "SHOPLAKE_ENVIRONMENT": "dev"}  # fmt: skip
    assert {entry["Name"] for entry in container["Environment"]} == set(samples)
    values.update(samples)
    # THEN every placeholder of the template has a value
    assert nginx.placeholders() <= set(values), nginx.placeholders() - set(values)
    # AND the image's nginx can follow the app tier's name (`resolve` came to open-source nginx in 1.27.3)
    (base,) = instructions("FROM")
    assert values["APP_TIER_RESOLVE"] == "resolve"
    assert tuple(int(part) for part in base.split(":")[1].removesuffix("-alpine").split(".")) >= (1, 27, 3)
    # AND nginx accepts the rendered configuration (an older nginx here: without `resolve`, at an address)
    binary = nginx.nginx_binary()
    if nginx_version(binary) < (1, 27, 3):
        values.update(APP_TIER_RESOLVE="", APP_TIER_ADDRESS="127.0.0.1:80")
    (tmp_path / "shop.conf").write_text(nginx.render(nginx.TEMPLATE.read_text(), values))
    (tmp_path / "nginx.conf").write_text(nginx.main_config(tmp_path, nginx.mime_types(binary)))
    argv = [binary, "-t", "-q", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "log")]
    check = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603 - the system's nginx
    assert check.returncode == 0, check.stderr


def test_the_web_task_gives_nginx_its_writable_paths_and_checks_its_health() -> None:
    # GIVEN the web task definition WHEN read THEN the root filesystem is read-only, nginx is uid 101,
    container = web_container()
    assert container["ReadonlyRootFilesystem"] is True and container["User"] == "101"
    # AND the only writable paths are tmpfs: nginx's temporary files and pid, and its rendered configuration
    mounts = {mount["ContainerPath"] for mount in container["LinuxParameters"]["Tmpfs"]}
    assert mounts == {"/tmp", "/etc/nginx/conf.d"}
    # AND the health check asks nginx's own /healthz with curl, which the image has
    assert "curl -fsS http://localhost:" in str(container["HealthCheck"]["Command"])
    assert "/healthz" in nginx.TEMPLATE.read_text()


def test_rendering_refuses_a_placeholder_without_a_value() -> None:
    with pytest.raises(KeyError, match="SHOP_WEB_ROOT"):
        nginx.render("listen ${SHOP_WEB_LISTEN}; root ${SHOP_WEB_ROOT};", {"SHOP_WEB_LISTEN": "8080"})


@pytest.mark.parametrize("url", ["http://app:80/api", "ftp://app:80", "app:8080", "http://app:80/?x=1", "http://app"])
def test_an_app_tier_url_with_a_path_is_refused_before_it_replaces_every_path(url: str) -> None:
    with pytest.raises(ValueError, match="app_tier_url"):
        nginx.local_values(url, "127.0.0.1:1", ROOT)


@pytest.mark.parametrize(("rate", "burst"), [("20", 1), ("0r/s", 1), ("5r/h", 1), ("20r/s", -1)])
def test_a_rate_limit_nginx_would_not_read_is_refused(rate: str, burst: int) -> None:
    with pytest.raises(ValueError, match=r"^(rate|burst):"):
        nginx.RateLimit(rate, burst)


def test_the_template_names_its_values_the_one_way_both_renderers_read() -> None:
    # envsubst would also replace a bare $NAME, which render() leaves: only ${NAME} is used, in capitals,
    # and nginx's own variables are lower case
    text = nginx.TEMPLATE.read_text()
    assert not re.findall(r"\$[A-Z][A-Za-z0-9_]*", text)
    assert nginx.placeholders() == set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text))
