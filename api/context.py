"""Everything a request handler needs that outlives the request: settings, database, Temporal, templates."""

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timezone

from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from mail.render import TEMPLATES_DIR, EmailRenderer, human_datetime
from mail.sender import Mailer
from settings import Settings
from workflows.types import STAGE_LABELS, Stage


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


def stage_label(stage: str) -> str:
    try:
        return STAGE_LABELS[Stage(stage)]
    except ValueError:
        return stage


def short_date(value: datetime | str | None) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.strftime("%b %-d, %Y %-I:%M %p")


def build_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.filters["when"] = human_datetime
    templates.env.filters["short_date"] = short_date
    templates.env.filters["stage_label"] = stage_label
    return templates


@dataclass
class AppContext:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    temporal: TemporalConnection
    templates: Jinja2Templates = field(default_factory=build_templates)

    @property
    def mailer(self) -> Mailer:
        return Mailer(self.sessions, self.settings)

    @property
    def emails(self) -> EmailRenderer:
        return EmailRenderer(self.settings)
