"""Drive the web app over HTTP as a browser would: cookies, CSRF tokens from the forms, links from the outbox."""

import html
import re
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.app import create_app
from core.db.models import Email, MediatorProfile, Person
from core.db.session import transaction
from core.settings import Settings
from features.accounts.security import hash_password

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
NOTICE = re.compile(r'<p class="notice" role="status">(.*?)</p>', re.S)
PASSWORD = "correct horse battery"


class Browser:
    def __init__(self, http: httpx.AsyncClient):
        self.http = http
        self.csrf = ""

    async def get(self, url: str, **kwargs) -> httpx.Response:
        response = await self.http.get(url, **kwargs)
        found = CSRF_INPUT.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    async def post(self, url: str, data: dict | None = None, csrf: bool = True, **kwargs) -> httpx.Response:
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf)
        return await self.http.post(url, data=data, **kwargs)

    async def api(self, method: str, url: str, json=None) -> httpx.Response:
        return await self.http.request(method, url, json=json, headers={"X-CSRF-Token": self.csrf})

    async def notice(self, redirected: httpx.Response) -> str:
        """What the page a form redirected to says in its notice banner (the notice travels in a signed cookie)."""
        assert redirected.status_code == 303, f"expected a redirect, got {redirected.status_code}: {redirected.text[:300]}"
        page = await self.get(redirected.headers["location"])
        found = NOTICE.search(page.text)
        return html.unescape(found.group(1)) if found else ""

    async def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        await self.get("/login")
        response = await self.post("/login", {"email": email, "password": password})
        if response.status_code == 303:
            await self.get("/cases")
        return response


@dataclass
class WebApp:
    settings: Settings
    client: Client
    sessions: async_sessionmaker[AsyncSession]
    asgi: object

    @classmethod
    @asynccontextmanager
    async def running(cls, settings: Settings, client: Client, sessions):
        app = create_app(settings, temporal_client=client)
        async with app.router.lifespan_context(app):
            yield cls(settings=settings, client=client, sessions=sessions, asgi=app)

    @asynccontextmanager
    async def browser(self):
        transport = httpx.ASGITransport(app=self.asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", follow_redirects=False) as http:
            yield Browser(http)

    async def person(
        self, email: str, name: str, *, staff: bool = False, mediator: bool = False, password: str | None = PASSWORD, time_zone: str | None = None
    ) -> Person:
        async with transaction(self.sessions) as session:
            person = Person(
                email=email,
                full_name=name,
                is_staff=staff,
                user_type="Center staff" if staff else "Mediator" if mediator else "Party",
                password_hash=hash_password(password) if password else None,
                time_zone=time_zone,
            )
            if mediator:
                person.mediator_profile = MediatorProfile(
                    bio=f"{name} has mediated real estate disputes for 20 years.",
                    expertise="Residential sales",
                    region="Los Angeles",
                    languages="English, Spanish",
                    fee="$300/hour",
                )
            session.add(person)
        return person

    async def outbox(self, to: str | None = None, subject_starts: str = "") -> list[Email]:
        async with self.sessions() as session:
            query = select(Email).order_by(Email.id)
            if to:
                query = query.where(Email.to_email == to)
            if subject_starts:
                query = query.where(Email.subject.startswith(subject_starts))
            return list((await session.execute(query)).scalars())


def link_in(email: Email, path_prefix: str) -> str:
    found = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"[^\s]*)", email.text_body)
    assert found, f"no {path_prefix} link in: {email.text_body}"
    return found.group(1)
