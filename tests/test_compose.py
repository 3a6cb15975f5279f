"""docker-compose.yml cannot run here (no Docker engine), so read it and hold it to what the app really reads."""

import json
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
# What production cannot run without: a real database, the Temporal cluster, SendGrid, storage every replica shares,
# secrets and public links.
REQUIRED_IN_PRODUCTION = {
    "MEDIATION_DATABASE_URL",
    "MEDIATION_TEMPORAL_ADDRESS",
    "MEDIATION_SENDGRID_API_KEY",
    "MEDIATION_SECRET_KEY",
    "MEDIATION_PUBLIC_BASE_URL",
    "MEDIATION_COOKIE_SECURE",
    "MEDIATION_STORAGE_BACKEND",
    "MEDIATION_S3_BUCKET",
    "MEDIATION_S3_ENDPOINT_URL",
    "MEDIATION_S3_ACCESS_KEY_ID",
    "MEDIATION_S3_SECRET_ACCESS_KEY",
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
    for secret in ("MEDIATION_SENDGRID_API_KEY", "MEDIATION_SECRET_KEY", "MEDIATION_S3_SECRET_ACCESS_KEY"):
        assert ":?" in env[secret], f"{secret} must come from the operator, with compose refusing to start without it"


def test_settings_parse_the_production_environment():
    env = {k: re.sub(r"\$\{[^}]*\}", "x", v) for k, v in app_environment("web").items()}
    settings = Settings(**{k.removeprefix("MEDIATION_").lower(): v for k, v in env.items()}, _env_file=None)
    assert settings.cookie_secure is True and settings.resolved_database_url.startswith("postgresql+psycopg://")
    assert settings.resolved_storage_backend == "s3" and settings.s3_bucket


def test_images_are_pinned():
    for name, service in SERVICES.items():
        image = service.get("image")
        if image is None:
            continue
        assert ":" in image and not image.endswith(":latest"), f"{name} uses an unpinned image {image}"
        # A version number, or MinIO's dated release names (RELEASE.2024-11-07T00-52-20Z), never a moving tag.
        assert re.search(r":(\d+(\.\d+)+|RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z)", image), f"{name}: pin a version, not a moving tag ({image})"


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
    assert {"postgres-data", "minio-data"} <= volumes and set(COMPOSE["volumes"]) == {"postgres-data", "minio-data"}
    assert "healthcheck" in SERVICES["minio"]
    for name in ("web", "worker"):
        assert SERVICES[name]["depends_on"]["minio-setup"]["condition"] == "service_completed_successfully"


def test_documents_live_in_the_private_bucket_every_replica_shares():
    env = app_environment("web")
    for name in APP_SERVICES:
        # Nothing on a replica's own disk: any replica on any host serves any document.
        assert "volumes" not in SERVICES[name] and "MEDIATION_DATA_DIR" not in app_environment(name), name
    assert env["MEDIATION_STORAGE_BACKEND"] == "s3"
    endpoint = urlparse(env["MEDIATION_S3_ENDPOINT_URL"])
    assert endpoint.hostname == "minio" and endpoint.port == 9000 and "--address" not in SERVICES["minio"]["command"]
    # The S3 API is not published; the console is, to this host only.
    assert SERVICES["minio"]["ports"] == ["127.0.0.1:9001:9001"]
    assert SERVICES["minio"]["command"][SERVICES["minio"]["command"].index("--console-address") + 1] == ":9001"

    # The one-shot setup makes the bucket and the app's user the app signs in as, with the same secret.
    setup = {k: str(v) for k, v in SERVICES["minio-setup"]["environment"].items()}
    minio = SERVICES["minio"]["environment"]
    assert setup["MINIO_URL"] == env["MEDIATION_S3_ENDPOINT_URL"] and setup["S3_BUCKET"] == env["MEDIATION_S3_BUCKET"]
    assert setup["S3_APP_ACCESS_KEY"] == env["MEDIATION_S3_ACCESS_KEY_ID"] and setup["S3_APP_SECRET_KEY"] == env["MEDIATION_S3_SECRET_ACCESS_KEY"]
    assert (setup["MINIO_ROOT_USER"], setup["MINIO_ROOT_PASSWORD"]) == (minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"])
    assert ":?" in minio["MINIO_ROOT_PASSWORD"] and env["MEDIATION_S3_ACCESS_KEY_ID"] != minio["MINIO_ROOT_USER"]
    assert SERVICES["minio-setup"]["restart"] == "no" and SERVICES["minio-setup"]["depends_on"]["minio"]["condition"] == "service_healthy"
    mounted, inside = SERVICES["minio-setup"]["volumes"][0].split(":")[:2]
    folder = ROOT / mounted
    script = SERVICES["minio-setup"]["entrypoint"][-1]
    assert script.startswith(inside + "/") and (folder / script.removeprefix(inside + "/")).is_file()
    setup_script = (folder / script.removeprefix(inside + "/")).read_text()
    assert 'mc anonymous set none "local/$S3_BUCKET"' in setup_script, "the bucket must be made private"
    assert f"{inside}/app-policy.json" in setup_script

    # The app's policy: that bucket's objects and nothing else (the tests' S3 server gives the app exactly this).
    policy = json.loads((folder / "app-policy.json").read_text())
    bucket = env["MEDIATION_S3_BUCKET"]
    granted = {(action, resource) for statement in policy["Statement"] for action in statement["Action"] for resource in statement["Resource"]}
    assert all(statement["Effect"] == "Allow" for statement in policy["Statement"])
    assert {resource for _, resource in granted} == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}
    assert {action for action, _ in granted} <= {
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
        "s3:ListBucket",
    }, "no bucket-wide rights (policies, ACLs) and no wildcards"
