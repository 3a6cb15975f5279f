"""The case room tabs besides Documents, Discussions and Calendar: Case Home messages, Intake Details and Users.

Pages and `/api/v1/cases/{id}/messages|intake|users` share services/messages.py and services/participants_view.py;
staff adding or removing people from the Users tab goes through services/participants.py like the staff console."""

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from api.deps import CaseAccess, CaseInView, csrf_protect, Ctx, Db, PathId
from api.pages import redirect, render
from api.routes.cases import case_home
from core.case_facts import case_titles
from features.lifecycle import ActionRejected
from features.cases.messages import MAX_MESSAGE_LENGTH, MessageProblem, add_message, can_delete, case_messages, delete_message
from features.staff.participants import ADDABLE_ROLES, REPRESENTATIVE_KINDS, SIDES, ParticipantForm, add_participant, remove_participant
from features.cases.room import CaseUser, case_users, intake_details
from features.staff.console import StaffProblem
from core.stages import FINAL_STAGES

router = APIRouter()
CSRF = [Depends(csrf_protect)]
FINAL = {str(s) for s in FINAL_STAGES}


def _not_found(error: Exception) -> HTTPException:
    return HTTPException(status_code=404, detail=str(error) or "Not found.")


def _forbidden(error: Exception) -> HTTPException:
    return HTTPException(status_code=403, detail=str(error))


def _staff_only(access: CaseAccess) -> None:
    if not access.is_staff:
        raise HTTPException(status_code=403, detail="Only center staff can add or remove people. Please contact the Center or your mediator.")


async def _tab_page(request: Request, db, access: CaseAccess, template: str, status_code: int = 200, **context):
    title = (await case_titles(db, [access.case.id]))[access.case.id]
    # The tabs need only the stage, which the case row mirrors, so these pages do not wait on the workflow.
    return render(request, template, status_code=status_code, case=access.case, access=access, status=access.case, title=title, **context)


# ---- Case Home messages ---------------------------------------------------------------------------


@router.post("/cases/{case_id}/messages", include_in_schema=False, dependencies=CSRF)
async def post_message_form(request: Request, ctx: Ctx, db: Db, access: CaseInView):
    body = str((await request.form()).get("body", ""))
    try:
        await add_message(db, access.case, access.viewer.person, body)
    except MessageProblem as problem:
        # Case Home is composed in api/routes/cases.py; its message form reads the error and draft from request.state.
        request.state.message_error = str(problem)
        request.state.message_draft = body
        page = await case_home(request, ctx, db, access)
        page.status_code = 422
        return page
    return redirect(request, f"/cases/{access.case.id}", "Your message was posted.")


@router.post("/cases/{case_id}/messages/{message_id}/delete", include_in_schema=False, dependencies=CSRF)
async def delete_message_form(request: Request, db: Db, access: CaseInView, message_id: PathId):
    await _delete(db, access, message_id)
    return redirect(request, f"/cases/{access.case.id}", "The message was deleted.")


async def _delete(db, access: CaseAccess, message_id: int) -> None:
    try:
        await delete_message(db, access.case.id, message_id, access.viewer.id, access.is_staff)
    except LookupError as missing:
        raise _not_found(missing) from None
    except PermissionError as refused:
        raise _forbidden(refused) from None


class MessageOut(BaseModel):
    id: int
    author_id: int
    author_name: str
    body: str
    created_at: datetime
    can_delete: bool = Field(description="Whether the signed-in person may delete it: its author, or center staff.")


class MessageIn(BaseModel):
    body: str = Field(description=f"The message, 1 to {MAX_MESSAGE_LENGTH} characters; visible to all case participants.")


class Problem(BaseModel):
    detail: str


def _message_out(message, access: CaseAccess) -> MessageOut:
    return MessageOut(
        id=message.id,
        author_id=message.author_id,
        author_name=message.author.full_name,
        body=message.body,
        created_at=message.created_at,
        can_delete=can_delete(message, access.viewer.id, access.is_staff),
    )


@router.get(
    "/api/v1/cases/{case_id}/messages",
    response_model=list[MessageOut],
    tags=["case room"],
    summary="Case Home messages, newest first",
    responses={401: {"model": Problem}, 404: {"model": Problem}},
)
async def api_messages(db: Db, access: CaseInView) -> list[MessageOut]:
    return [_message_out(m, access) for m in await case_messages(db, access.case.id)]


@router.post(
    "/api/v1/cases/{case_id}/messages",
    response_model=MessageOut,
    status_code=201,
    tags=["case room"],
    summary="Add New Message (visible to all case participants)",
    dependencies=CSRF,
    responses={401: {"model": Problem}, 403: {"model": Problem}, 404: {"model": Problem}, 422: {"model": Problem}},
)
async def api_post_message(db: Db, access: CaseInView, body: MessageIn) -> MessageOut:
    try:
        message = await add_message(db, access.case, access.viewer.person, body.body)
    except MessageProblem as problem:
        raise HTTPException(status_code=422, detail=str(problem)) from None
    return _message_out(message, access)


@router.delete(
    "/api/v1/cases/{case_id}/messages/{message_id}",
    status_code=204,
    tags=["case room"],
    summary="Delete a message (its author, or center staff)",
    dependencies=CSRF,
    responses={401: {"model": Problem}, 403: {"model": Problem}, 404: {"model": Problem}},
)
async def api_delete_message(db: Db, access: CaseInView, message_id: PathId) -> Response:
    await _delete(db, access, message_id)
    return Response(status_code=204)


# ---- Intake Details --------------------------------------------------------------------------------


async def _intake(db, access: CaseAccess):
    try:
        return await intake_details(db, access)
    except PermissionError as hidden:
        # Not found rather than forbidden: interested persons are not told what the filing holds, not even that it is there.
        raise _not_found(hidden) from None


@router.get("/cases/{case_id}/intake", include_in_schema=False)
async def intake_page(request: Request, db: Db, access: CaseInView):
    return await _tab_page(request, db, access, "pages/intake.html", intake=await _intake(db, access))


class IntakeOut(BaseModel):
    case_id: int
    property_address: str
    dispute_bases: list[str] = Field(description="Basis for the dispute")
    dispute_value: str = Field(description="Estimation of Dispute Value")
    description: str
    filed_by_id: int
    filed_by_name: str
    filed_at: datetime


@router.get(
    "/api/v1/cases/{case_id}/intake",
    response_model=IntakeOut,
    tags=["case room"],
    summary="Intake Details: the Request to Mediate as filed (not shown to interested persons)",
    responses={401: {"model": Problem}, 404: {"model": Problem}},
)
async def api_intake(db: Db, access: CaseInView) -> IntakeOut:
    return IntakeOut.model_validate(await _intake(db, access), from_attributes=True)


# ---- Users -----------------------------------------------------------------------------------------


async def _users_page(request: Request, db, access: CaseAccess, error: str = "", status_code: int = 200, form: ParticipantForm | None = None):
    return await _tab_page(
        request,
        db,
        access,
        "pages/users.html",
        status_code=status_code,
        users=await case_users(db, access),
        can_manage=access.is_staff and access.case.stage not in FINAL,
        error=error,
        add=form or ParticipantForm(),
        roles=ADDABLE_ROLES,
        sides=SIDES,
        kinds=REPRESENTATIVE_KINDS,
    )


@router.get("/cases/{case_id}/users", include_in_schema=False)
async def users_page(request: Request, db: Db, access: CaseInView):
    return await _users_page(request, db, access)


async def _manage(request: Request, db, access: CaseAccess, run, form: ParticipantForm | None = None):
    _staff_only(access)
    try:
        notice = await run()
    except LookupError as missing:
        raise _not_found(missing) from None
    except StaffProblem as problem:
        return await _users_page(request, db, access, str(problem), 422, form)
    except ActionRejected as rejected:
        return await _users_page(request, db, access, str(rejected), 409, form)
    return redirect(request, f"/cases/{access.case.id}/users", notice)


@router.post("/cases/{case_id}/users", include_in_schema=False, dependencies=CSRF)
async def add_user_form(request: Request, ctx: Ctx, db: Db, access: CaseInView):
    form = ParticipantForm.from_form(await request.form())
    return await _manage(request, db, access, lambda: add_participant(ctx, access.case.id, form), form)


@router.post("/cases/{case_id}/users/{participant_id}/remove", include_in_schema=False, dependencies=CSRF)
async def remove_user_form(request: Request, ctx: Ctx, db: Db, access: CaseInView, participant_id: PathId):
    return await _manage(request, db, access, lambda: remove_participant(ctx, access.case.id, participant_id))


class ContactOut(BaseModel):
    email: str
    phone: str
    organization: str
    city: str
    state: str


class CaseUserOut(BaseModel):
    participant_id: int
    person_id: int
    name: str
    role: str = Field(description="party, representative, interested, mediator or staff")
    role_label: str
    side: str | None = Field(description="initiating or responding; a representative's is the side of the party they act for")
    represents_id: int | None
    represents_name: str
    representative_kind: str = Field(description="Attorney, Agent or Power of attorney, for a representative")
    contact_hidden: bool
    contact: ContactOut | None = Field(description="Null when the person asked for their contact details to be hidden (staff still get them).")


@router.get(
    "/api/v1/cases/{case_id}/users",
    response_model=list[CaseUserOut],
    tags=["case room"],
    summary="Users: everyone taking part in the case",
    responses={401: {"model": Problem}, 404: {"model": Problem}},
)
async def api_users(db: Db, access: CaseInView) -> list[CaseUserOut]:
    return [_user_out(u) for u in await case_users(db, access)]


def _user_out(user: CaseUser) -> CaseUserOut:
    return CaseUserOut.model_validate(user, from_attributes=True)
