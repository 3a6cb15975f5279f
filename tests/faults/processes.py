"""Real processes for the fault tests: the Temporal dev server on a SQLite file and `mediation-worker`.

The time-skipping test server cannot lose a worker or restart with its state on disk, so these tests use
the same binaries `make dev` uses, from the project's virtualenv (nothing is downloaded), on free ports and
temporary files, with lifecycle timers of seconds instead of days.
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from core.settings import Settings

PROJECT = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT = 30
WORKER_START_TIMEOUT = 30
STOP_TIMEOUT = 20


def venv_binary(name: str) -> str:
    for folder in (PROJECT / ".venv" / "bin", Path(sys.executable).parent):
        if (folder / name).exists():
            return str(folder / name)
    pytest.fail(f"{name} is missing from the virtualenv: it comes from the project's dependencies (make venv)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def iso(duration: timedelta) -> str:
    return f"PT{duration.total_seconds():g}S"


class DevServer:
    """`temporal server start-dev` on a SQLite file; stop() and start() again keep every workflow."""

    def __init__(self, db_file: Path, log_path: Path):
        self.db_file = db_file
        self.log_path = log_path
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "the server is already running"
        argv = [
            venv_binary("temporal"),
            "server",
            "start-dev",
            "--db-filename",
            str(self.db_file),
            "--headless",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "error",
        ]
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    async def wait_ready(self) -> Client:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            assert self.process is not None and self.process.poll() is None, f"the Temporal dev server exited:\n{self.output()}"
            try:
                client = await asyncio.wait_for(Client.connect(self.address), 3)
                await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace="default"))
                return client
            except Exception:  # not listening yet, or the namespace not loaded yet
                if time.monotonic() > deadline:
                    raise AssertionError(f"the Temporal dev server was not ready in {SERVER_START_TIMEOUT} s:\n{self.output()}") from None
            await asyncio.sleep(0.2)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stop the server the way an operator or an orchestrator would, and wait until it is gone."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the Temporal dev server ignored signal {sig} for {STOP_TIMEOUT} s") from None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


class WorkerProcess:
    """One `mediation-worker` process configured only through MEDIATION_* variables, as in production."""

    def __init__(self, env: dict[str, str], log_path: Path, cwd: Path):
        self.log_path = log_path
        self.log = log_path.open("a")
        self.process = subprocess.Popen([venv_binary("mediation-worker")], env=env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text()

    async def wait_ready(self) -> "WorkerProcess":
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while "Worker polling task queue" not in self.output():
            assert self.process.poll() is None, f"mediation-worker exited with {self.process.returncode}:\n{self.output()}"
            assert time.monotonic() < deadline, f"mediation-worker did not start in {WORKER_START_TIMEOUT} s:\n{self.output()}"
            await asyncio.sleep(0.1)
        return self

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when a machine or container dies."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_")}
    env.update(
        PYTHONUNBUFFERED="1",
        MEDIATION_DATA_DIR=str(settings.data_dir),
        MEDIATION_DATABASE_URL=settings.resolved_database_url,
        MEDIATION_TEMPORAL_ADDRESS=settings.temporal_address,
        MEDIATION_TEMPORAL_NAMESPACE=settings.temporal_namespace,
        MEDIATION_TASK_QUEUE=settings.task_queue,
        MEDIATION_WORKFLOW_ID_PREFIX=settings.workflow_id_prefix,
        MEDIATION_SENDGRID_API_KEY=settings.sendgrid_api_key,
        MEDIATION_SENDGRID_HOST=settings.sendgrid_host,
        MEDIATION_PUBLIC_BASE_URL=settings.public_base_url,
        MEDIATION_RANKING_WINDOW=iso(settings.ranking_window),
        MEDIATION_RANKING_REMINDERS_BEFORE_DEADLINE="[" + ",".join(f'"{iso(b)}"' for b in settings.ranking_reminders_before_deadline) + "]",
        MEDIATION_CONFLICT_CHECK_WINDOW=iso(settings.conflict_check_window),
        MEDIATION_CONFLICT_CHECK_REMINDER_AFTER=iso(settings.conflict_check_reminder_after),
        MEDIATION_WORKER_PRESENCE_INTERVAL=iso(settings.worker_presence_interval),
    )
    return env


async def count(sessions, model, *where) -> int:
    async with sessions() as session:
        return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def wait_until(check, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Poll an async check until it is truthy; the real server runs on wall-clock time, so waits are seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s (last value: {result!r})")
        await asyncio.sleep(interval)
