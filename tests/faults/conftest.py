"""Fixtures for the fault tests: a shared dev server, workers as processes, settings with short timers."""

import uuid
from datetime import timedelta

import pytest
from temporalio.client import Client

from core.settings import Settings
from tests.conftest import terminate_open_cases
from tests.faults.processes import DevServer, WorkerProcess, worker_env


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory):
    """One dev server shared by the tests that do not stop it; each test has its own task queue and workflow ids."""
    folder = tmp_path_factory.mktemp("temporal")
    server = DevServer(folder / "temporal.db", folder / "temporal.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def dev_client(dev_server) -> Client:
    return await dev_server.wait_ready()


@pytest.fixture
def settings(tmp_path, database_url, dev_server) -> Settings:
    """Overrides the suite's settings: the real dev server, and timers of seconds (tests shorten them further)."""
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        temporal_address=dev_server.address,
        task_queue=f"faults-{uuid.uuid4()}",
        workflow_id_prefix=f"case-{uuid.uuid4().hex[:8]}-",
        sendgrid_api_key="",
        ranking_window=timedelta(minutes=10),
        ranking_reminders_before_deadline=[timedelta(minutes=5)],
        conflict_check_window=timedelta(minutes=10),
        conflict_check_reminder_after=timedelta(minutes=5),
        _env_file=None,
    )


@pytest.fixture
async def start_worker(tmp_path):
    """Start `mediation-worker` processes for given settings; every one still running at the end is stopped."""
    started: list[WorkerProcess] = []

    async def start(settings: Settings) -> WorkerProcess:
        log = tmp_path / f"worker-{len(started) + 1}.log"
        worker = WorkerProcess(worker_env(settings), log, cwd=tmp_path)
        started.append(worker)
        return await worker.wait_ready()

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
async def cleanup_cases(sessions):
    """Terminate the cases a test leaves running on a server, so no timer of theirs outlives the test."""
    targets: list[tuple[Client, Settings]] = []
    yield lambda client, settings: targets.append((client, settings))
    for client, settings in targets:
        try:
            await terminate_open_cases(client, sessions, settings)
        except Exception as error:  # a stopped server: nothing is left running on it anyway
            print(f"cleanup: {error}")
