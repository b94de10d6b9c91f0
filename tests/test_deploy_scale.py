"""deploy/compose.scale.yaml and deploy/nginx.conf cannot run here (no container engine), so
they are checked for what makes them correct by construction: every POLICYBOT_* name is a
setting, every URL names a service on the port that service listens on (the ports the file's
header documents), nginx sends to each replica's serve port, the checks hit /readyz."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import tomllib
import yaml

from service.api.app import UPLOAD_OVERHEAD
from service.core.settings import Settings
from tests.conftest import REPO

COMPOSE_TEXT = (REPO / "deploy" / "compose.scale.yaml").read_text("utf-8")
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, Any] = COMPOSE["services"]
NGINX = (REPO / "deploy" / "nginx.conf").read_text("utf-8")
REPLICAS = ["policybot-a", "policybot-b"]
SERVE_PORT = 8000  # the Dockerfile's CMD: policybot serve --port 8000


def documented_ports() -> dict[str, list[int]]:
    """The header's table, ``#   service  port (what), port  what -> published on ...``:
    the ports each service listens on inside the network."""
    table: dict[str, list[int]] = {}
    for name, rest in re.findall(r"^#   ([a-z-]+) +(\d.*)$", COMPOSE_TEXT, re.MULTILINE):
        inside = re.sub(r"\(.*?\)", "", rest).split("->")[0]
        table[name] = [int(port) for port in re.findall(r"\b\d{2,5}\b", inside)]
    return table


def environment(service: str) -> dict[str, str]:
    return {key: str(value) for key, value in SERVICES[service].get("environment", {}).items()}


def interpolated(value: str) -> str:
    """``${NAME:?message}`` / ``${NAME:-default}`` as compose would fill them in (a sample)."""
    return re.sub(r"\$\{(\w+)[^}]*\}", lambda m: f"sample-{m.group(1).lower()}", value)


def test_every_policybot_setting_is_a_settings_field() -> None:
    names = {key for service in SERVICES for key in environment(service)
             if key.startswith("POLICYBOT_")}
    fields = {f"POLICYBOT_{name.upper()}" for name in set(Settings.model_fields)}
    assert names and names <= fields, names - fields
    assert "POLICYBOT_DATABASE_URL" in names


def test_the_replicas_settings_validate() -> None:
    for replica in REPLICAS:
        values = {key.removeprefix("POLICYBOT_").lower(): interpolated(value)
                  for key, value in environment(replica).items()
                  if key.removeprefix("POLICYBOT_").lower() in Settings.model_fields}
        settings = Settings(**values)
        assert settings.database_url.get_secret_value().startswith("postgresql://")


def test_urls_name_services_on_their_documented_ports() -> None:
    ports = documented_ports()
    env = environment("policybot-a")
    for key in ("POLICYBOT_DATABASE_URL", "POLICYBOT_MILVUS_URI"):
        url = urlsplit(interpolated(env[key]))
        assert url.hostname in SERVICES, (key, url.hostname)
        assert url.port in ports[url.hostname], (key, url.port, ports)
    assert ports["postgres"] == [5432] and ports["milvus"][0] == 19530
    assert "ETCD_ENDPOINTS" in environment("milvus")
    for key, service in (("ETCD_ENDPOINTS", "etcd"), ("MINIO_ADDRESS", "minio")):
        host, port = environment("milvus")[key].split(":")
        assert host == service and int(port) in ports[service]


def test_nginx_sends_to_each_replica_and_listens_where_compose_publishes() -> None:
    upstream = re.findall(r"^\s*server ([\w-]+):(\d+)", NGINX, re.MULTILINE)
    assert sorted(upstream) == [(name, str(SERVE_PORT)) for name in REPLICAS]
    assert all(documented_ports()[name] == [SERVE_PORT] for name in REPLICAS)
    [published] = SERVICES["nginx"]["ports"]
    [listen] = re.findall(r"^\s*listen (\d+);", NGINX, re.MULTILINE)
    assert published.rsplit(":", 1)[1] == listen
    assert int(listen) in documented_ports()["nginx"]
    assert f"published on {published.rsplit(':', 1)[0]}" in COMPOSE_TEXT
    [mount] = SERVICES["nginx"]["volumes"]
    assert mount.startswith("./nginx.conf:")
    [body_limit] = re.findall(r"client_max_body_size (\d+)m;", NGINX)
    assert int(body_limit) * 1024 * 1024 >= Settings().max_upload_bytes + UPLOAD_OVERHEAD


def test_health_checks_hit_readyz_and_start_order_follows_them() -> None:
    for replica in REPLICAS:
        check = " ".join(SERVICES[replica]["healthcheck"]["test"])
        assert f"127.0.0.1:{SERVE_PORT}/readyz" in check
        assert SERVICES[replica]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "milvus": {"condition": "service_healthy"}}
    for service in SERVICES.values():
        for needed in service.get("depends_on", {}):
            assert needed in SERVICES and "healthcheck" in SERVICES[needed], needed


def test_proxies_are_trusted_for_the_compose_network_only() -> None:
    [subnet] = [pool["subnet"] for pool in COMPOSE["networks"]["policybot"]["ipam"]["config"]]
    assert environment("policybot-a")["POLICYBOT_TRUSTED_PROXIES"] == subnet


def test_the_replicas_are_built_with_extras_the_project_has() -> None:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"][
        "optional-dependencies"]
    asked = SERVICES["policybot-a"]["build"]["args"]["EXTRAS"].split(",")
    assert {"postgres", "milvus"} <= set(asked) <= set(extras)
    assert SERVICES["policybot-a"]["build"]["context"] == ".."
    assert 'ARG EXTRAS=""' in (REPO / "Dockerfile").read_text("utf-8")
