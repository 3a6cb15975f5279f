"""The one table that turns every refusal into an HTTP answer: the same status and words for a page and for JSON.

Under /api/v1 (or when a client asks for JSON) the answer is a problem body, `{"detail": ..., "errors": [...]}`;
a browser gets the error page. `errors` maps each field to correct to what is wrong with it. Unexpected failures get a reference a person can quote to the center, never a
stack trace, and the connection stays open for the client's next request (see `UnexpectedErrors`).
"""

import logging
import secrets

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as ConnectionPoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import LoginRequired
from api.pages import render
from core.errors import DomainError, Expired, Forbidden, Invalid, NotFound, Rejected, Throttled, TooLarge, Unavailable

log = logging.getLogger("mediation.web")

# Each kind of refusal, and the status both doors answer it with. A subclass takes its own row before its parent's.
STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    Forbidden: 403,
    TooLarge: 413,
    Invalid: 422,
    Rejected: 409,
    Expired: 410,
    Throttled: 429,
    Unavailable: 503,
}
TITLES = {
    400: "That did not work",
    401: "Sign in first",
    403: "Not allowed",
    404: "Not found",
    405: "That did not work",
    409: "That cannot be done now",
    410: "This link has expired",
    413: "Too large",
    415: "That did not work",
    422: "Please check what you entered",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}
UNAVAILABLE_MESSAGE = "The service is briefly unavailable; nothing was changed. Please try again in a moment."
CONFLICT_MESSAGE = "Someone else changed this at the same time, so your change was not saved. Reload the page and try again."
RETRY_AFTER = {"Retry-After": "5"}


class Problem(BaseModel):
    """Every refusal, whichever route: what went wrong, each field to correct, and for a failure of ours a reference."""

    detail: str
    errors: dict[str, str] | None = Field(None, description="Each field to correct and what is wrong with it.")
    reference: str | None = Field(None, description="Quote this to the center: it finds the failure in the logs.")


RESPONSE_TEXT = {
    400: "The request cannot be read or the credentials are wrong.",
    401: "Not signed in.",
    403: "Not yours to do (or a missing or foreign CSRF token).",
    404: "No such thing, or not one you may see.",
    409: "The case's lifecycle refused it at this moment (the detail says why).",
    413: "Too large.",
    415: "Sent in the wrong format.",
    410: "The link has been used or has expired.",
    422: "Input to correct; `errors` names each field.",
    429: "Too many attempts; wait and try again.",
    503: "The case service is briefly unavailable or paused; nothing was changed unless the detail says otherwise.",
}


def documented(*statuses: int) -> dict[int | str, dict]:
    """The error answers a JSON route documents in OpenAPI, all in the one problem shape."""
    return {status: {"model": Problem, "description": RESPONSE_TEXT[status]} for status in statuses}


def status_of(error: DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "").split(",")[0]


def problem(
    request: Request,
    status: int,
    detail: str,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    reference: str = "",
) -> Response:
    """The answer to a refusal: a JSON problem body for the API, the error page for a browser."""
    if wants_json(request):
        body: dict = {"detail": detail}
        if fields:
            body["errors"] = dict(fields)
        if reference:
            body["reference"] = reference
        return JSONResponse(body, status_code=status, headers=headers)
    response = render(
        request,
        "pages/error.html",
        status_code=status,
        title=TITLES.get(status, TITLES[400]),
        message=detail,
        fields=fields or {},
        reference=reference,
    )
    response.headers.update(headers or {})
    return response


def refusal(request: Request, error: DomainError) -> Response:
    status = status_of(error)
    return problem(request, status, error.message, error.fields, RETRY_AFTER if status == 503 else None)


def _field_name(location: tuple) -> str:
    parts = [str(p) for p in location[1:]] if len(location) > 1 else [str(p) for p in location]
    return ".".join(parts) or "request"


def validation_fields(errors: list[dict]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in errors:
        name = _field_name(tuple(error.get("loc", ())))
        fields.setdefault(name, str(error.get("msg", "is not valid")).removeprefix("Value error, "))
    return fields


def not_found_for(location: tuple) -> str:
    """ "No such case." for a bad case id in the address, "No such document." for a document id, and so on."""
    name = str(location[1]) if len(location) > 1 else ""
    thing = name.removesuffix("_id").replace("_", " ")
    return f"No such {thing}." if thing and thing != name else "No such page."


def install(app: FastAPI) -> None:
    """Register the table's handlers, and the middleware that turns an unexpected failure into a shaped 500."""

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError):
        return refusal(request, error)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _error: LoginRequired):
        if wants_json(request):
            return JSONResponse({"detail": "Sign in first."}, status_code=401)
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        detail = error.detail if isinstance(error.detail, str) else TITLES.get(error.status_code, TITLES[400])
        if error.status_code == 404 and detail == "Not Found":
            detail = "There is no page at this address."
        return problem(request, error.status_code, detail, headers=getattr(error, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError):
        errors = list(error.errors())
        # An id in the address that is not a number, or past what the database holds, names nothing: not found.
        in_path = [e for e in errors if tuple(e.get("loc", ()))[:1] == ("path",)]
        if in_path:
            return problem(request, 404, not_found_for(tuple(in_path[0]["loc"])))
        fields = validation_fields(errors)
        return problem(request, 422, "; ".join(f"{name}: {message}" for name, message in fields.items()), fields)

    @app.exception_handler(IntegrityError)
    async def conflicting_write(request: Request, _error: IntegrityError):
        # Two people changed the same thing at once; the loser's change was rolled back whole.
        return problem(request, 409, CONFLICT_MESSAGE)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    # Every database connection stayed busy for the pool's whole timeout: the app is overloaded, not broken.
    @app.exception_handler(ConnectionPoolTimeout)
    async def database_unavailable(request: Request, _error: Exception):
        return problem(request, 503, UNAVAILABLE_MESSAGE, headers=RETRY_AFTER)

    app.add_middleware(UnexpectedErrors)
    _document_problems(app)


def _document_problems(app: FastAPI) -> None:
    """FastAPI documents request-validation errors in a shape of its own; this app answers them (like every other
    refusal) with `Problem`, so the OpenAPI document says that instead."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        problem_ref = {"$ref": "#/components/schemas/Problem"}
        for methods in schema.get("paths", {}).values():
            for operation in methods.values():
                answer = operation.get("responses", {}).get("422")
                if answer and answer.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                    operation["responses"]["422"] = {"description": RESPONSE_TEXT[422], "content": {"application/json": {"schema": problem_ref}}}
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components.setdefault("Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}"))
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


class UnexpectedErrors:
    """A failure nobody planned for: logged with a reference, answered with a shaped 500, and swallowed.

    Starlette's own last-resort handler re-raises after answering, which makes the server close the connection
    and fail the client's next request too; swallowing it here keeps a keep-alive connection usable.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            reference = secrets.token_hex(4).upper()
            log.exception("Unexpected error, reference %s, on %s %s", reference, scope.get("method"), scope.get("path"))
            if started:
                raise
            request = Request(scope)
            center = request.app.state.ctx.settings
            detail = (
                "Something went wrong on our side and your request could not be completed. "
                f"If it happens again, contact {center.center_name} at {center.center_email} or {center.center_phone} "
                f"and quote reference {reference}."
            )
            response = problem(request, 500, detail, reference=reference)
            await response(scope, receive, send)
