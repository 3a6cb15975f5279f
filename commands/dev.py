"""`mediation-dev` (`make dev`): the whole platform on one machine with one command.

Creates the data folder, migrates the database, starts the Temporal dev server (state kept in
data/temporal.db, so cases survive a restart), the worker and the web app, seeds the demo once, and
prints where everything is. Ctrl-C or SIGTERM stops it all; if any part dies, the rest is stopped too
and the command exits non-zero.

Ports come from MEDIATION_DEV_TEMPORAL_PORT, MEDIATION_DEV_TEMPORAL_UI_PORT and MEDIATION_DEV_WEB_PORT
(7233, 8233, 8000); the data folder from MEDIATION_DATA_DIR (./data).
"""

import asyncio
import logging
import os
import shutil
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from commands.common import configure_logging, exit_now, settings_or_exit
from commands.demo import demo_logins, seed_demo
from core.db.migrate import upgrade_database
from core.db.session import create_engine, session_factory
from core.settings import Settings

log = logging.getLogger("mediation.dev")


class DevSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDIATION_DEV_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    temporal_port: int = Field(7233, ge=1, le=65535)
    temporal_ui_port: int = Field(8233, ge=1, le=65535)
    web_port: int = Field(8000, ge=1, le=65535)
    startup_timeout_seconds: float = Field(60, gt=0)
    # How long each part gets to stop on its own before it is killed.
    stop_timeout_seconds: float = Field(15, gt=0)


class DevError(Exception):
    """Startup cannot go on; the message tells the developer what to do."""


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process


def find_binary(name: str) -> str:
    # The venv's own bin folder first: `make dev` runs without activating the venv.
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise DevError(f"`{name}` is missing; it comes with the project's dependencies: run `make venv`.")
    return found


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # The servers set SO_REUSEADDR too, so a port left in TIME_WAIT by the last run counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


class DevRun:
    def __init__(self, dev: DevSettings, base: Settings):
        self.dev = dev
        self.data_dir = base.data_dir.expanduser().resolve()
        self.temporal_address = f"{dev.host}:{dev.temporal_port}"
        self.temporal_ui_url = f"http://{dev.host}:{dev.temporal_ui_port}"
        self.app_url = f"http://{dev.host}:{dev.web_port}"
        update = {"data_dir": self.data_dir, "temporal_address": self.temporal_address, "temporal_ui_url": self.temporal_ui_url}
        if "public_base_url" not in base.model_fields_set:
            update["public_base_url"] = self.app_url
        self.settings = base.model_copy(update=update)
        self.children: list[Child] = []
        self.watchers: list[asyncio.Task] = []
        self.stop_requested = asyncio.Event()
        self.stopping = False
        self.failure: str | None = None
        self.signals = 0
        self.seeding: asyncio.Task | None = None

    # ---- children ------------------------------------------------------------------------------

    def child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            MEDIATION_DATA_DIR=str(self.data_dir),
            MEDIATION_TEMPORAL_ADDRESS=self.temporal_address,
            MEDIATION_TEMPORAL_UI_URL=self.temporal_ui_url,
            MEDIATION_PUBLIC_BASE_URL=self.settings.public_base_url,
            MEDIATION_WEB_HOST=self.dev.host,
            MEDIATION_WEB_PORT=str(self.dev.web_port),
            MEDIATION_WEB_WORKERS="1",
            PYTHONUNBUFFERED="1",
        )
        return env

    async def spawn(self, name: str, argv: list[str]) -> Child:
        # Their own process group keeps a terminal's Ctrl-C away from the children, so this command
        # alone decides the order they stop in (web and worker before the server they talk to).
        process = await asyncio.create_subprocess_exec(*argv, env=self.child_env(), process_group=0)
        child = Child(name, process)
        self.children.append(child)
        self.watchers.append(asyncio.create_task(self.watch(child)))
        log.info("Started %s (pid %d)", name, process.pid)
        return child

    async def watch(self, child: Child) -> None:
        code = await child.process.wait()
        if not self.stopping:
            log.error("%s exited unexpectedly with code %s; stopping everything else", child.name, code)
            self.failure = self.failure or f"stopped because {child.name} exited unexpectedly with code {code}."
            self.stop_requested.set()

    async def stop_child(self, child: Child) -> None:
        process = child.process
        if process.returncode is not None:
            return
        with suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), self.dev.stop_timeout_seconds)
        except TimeoutError:
            log.warning("%s did not stop within %.0f s; killing it", child.name, self.dev.stop_timeout_seconds)
            with suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    async def shutdown(self) -> None:
        self.stopping = True
        servers = [c for c in self.children if c.name == "temporal"]
        clients = [c for c in self.children if c.name != "temporal"]
        await asyncio.gather(*(self.stop_child(c) for c in clients))
        await asyncio.gather(*(self.stop_child(c) for c in servers))
        for watcher in self.watchers:
            watcher.cancel()

    def on_signal(self, signum: int) -> None:
        self.signals += 1
        if self.signals == 1:
            print(f"\n{signal.Signals(signum).name} received: stopping the web app, the worker and Temporal...", flush=True)
            self.stop_requested.set()
        else:
            # A second Ctrl-C means "now": do not wait for graceful shutdowns.
            for child in self.children:
                if child.process.returncode is None:
                    with suppress(ProcessLookupError):
                        child.process.kill()

    # ---- startup -------------------------------------------------------------------------------

    def check_ports(self) -> None:
        wanted = {
            "MEDIATION_DEV_TEMPORAL_PORT": self.dev.temporal_port,
            "MEDIATION_DEV_TEMPORAL_UI_PORT": self.dev.temporal_ui_port,
            "MEDIATION_DEV_WEB_PORT": self.dev.web_port,
        }
        taken = [f"{port} ({variable})" for variable, port in wanted.items() if port_in_use(self.dev.host, port)]
        if taken:
            raise DevError(
                f"Port(s) already in use on {self.dev.host}: {', '.join(taken)}. Is another `make dev` running? "
                "Stop it, or choose other ports with those variables."
            )

    async def wait_for_temporal(self, deadline: float) -> Client:
        namespace = self.settings.temporal_namespace
        while True:
            try:
                client = await asyncio.wait_for(Client.connect(self.temporal_address, namespace=namespace), 3)
                await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
                return client
            except Exception as error:  # not listening yet, or the namespace not registered yet
                if time.monotonic() > deadline:
                    raise DevError(f"Temporal did not accept connections on {self.temporal_address} in time: {error}") from error
            await asyncio.sleep(0.2)

    async def wait_for_web(self, deadline: float) -> None:
        url = f"{self.app_url}/healthz"

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(url, timeout=3) as response:
                    return response.status == 200
            except (urllib.error.URLError, OSError):
                return False

        while not await asyncio.to_thread(healthy):
            if time.monotonic() > deadline:
                raise DevError(f"The web app did not become healthy at {url} in time.")
            await asyncio.sleep(0.2)

    async def seed(self, client: Client) -> None:
        engine = create_engine(self.settings.resolved_database_url)
        try:
            result = await seed_demo(session_factory(engine), client, self.settings)
        finally:
            await engine.dispose()
        if result.created:
            log.info("Demo data created: case %d is waiting for mediator rankings", result.case_id)
        else:
            log.info("Demo data already in place (case %d); nothing added", result.case_id)

    async def start(self) -> None:
        started = time.monotonic()
        deadline = started + self.dev.startup_timeout_seconds
        temporal = find_binary("temporal")
        worker = find_binary("mediation-worker")
        web = find_binary("mediation-web")
        self.check_ports()

        self.data_dir.mkdir(parents=True, exist_ok=True)
        log.info("Data folder %s", self.data_dir)
        await asyncio.to_thread(upgrade_database, self.settings.resolved_database_url)

        server = [
            temporal,
            "server",
            "start-dev",
            "--db-filename",
            str(self.data_dir / "temporal.db"),
            "--ip",
            self.dev.host,
            "--port",
            str(self.dev.temporal_port),
            "--ui-port",
            str(self.dev.temporal_ui_port),
            # "error": at "warn" its own workers print connection warnings while it shuts down.
            "--log-level",
            "error",
        ]
        if self.settings.temporal_namespace != "default":
            server += ["--namespace", self.settings.temporal_namespace]
        await self.spawn("temporal", server)
        client = await self.wait_for_temporal(deadline)

        await self.spawn("worker", [worker])
        await self.spawn("web", [web])
        self.seeding = asyncio.create_task(self.seed(client))
        await asyncio.gather(asyncio.shield(self.seeding), self.wait_for_web(deadline))
        self.banner(time.monotonic() - started)

    def banner(self, seconds: float) -> None:
        people = demo_logins()
        width = max(len(p.email) for p in people)
        lines = [
            "",
            f"Mediation platform is running (started in {seconds:.1f} s).",
            f"  App              {self.app_url}",
            f"  Temporal Web UI  {self.temporal_ui_url}",
            f"  Outbox (staff)   {self.app_url}/staff/outbox",
            f"  API docs         {self.app_url}/docs",
            f"  Data             {self.data_dir}",
            "",
            "Demo sign-ins:",
            *(f"  {p.email.ljust(width)}  {p.password.ljust(24)}  {p.full_name} ({p.user_type})" for p in people),
            "",
            "Press Ctrl-C to stop.",
            "",
        ]
        print("\n".join(lines), flush=True)

    # ---- the whole run -------------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.on_signal, signum)
        startup = asyncio.create_task(self.start())
        stop = asyncio.create_task(self.stop_requested.wait())
        done, _ = await asyncio.wait({startup, stop}, return_when=asyncio.FIRST_COMPLETED)
        if startup in done:
            error = startup.exception()
            if isinstance(error, DevError):
                self.failure = str(error)
            elif error is not None:
                log.error("Startup failed", exc_info=error)
                self.failure = f"Startup failed: {error}"
            else:
                await stop
        else:
            startup.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await startup
        if self.seeding is not None and not self.seeding.done():
            # Cancelling between starting the demo case's workflow and committing its row would leave a
            # workflow whose id the next start needs; the seed takes a moment, so let it finish first.
            with suppress(Exception):
                await asyncio.wait_for(self.seeding, self.dev.stop_timeout_seconds)
        await self.shutdown()
        if self.failure:
            print(f"mediation-dev: {self.failure}", file=sys.stderr, flush=True)
            return 1
        print("Stopped.", flush=True)
        return 0


def main() -> None:
    configure_logging()
    try:
        code = asyncio.run(DevRun(DevSettings(), settings_or_exit()).run())
    except KeyboardInterrupt:
        # Ctrl-C before the handlers were installed: nothing had been started yet.
        code = 0
    exit_now(code)
