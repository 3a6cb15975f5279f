"""docker-compose.yml cannot run here (no Docker engine), so read it and hold it to what the app really reads."""

import re
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from commands.web import WebSettings
from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ["migrate", "web", "worker"]
# What production cannot run without: a real database, the Temporal cluster, SendGrid, secrets and public links.
REQUIRED_IN_PRODUCTION = {
    "MEDIATION_DATABASE_URL",
    "MEDIATION_TEMPORAL_ADDRESS",
    "MEDIATION_SENDGRID_API_KEY",
    "MEDIATION_SECRET_KEY",
    "MEDIATION_PUBLIC_BASE_URL",
    "MEDIATION_COOKIE_SECURE",
}


def app_environment(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in SERVICES[service]["environment"].items()}


def known_variables() -> set[str]:
    names = {f"MEDIATION_{name.upper()}" for name in Settings.model_fields}
    names |= {f"MEDIATION_WEB_{name.upper()}" for name in WebSettings.model_fields}
    return names


@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_variable_is_one_the_app_reads_and_required_ones_are_set(service):
    env = app_environment(service)
    unknown = {k for k in env if k.startswith("MEDIATION_")} - known_variables()
    assert not unknown, f"{service} sets variables the app never reads: {unknown}"
    missing = REQUIRED_IN_PRODUCTION - set(env)
    assert not missing, f"{service} lacks {missing}"
    assert env["MEDIATION_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["MEDIATION_COOKIE_SECURE"] == "true"
    for secret in ("MEDIATION_SENDGRID_API_KEY", "MEDIATION_SECRET_KEY"):
        assert ":?" in env[secret], f"{secret} must come from the operator, with compose refusing to start without it"


def test_settings_parse_the_production_environment():
    env = {k: re.sub(r"\$\{[^}]*\}", "x", v) for k, v in app_environment("web").items()}
    settings = Settings(**{k.removeprefix("MEDIATION_").lower(): v for k, v in env.items()}, _env_file=None)
    assert settings.cookie_secure is True and settings.resolved_database_url.startswith("postgresql+psycopg://")


def test_images_are_pinned():
    for name, service in SERVICES.items():
        image = service.get("image")
        if image is None:
            continue
        assert ":" in image and not image.endswith(":latest"), f"{name} uses an unpinned image {image}"
        assert re.search(r":\d+(\.\d+)+", image), f"{name}: pin a version number, not a moving tag ({image})"


def test_addresses_and_ports_agree():
    env = app_environment("web")
    database = urlparse(env["MEDIATION_DATABASE_URL"].replace("${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}", "pw"))
    postgres_env = SERVICES["postgres"]["environment"]
    assert database.hostname == "postgres" and database.port == 5432
    assert database.username == postgres_env["POSTGRES_USER"] and database.path == "/" + postgres_env["POSTGRES_DB"]
    temporal_host, temporal_port = env["MEDIATION_TEMPORAL_ADDRESS"].split(":")
    assert temporal_host in SERVICES and temporal_port == "7233"
    assert SERVICES["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == env["MEDIATION_TEMPORAL_ADDRESS"]
    web_command = SERVICES["web"]["command"]
    web_port = web_command[web_command.index("--port") + 1]
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert f"http://web:{web_port}" in nginx
    assert f"127.0.0.1:{web_port}/healthz" in " ".join(SERVICES["web"]["healthcheck"]["test"])
    published = SERVICES["proxy"]["ports"][0].split(":")
    assert published[1] == re.search(r"listen (\d+);", nginx).group(1)
    assert "ports" not in SERVICES["web"], "replicas cannot share a published port; the proxy publishes it"


def test_commands_dependencies_and_health_checks():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name in APP_SERVICES:
        assert SERVICES[name]["command"][0] in scripts
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, f"{name} depends on unknown service {dependency}"
    for name in ("postgres", "temporal", "web"):
        assert "healthcheck" in SERVICES[name]
    assert SERVICES["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    volumes = {v.split(":")[0] for s in SERVICES.values() for v in s.get("volumes", [])}
    assert {"postgres-data", "app-data"} <= volumes and {"postgres-data", "app-data"} <= set(COMPOSE["volumes"])
    assert app_environment("web")["MEDIATION_DATA_DIR"] in {v.split(":")[1] for v in SERVICES["web"]["volumes"]}
