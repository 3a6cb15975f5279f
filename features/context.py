"""What every feature needs that outlives a request: settings, the database, the Temporal client, file storage, email."""

import asyncio
import time
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from core.db.models import WorkerPresence, utcnow
from core.settings import Settings
from core.storage import FileStore
from core.time import as_utc
from notifications.render import EmailRenderer
from notifications.sender import Mailer


class TemporalConnection:
    """Connects on first use, so the web app starts (and /healthz can say so) while Temporal is still coming up."""

    def __init__(self, settings: Settings, client: Client | None = None):
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await Client.connect(self._settings.temporal_address, namespace=self._settings.temporal_namespace)
        return self._client


# How long one process trusts its last look at whether workers are there: pages ask on every view.
PRESENCE_CACHE_SECONDS = 2.0


@dataclass
class AppContext:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    temporal: TemporalConnection
    # One per process: the S3 client keeps its connections between requests.
    files: FileStore
    _presence: tuple[float, bool] = (0.0, False)

    async def workers_present(self) -> bool:
        """Whether some worker serving this task queue said it was alive recently (the database alone answers)."""
        checked_at, present = self._presence
        if time.monotonic() - checked_at < PRESENCE_CACHE_SECONDS:
            return present
        since = utcnow() - self.settings.worker_absent_after
        async with self.sessions() as session:
            newest = await session.scalar(select(func.max(WorkerPresence.seen_at)).where(WorkerPresence.task_queue == self.settings.task_queue))
        present = newest is not None and as_utc(newest) > since
        self._presence = (time.monotonic(), present)
        return present

    @property
    def mailer(self) -> Mailer:
        return Mailer(self.sessions, self.settings)

    @property
    def emails(self) -> EmailRenderer:
        return EmailRenderer(self.settings)
