"""The embedded stack the benchmark measures: the same processes `make dev` starts, on free ports, in a temp folder.

`commands/dev.py` already knows how to start and stop the Temporal dev server (SQLite file), the worker
and the web app in the right order, so the benchmark reuses it and only changes what a measurement needs:
free ports, a throw-away data folder, no access log (its formatting would be measured too), no banner,
and optionally the worker and web app wrapped in the profiler (`bench/profiled.py`).
"""

import os
import socket
import sys
import tempfile
from contextlib import suppress
from pathlib import Path

from temporalio.client import Client

from commands.dev import DevRun, DevSettings
from core.settings import Settings


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def distinct_free_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


class BenchRun(DevRun):
    """DevRun with profiling hooks and without the interactive banner."""

    def __init__(self, dev: DevSettings, base: Settings, profile_dir: Path | None):
        super().__init__(dev, base)
        self.profile_dir = profile_dir

    def banner(self, seconds: float) -> None:
        self.startup_seconds = seconds

    async def spawn(self, name: str, argv: list[str]):
        if self.profile_dir is not None and name in ("worker", "web"):
            argv = [sys.executable, "-m", "bench.profiled", name, str(self.profile_dir / name)]
        return await super().spawn(name, argv)

    def pid_of(self, name: str) -> int:
        return next(c.process.pid for c in self.children if c.name == name)


class Stack:
    """Start with `await stack.start()`, stop with `await stack.stop()`; everything lives in a temp folder."""

    def __init__(self, keep_data: bool = False, profile_dir: Path | None = None):
        self.keep_data = keep_data
        self.profile_dir = profile_dir
        self.tmp = tempfile.TemporaryDirectory(prefix="mediation-bench-")
        self.data_dir = Path(self.tmp.name)
        temporal_port, ui_port, web_port = distinct_free_ports(3)
        self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'mediation.db'}"
        # The children read their settings from the environment DevRun hands them (a copy of ours).
        os.environ.update(
            MEDIATION_DATA_DIR=str(self.data_dir),
            MEDIATION_DATABASE_URL=self.database_url,
            MEDIATION_WEB_ACCESS_LOG="false",
        )
        self.settings = Settings(data_dir=self.data_dir, database_url=self.database_url)
        dev = DevSettings(
            temporal_port=temporal_port,
            temporal_ui_port=ui_port,
            web_port=web_port,
            startup_timeout_seconds=120,
            # A profiled process writes its report after it is asked to stop; give it the time.
            stop_timeout_seconds=120 if profile_dir else 15,
        )
        self.run = BenchRun(dev, self.settings, profile_dir)
        self.settings = self.run.settings
        self.base_url = self.run.app_url
        self.temporal_address = self.run.temporal_address
        self.client: Client | None = None

    async def start(self) -> None:
        await self.run.start()
        if self.run.failure:
            raise RuntimeError(self.run.failure)
        self.client = await Client.connect(self.temporal_address, namespace=self.settings.temporal_namespace)

    @property
    def worker_pid(self) -> int:
        return self.run.pid_of("worker")

    @property
    def web_pid(self) -> int:
        return self.run.pid_of("web")

    def healthy(self) -> str | None:
        """Why the stack is broken (a child died), or None."""
        return self.run.failure

    async def stop(self) -> None:
        await self.run.shutdown()
        if not self.keep_data:
            with suppress(OSError):
                self.tmp.cleanup()


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of a process, in KiB, from /proc."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values
