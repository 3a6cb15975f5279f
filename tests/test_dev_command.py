"""Integration test of `mediation-dev`: the real Temporal dev server, worker and web app as processes.

Starts the command on a temporary data folder and free ports, uses the demo as a party would, stops it with
Ctrl-C (SIGINT) and checks that nothing is left running; then starts it again on the same folder to check the
case survived and the demo was not seeded twice.
"""

import asyncio
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from commands.demo import DEMO_ADDRESS, INITIATING, MEDIATORS

pytestmark = pytest.mark.integration

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
STARTUP_TIMEOUT = 45
STOP_TIMEOUT = 30


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def dev_command() -> str:
    path = Path(sys.executable).parent / "mediation-dev"
    if not path.exists():
        pytest.fail("mediation-dev is not installed in this environment: run `make venv`")
    return str(path)


def process_identity(pid: int) -> tuple[int, str] | None:
    """(pid, start time): a pid alone could be reused by an unrelated process after the original is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    state, start_time = fields[0], fields[19]
    return None if state in ("Z", "X") else (pid, start_time)


def descendants(root: int) -> set[tuple[int, str]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, stack = set(), [root]
    while stack:
        for pid in children.get(stack.pop(), []):
            identity = process_identity(pid)
            if identity:
                found.add(identity)
                stack.append(pid)
    return found


class DevProcess:
    def __init__(self, data_dir: Path, log_path: Path, ports: list[int]):
        self.temporal_port, self.ui_port, self.web_port = ports
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_")}
        env.update(
            MEDIATION_DATA_DIR=str(data_dir),
            MEDIATION_DEV_TEMPORAL_PORT=str(self.temporal_port),
            MEDIATION_DEV_TEMPORAL_UI_PORT=str(self.ui_port),
            MEDIATION_DEV_WEB_PORT=str(self.web_port),
        )
        self.log = log_path.open("w")
        # Run outside the project folder so a developer's .env cannot change ports or databases.
        self.process = subprocess.Popen([dev_command()], cwd=data_dir.parent, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.tree: set[tuple[int, str]] = set()

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text()

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"mediation-dev exited early with {self.process.returncode}:\n{self.output()}"
            try:
                healthy = httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                healthy = False
            # Healthy is not enough: the banner comes once the demo is seeded too.
            if healthy and "Press Ctrl-C to stop." in self.output():
                self.tree = descendants(self.process.pid)
                return
            time.sleep(0.25)
        pytest.fail(f"mediation-dev was not ready within {STARTUP_TIMEOUT} s:\n{self.output()}")

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"mediation-dev did not stop within {STOP_TIMEOUT} s after SIGINT:\n{self.output()}")

    def kill_everything(self) -> None:
        """Test cleanup after a failure: leave no server behind holding ports."""
        for pid, _ in self.tree | descendants(self.process.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.close()


def sign_in_and_open_demo_case(base_url: str) -> tuple[str, str]:
    with httpx.Client(base_url=base_url, timeout=10) as browser:
        login_page = browser.get("/login")
        assert login_page.status_code == 200
        assert 'name="password"' in login_page.text
        csrf = CSRF_INPUT.search(login_page.text).group(1)
        signed_in = browser.post("/login", data={"email": INITIATING.email, "password": INITIATING.password, "csrf_token": csrf})
        assert signed_in.status_code == 303, signed_in.text
        my_cases = browser.get("/cases")
        assert my_cases.status_code == 200
        assert "Katy Perry vs Taylor Swift" in my_cases.text
        assert DEMO_ADDRESS in my_cases.text
        case_link = re.search(r'href="(/cases/\d+)"', my_cases.text).group(1)
        case_home = browser.get(case_link)
        assert case_home.status_code == 200
        return my_cases.text, case_home.text


def assert_all_gone(tree: set[tuple[int, str]]) -> None:
    deadline = time.monotonic() + 5
    alive = tree
    while alive and time.monotonic() < deadline:
        alive = {identity for identity in tree if process_identity(identity[0]) == identity}
        time.sleep(0.1)
    assert not alive, f"processes still running after mediation-dev stopped: {sorted(alive)}"


def retention_sweep_interval(temporal_port: int) -> timedelta:
    """The interval of the retention Schedule the worker keeps on the Temporal server."""

    async def describe() -> timedelta:
        client = await Client.connect(f"127.0.0.1:{temporal_port}")
        schedule = (await client.get_schedule_handle("case-retention-sweep").describe()).schedule
        assert schedule.action.workflow == "RetentionSweepWorkflow"  # type: ignore[union-attr]
        return schedule.spec.intervals[0].every

    return asyncio.run(describe())


def count(database: Path, query: str) -> int:
    with sqlite3.connect(database) as db:
        return db.execute(query).fetchone()[0]


def test_dev_runs_everything_stops_cleanly_and_keeps_cases(tmp_path):
    data_dir = tmp_path / "data"
    ports = free_ports(3)

    first = DevProcess(data_dir, tmp_path / "first.log", ports)
    try:
        first.wait_until_ready()
        names = {Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode() for pid, _ in first.tree}
        assert any("temporal server start-dev" in n for n in names), names
        assert any("mediation-worker" in n for n in names), names
        assert any("mediation-web" in n for n in names), names

        _, case_home = sign_in_and_open_demo_case(first.base_url)
        assert "Submit Mediator Ranking" in case_home

        output = first.output()
        assert "Demo data created" in output
        assert f"http://127.0.0.1:{first.ui_port}" in output
        assert "staff@example.org" in output and "mediation-demo-staff" in output
        # Closed cases' records are deleted by one durable Schedule, which the worker sets up at start-up.
        assert retention_sweep_interval(first.temporal_port) == timedelta(hours=1)

        assert first.interrupt() == 0, first.output()
        assert_all_gone(first.tree)
        assert "Stopped." in first.output()
    finally:
        first.kill_everything()

    assert (data_dir / "temporal.db").exists()
    database = data_dir / "mediation.db"
    people, cases = count(database, "SELECT count(*) FROM people"), count(database, "SELECT count(*) FROM cases")
    assert cases == 1
    assert count(database, "SELECT count(*) FROM mediator_profiles") == len(MEDIATORS) >= 5

    second = DevProcess(data_dir, tmp_path / "second.log", ports)
    try:
        second.wait_until_ready()
        assert "Demo data already in place" in second.output()
        _, case_home = sign_in_and_open_demo_case(second.base_url)
        # The case lives on in Temporal's file: its workflow still answers and still waits for rankings.
        assert "Submit Mediator Ranking" in case_home
        assert second.interrupt() == 0, second.output()
        assert_all_gone(second.tree)
    finally:
        second.kill_everything()

    assert count(database, "SELECT count(*) FROM people") == people
    assert count(database, "SELECT count(*) FROM cases") == cases
