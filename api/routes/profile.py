"""My Profile for everyone, and center staff editing any person's details (confidential notes, hidden contact details).

Pages and `/api/v1/profile`, `/api/v1/staff/people/{id}` share services/profile.py."""

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from api.deps import csrf_protect, CurrentViewer, Db, PathId, StaffViewer
from api.pages import redirect, render
from core.db.models import Person
from features.accounts.profile import USER_TYPES, ProfileForm, ProfileProblem, get_person, save_profile

router = APIRouter()
CSRF = [Depends(csrf_protect)]


def _page(request: Request, person: Person, form: ProfileForm, staff_edit: bool, errors: dict | None = None, status_code: int = 200):
    user_types = list(USER_TYPES) if person.user_type in USER_TYPES else [person.user_type, *USER_TYPES]
    return render(
        request,
        "pages/profile.html",
        status_code=status_code,
        person=person,
        form=form,
        errors=errors or {},
        staff_edit=staff_edit,
        action=f"/staff/people/{person.id}" if staff_edit else "/profile",
        user_types=user_types,
    )


# ---- pages ----------------------------------------------------------------------------------------


@router.get("/profile", include_in_schema=False)
async def profile_page(request: Request, viewer: CurrentViewer):
    return _page(request, viewer.person, ProfileForm.of(viewer.person, viewer.is_staff), staff_edit=False)


@router.post("/profile", include_in_schema=False, dependencies=CSRF)
async def profile_form(request: Request, db: Db, viewer: CurrentViewer):
    form = ProfileForm.from_form(await request.form(), viewer.is_staff)
    try:
        await save_profile(db, viewer.person, form, viewer.is_staff)
    except ProfileProblem as problem:
        return _page(request, viewer.person, form, staff_edit=False, errors=problem.errors, status_code=422)
    return redirect(request, "/profile", "Your profile was saved.")


@router.get("/staff/people/{person_id}", include_in_schema=False)
async def person_page(request: Request, db: Db, viewer: StaffViewer, person_id: PathId):
    person = await _person_or_404(db, person_id)
    return _page(request, person, ProfileForm.of(person, staff=True), staff_edit=True)


@router.post("/staff/people/{person_id}", include_in_schema=False, dependencies=CSRF)
async def person_form(request: Request, db: Db, viewer: StaffViewer, person_id: PathId):
    person = await _person_or_404(db, person_id)
    form = ProfileForm.from_form(await request.form(), staff=True)
    try:
        await save_profile(db, person, form, staff=True)
    except ProfileProblem as problem:
        return _page(request, person, form, staff_edit=True, errors=problem.errors, status_code=422)
    return redirect(request, f"/staff/people/{person.id}", f"{person.full_name}'s details were saved.")


async def _person_or_404(db, person_id: int) -> Person:
    try:
        return await get_person(db, person_id)
    except LookupError as missing:
        raise HTTPException(status_code=404, detail=str(missing)) from None


# ---- JSON -------------------------------------------------------------------------------------------


class ProfileOut(BaseModel):
    id: int
    user_type: str
    email: str
    full_name: str
    organization: str
    address1: str
    city: str
    state: str
    zip: str
    phone: str
    contact_hidden: bool = Field(description="Contact details are hidden from the other participants of this person's cases.")


class StaffPersonOut(ProfileOut):
    is_staff: bool
    confidential_notes: str = Field(description="The center's own notes; never shown to the person or other participants.")


class ProfileIn(BaseModel):
    """Fields left out (or null) keep their saved value."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = None
    full_name: str | None = None
    organization: str | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    phone: str | None = None
    contact_hidden: bool | None = Field(None, description="Hide my contact details from other participants.")


class StaffPersonIn(ProfileIn):
    user_type: str | None = Field(None, description=f"One of: {', '.join(USER_TYPES)}.")
    confidential_notes: str | None = None


class Problem(BaseModel):
    detail: str


PROBLEMS = {401: {"model": Problem}, 403: {"model": Problem}, 422: {"model": Problem}}


def _merged(person: Person, body: ProfileIn, staff: bool) -> ProfileForm:
    form = ProfileForm.of(person, staff)
    for key, value in body.model_dump(exclude_none=True).items():
        setattr(form, key, value.strip() if isinstance(value, str) else value)
    return form


async def _save(db, person: Person, body: ProfileIn, staff: bool) -> None:
    try:
        await save_profile(db, person, _merged(person, body, staff), staff)
    except ProfileProblem as problem:
        raise HTTPException(status_code=422, detail=str(problem)) from None


def _profile_out(person: Person) -> ProfileOut:
    return ProfileOut.model_validate(person, from_attributes=True)


def _staff_out(person: Person) -> StaffPersonOut:
    return StaffPersonOut.model_validate(person, from_attributes=True)


@router.get("/api/v1/profile", response_model=ProfileOut, tags=["accounts"], summary="My Profile", responses=PROBLEMS)
async def api_profile(viewer: CurrentViewer) -> ProfileOut:
    return _profile_out(viewer.person)


@router.put("/api/v1/profile", response_model=ProfileOut, tags=["accounts"], summary="Update My Profile", dependencies=CSRF, responses=PROBLEMS)
async def api_update_profile(db: Db, viewer: CurrentViewer, body: ProfileIn) -> ProfileOut:
    # Staff keep their confidential notes through the staff endpoint; this one is the same for everyone.
    await _save(db, viewer.person, body, staff=False)
    return _profile_out(viewer.person)


@router.get("/api/v1/staff/people/{person_id}", response_model=StaffPersonOut, tags=["staff"], summary="A person's details", responses=PROBLEMS)
async def api_person(db: Db, viewer: StaffViewer, person_id: PathId) -> StaffPersonOut:
    return _staff_out(await _person_or_404(db, person_id))


@router.put(
    "/api/v1/staff/people/{person_id}",
    response_model=StaffPersonOut,
    tags=["staff"],
    summary="Edit a person's details, confidential notes and hidden contact details",
    dependencies=CSRF,
    responses=PROBLEMS,
)
async def api_update_person(db: Db, viewer: StaffViewer, person_id: PathId, body: StaffPersonIn) -> StaffPersonOut:
    person = await _person_or_404(db, person_id)
    await _save(db, person, body, staff=True)
    return _staff_out(person)
