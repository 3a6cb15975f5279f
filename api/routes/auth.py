"""Sign in, sign out, "Forgot Password?" and setting a password from an activation or reset link."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from api.deps import CSRF_COOKIE, CurrentViewer, Ctx, Db, csrf_protect, optional_viewer
from api.errors import documented
from api.pages import redirect, render
from features.accounts.security import (
    SESSION_COOKIE,
    SignInRefused,
    end_session,
    session_for_token,
    password_problem,
    reset_links_exhausted,
    set_password_with_token,
    set_session_cookie,
    sign_in,
    usable_password_token,
)
from core.db.models import Person
from features.accounts.emails import send_password_link

router = APIRouter(tags=["accounts"])

FORGOT_PASSWORD_ANSWER = "If an account exists for that email, we have sent it a link to choose a new password. The link works once, for 2 hours."


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an attacker's "next" must not turn sign-in into an open redirect. Browsers read a
    # backslash as a slash and drop tabs and newlines, so "/<backslash>evil.example" leaves the site like "//evil.example".
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or not target.isprintable():
        return "/cases"
    return target


@router.get("/", include_in_schema=False)
async def home(request: Request, viewer=Depends(optional_viewer)):
    return redirect(request, "/cases" if viewer else "/login")


@router.get("/login", include_in_schema=False)
async def login_page(request: Request, next: str = "/cases", _viewer=Depends(optional_viewer)):
    return render(request, "pages/login.html", next=_safe_next(next))


@router.post("/login", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def login(
    request: Request,
    ctx: Ctx,
    db: Db,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/cases",
):
    try:
        _person, token = await sign_in(db, email, password)
    except SignInRefused as refused:
        return render(
            request, "pages/login.html", status_code=refused.status_code, error=str(refused), email=email.strip().lower(), next=_safe_next(next)
        )
    response = redirect(request, _safe_next(next))
    set_session_cookie(response, token, ctx.settings.cookie_secure)
    response.delete_cookie(CSRF_COOKIE)
    return response


@router.post("/logout", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def logout(request: Request, db: Db):
    await end_session(db, request.cookies.get(SESSION_COOKIE))
    await db.commit()
    response = redirect(request, "/login", "You have signed out.")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/forgot-password", include_in_schema=False)
async def forgot_password_page(request: Request):
    return render(request, "pages/forgot_password.html")


@router.post("/forgot-password", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def forgot_password(request: Request, ctx: Ctx, db: Db, email: Annotated[str, Form()] = ""):
    person = (await db.execute(select(Person).where(func.lower(Person.email) == email.strip().lower()))).scalar_one_or_none()
    if person is not None and not await reset_links_exhausted(db, person):
        await send_password_link(ctx, db, person, "reset")
        await db.commit()
    # The same answer whatever the email, so nobody can learn who has an account here.
    return render(request, "pages/forgot_password.html", sent=FORGOT_PASSWORD_ANSWER)


@router.get("/set-password/{token}", include_in_schema=False)
async def set_password_page(request: Request, db: Db, token: str):
    if await usable_password_token(db, token) is None:
        return render(request, "pages/set_password.html", status_code=410, expired=True)
    return render(request, "pages/set_password.html", token=token)


@router.post("/set-password/{token}", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def set_password(
    request: Request,
    db: Db,
    token: str,
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
):
    row = await usable_password_token(db, token)
    if row is None:
        return render(request, "pages/set_password.html", status_code=410, expired=True)
    problem = password_problem(password, confirm)
    if problem:
        return render(request, "pages/set_password.html", status_code=400, token=token, error=problem)
    await set_password_with_token(db, row, password)
    await db.commit()
    return redirect(request, "/login", "Your password is set. Sign in with your email and new password.")


# ---- JSON API ----------------------------------------------------------------------------------


# ---- signing in --------------------------------------------------------------------------------


class SignIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1000)


class SignedIn(BaseModel):
    csrf_token: str = Field(description="Send this as the X-CSRF-Token header on every POST, PUT and DELETE.")


def json_only(request: Request) -> None:
    # There is no CSRF token before signing in. A cross-site HTML form cannot send application/json
    # without a CORS preflight (which this app never grants), so insisting on it keeps login CSRF out.
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise HTTPException(status_code=415, detail="Send the sign-in as application/json.")


@router.post(
    "/api/v1/session",
    tags=["accounts"],
    summary="Sign in (sets the session cookie)",
    response_model=SignedIn,
    dependencies=[Depends(json_only)],
    responses=documented(400, 415, 429),
)
async def open_session(body: SignIn, response: Response, ctx: Ctx, db: Db) -> SignedIn:
    try:
        _person, token = await sign_in(db, body.email, body.password)
    except SignInRefused as refused:
        raise HTTPException(status_code=refused.status_code, detail=str(refused)) from None
    web_session, _ = await session_for_token(db, token)
    set_session_cookie(response, token, ctx.settings.cookie_secure)
    response.delete_cookie(CSRF_COOKIE)
    return SignedIn(csrf_token=web_session.csrf_token)


@router.delete(
    "/api/v1/session", tags=["accounts"], summary="Sign out", status_code=204, dependencies=[Depends(csrf_protect)], responses=documented(401, 403)
)
async def sign_out(request: Request, db: Db, _viewer: CurrentViewer) -> Response:
    await end_session(db, request.cookies.get(SESSION_COOKIE))
    await db.commit()
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE)
    return response


class Profile(BaseModel):
    id: int
    email: str
    full_name: str
    user_type: str
    is_staff: bool
    organization: str
    phone: str
    address1: str
    city: str
    state: str
    zip: str


@router.get("/api/v1/me", tags=["accounts"], summary="Who is signed in", response_model=Profile, responses=documented(401))
async def me(viewer: CurrentViewer) -> Profile:
    p = viewer.person
    return Profile(
        id=p.id,
        email=p.email,
        full_name=p.full_name,
        user_type=p.user_type,
        is_staff=p.is_staff,
        organization=p.organization,
        phone=p.phone,
        address1=p.address1,
        city=p.city,
        state=p.state,
        zip=p.zip,
    )
