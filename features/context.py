"""What every feature needs that outlives a request: settings, the database, the Temporal client, email."""

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from core.settings import Settings
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


@dataclass
class AppContext:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    temporal: TemporalConnection

    @property
    def mailer(self) -> Mailer:
        return Mailer(self.sessions, self.settings)

    @property
    def emails(self) -> EmailRenderer:
        return EmailRenderer(self.settings)
