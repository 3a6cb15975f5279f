"""Assemble the worker: one place that lists the workflow and activities, used by the console script and tests."""

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.case_activities import CaseActivities
from activities.discussion_activities import DiscussionActivities
from notifications.render import EmailRenderer
from notifications.sender import Mailer
from core.settings import Settings
from core.storage import file_store
from workflows.account_email import AccountEmailWorkflow
from workflows.case import CaseWorkflow
from workflows.discussion_digest import DiscussionDigestWorkflow

WORKFLOWS = [CaseWorkflow, AccountEmailWorkflow, DiscussionDigestWorkflow]


def case_activities(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> CaseActivities:
    return CaseActivities(sessions, Mailer(sessions, settings), EmailRenderer(settings), settings, file_store(settings))


def build_worker(client: Client, sessions: async_sessionmaker[AsyncSession], settings: Settings, **options) -> Worker:
    activities = case_activities(sessions, settings)
    discussions = DiscussionActivities(sessions, Mailer(sessions, settings), EmailRenderer(settings), settings)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=[
            activities.record_stage,
            activities.record_ballot,
            activities.propose_panel,
            activities.send_notification,
            activities.deliver_stored_email,
            activities.record_retention,
            activities.purge_case_records,
            discussions.send_discussion_digest,
        ],
        # The SendGrid client is synchronous; it runs in threads via asyncio.to_thread, not on the event loop.
        activity_executor=ThreadPoolExecutor(max_workers=8),
        max_cached_workflows=settings.worker_max_cached_workflows,
        **options,
    )
