"""`mediation-worker`: runs case workflows and activities on the task queue from settings until interrupted."""

import asyncio
import logging

from temporalio.client import Client

from commands.common import configure_logging, exit_now, settings_or_exit
from core.db.session import create_engine, session_factory
from workflows.worker import build_worker, ensure_retention_schedule

log = logging.getLogger("mediation.worker")


async def run_worker() -> None:
    settings = settings_or_exit()
    engine = create_engine(settings.resolved_database_url)
    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    worker = build_worker(client, session_factory(engine), settings)
    await ensure_retention_schedule(client, settings)
    log.info("Worker polling task queue %r on %s", settings.task_queue, settings.temporal_address)
    try:
        await worker.run()
    finally:
        await engine.dispose()


def main() -> None:
    configure_logging()
    try:
        asyncio.run(run_worker())
    except KeyboardInterrupt:
        pass
    exit_now(0)
