"""The FastAPI application: a thin front door that authenticates, validates, renders pages and a JSON API,
and turns user actions into workflow updates."""

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from temporalio.client import Client

from features.context import AppContext, TemporalConnection
from api.deps import LoginRequired
from api.pages import render
from api.routes import api_v1, auth, calendar, case_room, cases, discussions, documents, health, mediator, profile, ranking, staff
from core.db.session import create_engine, session_factory
from features.lifecycle import ActionRejected, LifecycleUnavailable
from core.settings import Settings, get_settings

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "").split(",")[0]


def create_app(settings: Settings | None = None, temporal_client: Client | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine = create_engine(settings.resolved_database_url)
        app.state.ctx = AppContext(settings=settings, sessions=session_factory(engine), temporal=TemporalConnection(settings, temporal_client))
        yield
        await engine.dispose()

    app = FastAPI(
        title="Real Estate Mediation Center",
        description="Request to Mediate intake, mediator ranking, conflict check and case management.",
        version="1.0",
        lifespan=lifespan,
        # Served from static/vendor below: the default pages load scripts from a CDN and inline, which the CSP forbids.
        docs_url=None,
        redoc_url=None,
    )
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for router in (
        health.router,
        auth.router,
        cases.router,
        ranking.router,
        mediator.router,
        staff.router,
        api_v1.router,
        profile.router,
        case_room.router,
        documents.router,
        discussions.router,
        calendar.router,
    ):
        app.include_router(router)

    @app.get("/docs", include_in_schema=False)
    async def api_docs(request: Request):
        return render(request, "pages/api_docs.html")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith("/api/") or request.cookies:
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired):
        if wants_json(request):
            return JSONResponse({"detail": "Sign in first."}, status_code=401)
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if wants_json(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return render(request, "pages/error.html", status_code=exc.status_code, message=exc.detail)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        problems = [f"{'.'.join(str(p) for p in e['loc'][1:]) or 'request'}: {e['msg']}" for e in exc.errors()]
        if wants_json(request):
            return JSONResponse({"detail": "; ".join(problems), "errors": jsonable(exc.errors())}, status_code=422)
        return render(request, "pages/error.html", status_code=422, message="; ".join(problems))

    @app.exception_handler(ActionRejected)
    async def action_rejected(request: Request, exc: ActionRejected):
        if wants_json(request):
            return JSONResponse({"detail": str(exc)}, status_code=409)
        return render(request, "pages/error.html", status_code=409, message=str(exc))

    @app.exception_handler(IntegrityError)
    async def conflicting_write(request: Request, _exc: IntegrityError):
        # Two people changed the same thing at once; the loser's change was rolled back whole.
        message = "Someone else changed this at the same time, so your change was not saved. Reload the page and try again."
        if wants_json(request):
            return JSONResponse({"detail": message}, status_code=409)
        return render(request, "pages/error.html", status_code=409, message=message)

    @app.exception_handler(OverflowError)
    async def number_too_large(request: Request, _exc: OverflowError):
        # An id past 64 bits cannot name anything; the database driver refuses to even look it up.
        message = "A number in this request is too large to be an id here."
        if wants_json(request):
            return JSONResponse({"detail": message}, status_code=404)
        return render(request, "pages/error.html", status_code=404, message=message)

    @app.exception_handler(LifecycleUnavailable)
    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def unavailable(request: Request, _exc: Exception):
        message = "The service is briefly unavailable; nothing was changed. Please try again in a moment."
        if wants_json(request):
            return JSONResponse({"detail": message}, status_code=503, headers={"Retry-After": "5"})
        return render(request, "pages/error.html", status_code=503, message=message)

    return app


def jsonable(errors: list[dict]) -> list[dict]:
    return [{"loc": list(e.get("loc", [])), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))} for e in errors]
