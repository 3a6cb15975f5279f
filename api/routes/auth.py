"""Sign in, sign out, "Forgot Password?" and setting a password from an activation or reset link."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy import func, select

from api.deps import CSRF_COOKIE, Ctx, Db, csrf_protect, optional_viewer
from api.pages import redirect, render
from features.accounts.security import (
    SESSION_COOKIE,
    SignInRefused,
    end_session,
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
async def home(viewer=Depends(optional_viewer)):
    return redirect("/cases" if viewer else "/login")


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
    response = redirect(_safe_next(next))
    set_session_cookie(response, token, ctx.settings.cookie_secure)
    response.delete_cookie(CSRF_COOKIE)
    return response


@router.post("/logout", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def logout(request: Request, db: Db):
    await end_session(db, request.cookies.get(SESSION_COOKIE))
    await db.commit()
    response = redirect("/login", "You have signed out.")
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
    return redirect("/login", "Your password is set. Sign in with your email and new password.")
