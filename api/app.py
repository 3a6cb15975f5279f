"""The FastAPI application: a thin front door that authenticates, validates, renders pages and a JSON API,
and turns user actions into workflow updates."""

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from api import errors
from api.deps import note_changes_paused
from api.input_guard import InputGuard
from api.pages import render
from api.routes import accounts, calendar, cases, disclosures, discussions, documents, health, mediator, ranking, scheduling, staff
from core.db.session import create_engine, session_factory
from core.settings import Settings, get_settings
from core.storage import file_store
from features.context import AppContext, TemporalConnection

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = scope.get("path", "").startswith("/api/") or any(name == b"cookie" for name, _ in scope.get("headers") or [])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if private and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)


def operation_id(route: APIRoute) -> str:
    """Readable, stable operation ids for API clients: the route's tag and function, e.g. `staff-get_case`."""
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def create_app(settings: Settings | None = None, temporal_client: Client | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine = create_engine(settings.resolved_database_url)
        app.state.ctx = AppContext(
            settings=settings,
            sessions=session_factory(engine),
            temporal=TemporalConnection(settings, temporal_client),
            files=file_store(settings),
        )
        yield
        await engine.dispose()

    app = FastAPI(
        dependencies=[Depends(note_changes_paused)],
        title="Real Estate Mediation Center",
        description="Request to Mediate intake, mediator ranking, conflict check and case management.",
        version="1.0",
        lifespan=lifespan,
        # Served from static/vendor below: the default pages load scripts from a CDN and inline, which the CSP forbids.
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for router in (
        health.router,
        accounts.router,
        cases.router,
        ranking.router,
        mediator.router,
        disclosures.router,
        staff.router,
        documents.router,
        discussions.router,
        calendar.router,
        scheduling.router,
    ):
        app.include_router(router)

    @app.get("/docs", include_in_schema=False)
    async def api_docs(request: Request):
        return render(request, "pages/api_docs.html")

    # Added innermost first: the text rule runs before any route reads the request, an unexpected failure is
    # answered before Starlette's last resort would drop the connection, and every answer gets the headers.
    app.add_middleware(InputGuard)
    errors.install(app)
    app.add_middleware(SecurityHeaders)

    return app
