"""Request dependencies: the app context, a database session, who is signed in, CSRF, and case access."""

import hmac
import secrets
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from pydantic import BeforeValidator
from sqlalchemy.ext.asyncio import AsyncSession

from core.inputs import MAX_ID
from features.access import CaseAccess, Viewer, access_to_case
from features.accounts.security import SESSION_COOKIE, session_for_token
from features.context import AppContext


def _digits_only(value: object) -> object:
    # " 1", "+1" and "1e3" would pass as numbers elsewhere; in an address only plain digits name something.
    if isinstance(value, str) and not value.isdigit():
        raise ValueError("not an id")
    return value


# Every id in an address: one that is not a number the database could hold answers 404 before any query runs.
PathId = Annotated[int, BeforeValidator(_digits_only), Path(ge=1, le=MAX_ID)]

CSRF_COOKIE = "mediation_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def get_ctx(request: Request) -> AppContext:
    return request.app.state.ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]


async def get_db(ctx: Ctx) -> AsyncIterator[AsyncSession]:
    async with ctx.sessions() as session:
        yield session


Db = Annotated[AsyncSession, Depends(get_db)]


async def note_changes_paused(request: Request, ctx: Ctx) -> None:
    """Whether no worker serves the case workflows right now; pages then say so, and offer their forms read-only."""
    request.state.changes_paused = not await ctx.workers_present()


class LoginRequired(Exception):
    """Raised when a page needs a signed-in person; pages redirect to /login, the API answers 401."""


async def optional_viewer(request: Request, db: Db) -> Viewer | None:
    found = await session_for_token(db, request.cookies.get(SESSION_COOKIE))
    if found is None:
        return None
    web_session, person = found
    viewer = Viewer(person=person, web_session=web_session)
    request.state.viewer = viewer
    return viewer


async def current_viewer(viewer: Annotated[Viewer | None, Depends(optional_viewer)]) -> Viewer:
    if viewer is None:
        raise LoginRequired()
    return viewer


CurrentViewer = Annotated[Viewer, Depends(current_viewer)]


async def staff_viewer(viewer: CurrentViewer) -> Viewer:
    if not viewer.is_staff:
        raise HTTPException(status_code=403, detail="Only center staff can do this.")
    return viewer


StaffViewer = Annotated[Viewer, Depends(staff_viewer)]


def csrf_token_for(request: Request) -> str:
    """The token forms must send back: bound to the sign-in session, or to a cookie before signing in."""
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    if viewer is not None:
        return viewer.web_session.csrf_token
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_cookie", None)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf_cookie = token
    return token


async def csrf_protect(request: Request, viewer: Annotated[Viewer | None, Depends(optional_viewer)]) -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent: object = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get(CSRF_FIELD)
    expected = viewer.web_session.csrf_token if viewer else request.cookies.get(CSRF_COOKIE)
    if not sent or not expected or not hmac.compare_digest(str(sent), expected):
        raise HTTPException(status_code=403, detail="This form has expired or did not come from this site. Reload the page and try again.")


async def case_access(case_id: PathId, viewer: CurrentViewer, db: Db) -> CaseAccess:
    """The case, if this person takes part in it or is staff. Otherwise 404, so a case's existence does not leak."""
    access = await access_to_case(db, case_id, viewer)
    if access is None:
        raise HTTPException(status_code=404, detail="No such case.")
    return access


CaseInView = Annotated[CaseAccess, Depends(case_access)]
