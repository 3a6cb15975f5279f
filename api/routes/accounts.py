"""Accounts: sign in and out, "Forgot Password?", a password from an activation or reset link, changing it, My Profile,
and staff editing a person's details; the pages and the JSON API, both doors to features/accounts."""

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from api.deps import CSRF_COOKIE, Ctx, CurrentViewer, Db, PathId, StaffViewer, csrf_protect, optional_viewer
from api.errors import documented, status_of
from api.forms import SHOWN_ON_THE_PAGE, form_input, submit
from api.pages import redirect, render
from core.db.models import Person
from core.errors import DomainError, Expired
from core.time import time_zone_choices
from features.accounts.models import (
    NewPassword,
    PasswordChange,
    PasswordLinkOut,
    PasswordResetRequest,
    PasswordSet,
    ProfileOut,
    ProfileUpdate,
    ResetRequested,
    SignedIn,
    SignIn,
    StaffPersonOut,
    StaffPersonUpdate,
)
from features.accounts.security import SESSION_COOKIE, SESSION_LIFETIME, OpenedSession, end_session
from features.accounts.service import (
    change_password,
    password_link,
    profile_form,
    request_password_reset,
    set_password_from_link,
    sign_in,
    staff_person,
    update_my_profile,
    update_person,
)
from features.context import AppContext

router = APIRouter(tags=["accounts"])
CSRF = [Depends(csrf_protect)]

PASSWORD_SET = "Your password is set. Sign in with your email and new password."
PASSWORD_CHANGED = "Your password was changed. You are still signed in here; everywhere else you were signed out."
# After a password is set from a link, the sign-in page has the account's email filled in. It travels like the
# notices, in a short-lived signed cookie rather than in the address, where it would end up in logs and history.
SIGN_IN_EMAIL_COOKIE = "mediation_sign_in_email"
SIGN_IN_EMAIL_MAX_AGE_SECONDS = 600


def safe_next(target: str | None) -> str:
    # Only same-site paths: an attacker's "next" must not turn sign-in into an open redirect. Browsers read a
    # backslash as a slash and drop tabs and newlines, so "/<backslash>evil.example" leaves the site like "//evil.example".
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or not target.isprintable():
        return "/"
    return target


def _signed_in(response: Response, ctx: AppContext, opened: OpenedSession) -> None:
    response.set_cookie(
        SESSION_COOKIE, opened.token, max_age=int(SESSION_LIFETIME.total_seconds()), httponly=True, samesite="lax", secure=ctx.settings.cookie_secure
    )
    # The pre-sign-in token is done with: forms now carry the session's own.
    response.delete_cookie(CSRF_COOKIE)


def _email_signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.ctx.settings.secret_key, salt="sign-in-email")


def _remember_email(request: Request, response: Response, email: str) -> None:
    response.set_cookie(
        SIGN_IN_EMAIL_COOKIE,
        _email_signer(request).dumps(email),
        max_age=SIGN_IN_EMAIL_MAX_AGE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.app.state.ctx.settings.cookie_secure,
    )


def _remembered_email(request: Request) -> str:
    sealed = request.cookies.get(SIGN_IN_EMAIL_COOKIE)
    if not sealed:
        return ""
    try:
        return str(_email_signer(request).loads(sealed, max_age=SIGN_IN_EMAIL_MAX_AGE_SECONDS))
    except BadSignature:
        return ""


def json_only(request: Request) -> None:
    # There is no CSRF token before signing in. A cross-site HTML form cannot send application/json
    # without a CORS preflight (which this app never grants), so insisting on it keeps login CSRF out.
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise HTTPException(status_code=415, detail="Send this as application/json.")


JSON_ONLY = [Depends(json_only)]


# ---- signing in and out -------------------------------------------------------------------------


@router.get("/", include_in_schema=False)
async def home(request: Request, viewer=Depends(optional_viewer)):
    """Where each person starts: staff at the staff console, everyone else at My Cases."""
    if viewer is None:
        return redirect(request, "/login")
    return redirect(request, "/staff/cases" if viewer.is_staff else "/cases")


async def _login_page(request: Request, next_url: str, problem: DomainError | None = None, email: str = "") -> Response:
    return render(
        request,
        "pages/login.html",
        status_code=status_of(problem) if problem else 200,
        next=next_url,
        email=email,
        error=problem.message if problem else "",
        errors=problem.fields if problem else {},
    )


@router.get("/login", include_in_schema=False)
async def login_page(request: Request, next: str = "/", _viewer=Depends(optional_viewer)):
    response = await _login_page(request, safe_next(next), email=_remembered_email(request))
    if SIGN_IN_EMAIL_COOKIE in request.cookies:
        response.delete_cookie(SIGN_IN_EMAIL_COOKIE)
    return response


@router.post("/login", include_in_schema=False, dependencies=CSRF)
async def login_form(request: Request, ctx: Ctx, db: Db):
    form = await request.form()
    next_url = safe_next(str(form.get("next", "")))
    try:
        opened = await sign_in(db, await form_input(request, SignIn))
    except SHOWN_ON_THE_PAGE as problem:
        return await _login_page(request, next_url, problem, email=str(form.get("email", "")).strip().lower())
    response = redirect(request, next_url)
    _signed_in(response, ctx, opened)
    return response


@router.post("/logout", include_in_schema=False, dependencies=CSRF)
async def logout(request: Request, db: Db):
    await end_session(db, request.cookies.get(SESSION_COOKIE))
    await db.commit()
    response = redirect(request, "/login", "You have signed out.")
    response.delete_cookie(SESSION_COOKIE)
    return response


# ---- Forgot Password? and password links -------------------------------------------------------


async def _forgot_password_page(request: Request, problem: DomainError | None = None) -> Response:
    typed = await request.form() if problem else {}
    return render(
        request,
        "pages/forgot_password.html",
        status_code=status_of(problem) if problem else 200,
        email=str(typed.get("email", "")),
        errors=(problem.fields or {"email": problem.message}) if problem else {},
    )


@router.get("/forgot-password", include_in_schema=False)
async def forgot_password_page(request: Request):
    return await _forgot_password_page(request)


@router.post("/forgot-password", include_in_schema=False, dependencies=CSRF)
async def forgot_password_form(request: Request, ctx: Ctx, db: Db):
    async def action(asked: PasswordResetRequest) -> ResetRequested:
        return await request_password_reset(ctx, db, asked)

    async def page(problem: DomainError) -> Response:
        return await _forgot_password_page(request, problem)

    return await submit(request, PasswordResetRequest, action, page, lambda done: ("/forgot-password", done.message))


async def _set_password_page(request: Request, db: Db, token: str, problem: DomainError | None = None) -> Response:
    try:
        link = await password_link(db, token)
    except Expired as expired:
        return render(request, "pages/set_password.html", status_code=status_of(expired), expired=True)
    return render(
        request,
        "pages/set_password.html",
        status_code=status_of(problem) if problem else 200,
        token=token,
        link=link,
        errors=(problem.fields or {"password": problem.message}) if problem else {},
    )


@router.get("/set-password/{token}", include_in_schema=False)
async def set_password_page(request: Request, db: Db, token: str):
    return await _set_password_page(request, db, token)


@router.post("/set-password/{token}", include_in_schema=False, dependencies=CSRF)
async def set_password_form(request: Request, db: Db, token: str):
    try:
        done = await set_password_from_link(db, token, await form_input(request, NewPassword))
    except (*SHOWN_ON_THE_PAGE, Expired) as problem:
        # A link used up or run out since the page was opened shows as expired, with the way to a new one.
        return await _set_password_page(request, db, token, problem)
    response = redirect(request, "/login", PASSWORD_SET)
    _remember_email(request, response, done.email)
    return response


# ---- My Profile, changing the password, and staff editing a person -------------------------------


async def _profile_page(
    request: Request, person: Person, staff_edit: bool, problem: DomainError | None = None, password_problem: DomainError | None = None
) -> Response:
    typed: dict[str, object] | None = dict(await request.form()) if problem else None
    page = profile_form(person, staff=staff_edit, typed=typed)
    refused = problem or password_problem
    return render(
        request,
        "pages/profile.html",
        status_code=status_of(refused) if refused else 200,
        person=page.person,
        form=page.values,
        user_types=page.user_types,
        time_zones=time_zone_choices(),
        errors=(problem.fields or {"form": problem.message}) if problem else {},
        password_errors=(password_problem.fields or {"form": password_problem.message}) if password_problem else {},
        staff_edit=staff_edit,
        action=f"/staff/people/{person.id}" if staff_edit else "/profile",
    )


@router.get("/profile", include_in_schema=False)
async def profile_page(request: Request, viewer: CurrentViewer):
    return await _profile_page(request, viewer.person, staff_edit=False)


@router.post("/profile", include_in_schema=False, dependencies=CSRF)
async def profile_form_sent(request: Request, db: Db, viewer: CurrentViewer):
    async def action(changes: ProfileUpdate) -> ProfileOut:
        return await update_my_profile(db, viewer, changes)

    async def page(problem: DomainError) -> Response:
        return await _profile_page(request, viewer.person, staff_edit=False, problem=problem)

    return await submit(request, ProfileUpdate, action, page, lambda _saved: ("/profile", "Your profile was saved."))


@router.post("/profile/password", include_in_schema=False, dependencies=CSRF)
async def change_password_form(request: Request, db: Db, viewer: CurrentViewer):
    async def action(change: PasswordChange) -> None:
        await change_password(db, viewer, change)

    async def page(problem: DomainError) -> Response:
        return await _profile_page(request, viewer.person, staff_edit=False, password_problem=problem)

    return await submit(request, PasswordChange, action, page, lambda _: ("/profile", PASSWORD_CHANGED))


@router.get("/staff/people/{person_id}", include_in_schema=False)
async def person_page(request: Request, db: Db, _staff: StaffViewer, person_id: PathId):
    return await _profile_page(request, await staff_person(db, person_id), staff_edit=True)


@router.post("/staff/people/{person_id}", include_in_schema=False, dependencies=CSRF)
async def person_form(request: Request, db: Db, _staff: StaffViewer, person_id: PathId):
    person = await staff_person(db, person_id)

    async def action(changes: StaffPersonUpdate) -> StaffPersonOut:
        return await update_person(db, person_id, changes)

    async def page(problem: DomainError) -> Response:
        return await _profile_page(request, person, staff_edit=True, problem=problem)

    return await submit(request, StaffPersonUpdate, action, page, lambda saved: (f"/staff/people/{saved.id}", f"{saved.full_name}'s details were saved."))


# ---- JSON API ----------------------------------------------------------------------------------


@router.post(
    "/api/v1/session", summary="Sign in (sets the session cookie)", response_model=SignedIn, dependencies=JSON_ONLY, responses=documented(415, 422, 429)
)
async def open_session(body: SignIn, response: Response, ctx: Ctx, db: Db) -> SignedIn:
    """Sign in with email and password (JSON only); wrong credentials are 422, too many failures for one email 429."""
    opened = await sign_in(db, body)
    _signed_in(response, ctx, opened)
    return SignedIn(csrf_token=opened.csrf_token)


@router.delete("/api/v1/session", summary="Sign out", status_code=204, dependencies=CSRF, responses=documented(401, 403))
async def sign_out(request: Request, db: Db, _viewer: CurrentViewer) -> Response:
    """End this session on the server and drop its cookie."""
    await end_session(db, request.cookies.get(SESSION_COOKIE))
    await db.commit()
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/api/v1/me", summary="Who is signed in", response_model=ProfileOut, responses=documented(401))
async def me(viewer: CurrentViewer) -> ProfileOut:
    """The signed-in person."""
    return ProfileOut.model_validate(viewer.person)


@router.post(
    "/api/v1/password-reset",
    summary="Forgot Password?",
    response_model=ResetRequested,
    status_code=202,
    dependencies=JSON_ONLY,
    responses=documented(415, 422),
)
async def reset_password(body: PasswordResetRequest, ctx: Ctx, db: Db) -> ResetRequested:
    """Email the account a link to choose a new password (at most three an hour); the answer is the same for any email."""
    return await request_password_reset(ctx, db, body)


@router.get("/api/v1/password-links/{token}", summary="What a password link is for", response_model=PasswordLinkOut, responses=documented(410))
async def get_password_link(db: Db, token: str) -> PasswordLinkOut:
    """Whether an activation or reset link still works (410 when used or expired) and which account's email it is for."""
    return await password_link(db, token)


@router.post(
    "/api/v1/password-links/{token}",
    summary="Set the password from an activation or reset link",
    response_model=PasswordSet,
    dependencies=JSON_ONLY,
    responses=documented(410, 415, 422),
)
async def use_password_link(body: NewPassword, db: Db, token: str) -> PasswordSet:
    """Set the password (JSON only); the link then stops working and every session of the person ends."""
    return await set_password_from_link(db, token, body)


@router.put("/api/v1/password", summary="Change my password", status_code=204, dependencies=CSRF, responses=documented(401, 403, 422, 429))
async def put_password(body: PasswordChange, db: Db, viewer: CurrentViewer) -> Response:
    """Change the password, giving the current one; this session stays signed in, every other one of yours ends."""
    await change_password(db, viewer, body)
    return Response(status_code=204)


@router.get("/api/v1/profile", summary="My Profile", response_model=ProfileOut, responses=documented(401))
async def get_profile(viewer: CurrentViewer) -> ProfileOut:
    """Your contact details as the center and your cases' participants know them."""
    return ProfileOut.model_validate(viewer.person)


@router.put("/api/v1/profile", summary="Update My Profile", response_model=ProfileOut, dependencies=CSRF, responses=documented(401, 403, 422))
async def put_profile(body: ProfileUpdate, db: Db, viewer: CurrentViewer) -> ProfileOut:
    """Change your details; fields left out keep their value."""
    return await update_my_profile(db, viewer, body)


@router.get(
    "/api/v1/staff/people/{person_id}", tags=["staff"], summary="A person's details", response_model=StaffPersonOut, responses=documented(401, 403, 404)
)
async def get_person(db: Db, _staff: StaffViewer, person_id: PathId) -> StaffPersonOut:
    """A person's details with the center's confidential notes (staff only)."""
    return StaffPersonOut.model_validate(await staff_person(db, person_id))


@router.put(
    "/api/v1/staff/people/{person_id}",
    tags=["staff"],
    summary="Edit a person's details, confidential notes and hidden contact details",
    response_model=StaffPersonOut,
    dependencies=CSRF,
    responses=documented(401, 403, 404, 422),
)
async def put_person(body: StaffPersonUpdate, db: Db, _staff: StaffViewer, person_id: PathId) -> StaffPersonOut:
    """Change a person's details, user type and confidential notes (staff only); fields left out keep their value."""
    return await update_person(db, person_id, body)
