"""Assemble the worker: one place that lists the workflow and activities, used by the console script and tests."""

import asyncio
import logging
import os
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import delete
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.worker import Worker

from activities.case_activities import CaseActivities
from activities.discussion_activities import DiscussionActivities
from activities.notifications import NotificationActivities
from activities.retention import RetentionActivities
from activities.scheduling_activities import SchedulingActivities
from core.db.models import WorkerPresence, utcnow
from core.db.session import transaction
from core.settings import Settings
from core.storage import file_store
from notifications.render import EmailRenderer
from notifications.sender import Mailer
from workflows.account_email import AccountEmailWorkflow
from workflows.case import CaseWorkflow
from workflows.discussion_digest import DiscussionDigestWorkflow
from workflows.notification import NotificationWorkflow
from workflows.retention import RetentionSweep, RetentionSweepWorkflow
from workflows.scheduling_poll import SchedulingPollWorkflow

log = logging.getLogger("mediation.worker")

WORKFLOWS = [CaseWorkflow, DiscussionDigestWorkflow, NotificationWorkflow, RetentionSweepWorkflow, AccountEmailWorkflow, SchedulingPollWorkflow]


def case_activities(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> CaseActivities:
    return CaseActivities(sessions, Mailer(sessions, settings), settings, file_store(settings))


def notification_activities(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> NotificationActivities:
    return NotificationActivities(sessions, Mailer(sessions, settings), EmailRenderer(settings), settings)


class CaseWorker:
    """The Temporal worker, and its presence in the database while it runs.

    Every few seconds it writes that it is alive (`worker_presence`), so the web can tell, from the database alone,
    when no worker serves the task queue: pages then say that changes are paused, and actions answer 503 before
    sending anything, instead of hanging on an Update nobody will process.
    """

    def __init__(self, worker: Worker, sessions: async_sessionmaker[AsyncSession], settings: Settings):
        self.worker = worker
        self._sessions = sessions
        self._settings = settings
        self._id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._beacon: asyncio.Task | None = None

    async def __aenter__(self) -> "CaseWorker":
        await self.worker.__aenter__()
        await self._say_present()
        self._beacon = asyncio.create_task(self._keep_present())
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self._leave()
        await self.worker.__aexit__(*exc_info)

    async def run(self) -> None:
        await self._say_present()
        self._beacon = asyncio.create_task(self._keep_present())
        try:
            await self.worker.run()
        finally:
            await self._leave()

    async def _keep_present(self) -> None:
        while True:
            await asyncio.sleep(self._settings.worker_presence_interval.total_seconds())
            try:
                await self._say_present()
            except SQLAlchemyError:
                # The database is away; the worker's own activities retry, and the web will say changes are paused.
                log.warning("Could not record this worker's presence", exc_info=True)

    async def _say_present(self) -> None:
        async with transaction(self._sessions) as session:
            row = await session.get(WorkerPresence, self._id)
            if row is None:
                session.add(WorkerPresence(worker_id=self._id, task_queue=self._settings.task_queue, host=socket.gethostname(), pid=os.getpid()))
            else:
                row.seen_at = utcnow()

    async def _leave(self) -> None:
        if self._beacon is not None:
            self._beacon.cancel()
            self._beacon = None
        try:
            async with transaction(self._sessions) as session:
                await session.execute(delete(WorkerPresence).where(WorkerPresence.worker_id == self._id))
        except SQLAlchemyError:
            log.warning("Could not remove this worker's presence", exc_info=True)


def build_worker(client: Client, sessions: async_sessionmaker[AsyncSession], settings: Settings, **options) -> CaseWorker:
    activities = case_activities(sessions, settings)
    notifications = notification_activities(sessions, settings)
    # Kept for work queued before every email went through `send_notification`: old digests and account emails.
    legacy_digests = DiscussionActivities(notifications)
    retention = RetentionActivities(sessions, settings)
    scheduling = SchedulingActivities(sessions, settings)
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=[
            activities.publish_state,
            activities.record_stage,
            activities.record_ballot,
            activities.propose_panel,
            notifications.send_notification,
            notifications.keep_notifications,
            notifications.deliver_emails,
            activities.record_retention,
            activities.purge_case_records,
            retention.cases_due_for_purge,
            activities.deliver_stored_email,
            legacy_digests.send_discussion_digest,
            scheduling.publish_poll,
            scheduling.case_moved_on,
            scheduling.book_mediation,
        ],
        # The SendGrid client is synchronous; it runs in threads via asyncio.to_thread, not on the event loop.
        activity_executor=ThreadPoolExecutor(max_workers=8),
        max_cached_workflows=settings.worker_max_cached_workflows,
        **options,
    )
    return CaseWorker(worker, sessions, settings)


def retention_schedule(settings: Settings) -> Schedule:
    """Every `retention_sweep_interval`, one sweep (never two at once) deletes the records of cases past retention."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            RetentionSweepWorkflow.run,
            RetentionSweep(),
            id=f"{settings.workflow_id_prefix}retention-sweep",
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=settings.retention_sweep_interval)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_retention_schedule(client: Client, settings: Settings) -> None:
    """Create the retention Schedule, or bring an existing one in line with the settings; every worker does this at
    start-up, so whichever starts first creates it and the others find it."""
    schedule_id = f"{settings.workflow_id_prefix}retention-sweep"
    wanted = retention_schedule(settings)
    try:
        await client.create_schedule(schedule_id, wanted)
        log.info("Created the retention schedule %r (every %s)", schedule_id, settings.retention_sweep_interval)
    except ScheduleAlreadyRunningError:

        def update(_current: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=wanted)

        await client.get_schedule_handle(schedule_id).update(update)
