"""A case's own pages and their JSON doors: My Cases, filing a Request to Mediate, Case Home and its messages,
Intake Details and Users (staff add and remove people there through features/staff)."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import CaseAccess, CaseInView, Ctx, CurrentViewer, Db, PathId, csrf_protect
from api.errors import documented, status_of
from api.forms import NoInput, confirmed, submit
from api.pages import render
from core.case_facts import case_titles
from core.errors import DomainError, Forbidden
from core.stages import FINAL_STAGES, stage_label
from features.access import access_to_case
from features.cases import service
from features.cases.filing import file_request
from features.cases.mediator_requests import mediator_request
from features.cases.models import (
    DISPUTE_BASES,
    DISPUTE_VALUES,
    MAX_OTHER_PARTIES,
    CaseHomeOut,
    CaseItem,
    CasePage,
    CaseUserOut,
    IntakeOut,
    MessageOut,
    NewMessage,
    NextStepOut,
    PersonRef,
    RequestToMediate,
)
from features.cases.next_steps import NO_ACTION
from features.staff.models import ADDABLE_ROLES, REPRESENTATIVE_KINDS, SIDES, NewParticipant
from features.staff.participants import add_participant, remove_participant

router = APIRouter(tags=["cases"])
CSRF = [Depends(csrf_protect)]
Page = Annotated[int, Query(ge=1, le=100_000)]


# ---- My Cases ---------------------------------------------------------------------------------------


@router.get("/cases", include_in_schema=False)
async def my_cases_page(request: Request, db: Db, viewer: CurrentViewer, page: Page = 1):
    return render(request, "pages/my_cases.html", listing=await service.my_cases(db, viewer, page))


@router.get("/api/v1/cases", response_model=CasePage, responses=documented(401))
async def get_my_cases(db: Db, viewer: CurrentViewer, page: Page = 1) -> CasePage:
    """My Cases: the cases you take part in, newest first, ten at a time."""
    return await service.my_cases(db, viewer, page)


# ---- filing -------------------------------------------------------------------------------------------


def _filing_blocks(values) -> int:
    """How many other-party blocks the form shows: those filled in, one more when asked, at least one."""
    filled = {key.split("-")[1] for key in values if key.startswith("others-") and str(values.get(key, "")).strip() and key.split("-")[1].isdigit()}
    wanted = len(filled) + (1 if values.get("add_party") else 0)
    return max(1, min(MAX_OTHER_PARTIES, wanted or 1))


async def filing_page(request: Request, problem: DomainError | None = None, values=None) -> Response:
    values = values if values is not None else (await request.form() if problem else {})
    return render(
        request,
        "pages/file_case.html",
        status_code=status_of(problem) if problem else 200,
        values=values,
        errors=problem.fields if problem else {},
        problem=problem,
        blocks=_filing_blocks(values),
        max_blocks=MAX_OTHER_PARTIES,
        bases=DISPUTE_BASES,
        dispute_values=DISPUTE_VALUES,
    )


@router.get("/cases/new", include_in_schema=False)
async def filing_view(request: Request, viewer: CurrentViewer):
    return await filing_page(request)


@router.post("/cases/new", include_in_schema=False, dependencies=CSRF)
async def filing_form(request: Request, ctx: Ctx, db: Db, viewer: CurrentViewer):
    form = await request.form()
    if form.get("add_party"):
        # Without JavaScript, "Add another party" comes back here: the same form with one more block, nothing filed.
        return await filing_page(request, values=form)
    return await submit(
        request,
        RequestToMediate,
        lambda filed: file_request(ctx, db, viewer.person, filed),
        lambda problem: filing_page(request, problem),
        lambda case: (f"/cases/{case.id}", "Your Request to Mediate was filed. The center will review it and propose mediators."),
    )


@router.post("/api/v1/cases", response_model=CaseItem, status_code=201, dependencies=CSRF, responses=documented(401, 403, 422, 503))
async def post_case(body: RequestToMediate, response: Response, ctx: Ctx, db: Db, viewer: CurrentViewer) -> CaseItem:
    """File a Request to Mediate; the filer is an initiating party, or files for one as agent, attorney or power of attorney."""
    case = await file_request(ctx, db, viewer.person, body)
    response.headers["Location"] = f"/api/v1/cases/{case.id}"
    return CaseItem(
        id=case.id,
        title=case.title,
        property_address=case.property_address,
        stage=case.stage,
        stage_label=stage_label(case.stage),
        stage_deadline=None,
        conflict_check_requested=False,
    )


# ---- Case Home and its messages ---------------------------------------------------------------------


async def case_home_page(request: Request, db, access: CaseAccess, problem: DomainError | None = None) -> Response:
    home = await service.case_home(db, access, request.app.state.ctx.settings.center_name)
    return render(
        request,
        "pages/case_home.html",
        status_code=status_of(problem) if problem else 200,
        case=access.case,
        title=home.title,
        status=home.state,
        steps=home.steps,
        no_action=NO_ACTION,
        mediator=home.mediator,
        selection=home.selection,
        disclosures=home.disclosures,
        access=access,
        events=home.events,
        messages=home.messages,
        welcome=home.welcome,
        errors=problem.fields if problem else {},
        values=await request.form() if problem else {},
    )


@router.get("/cases/{case_id}", include_in_schema=False)
async def case_home_view(request: Request, db: Db, viewer: CurrentViewer, case_id: PathId):
    access = await access_to_case(db, case_id, viewer)
    if access is not None:
        return await case_home_page(request, db, access)
    # A mediator asked for the conflict check is not on the case: the link takes them to the check while it waits
    # for them, and afterwards says what happened. Anyone else learns nothing, not even that the case exists.
    asked = await mediator_request(db, viewer, case_id)
    if asked is None:
        raise HTTPException(status_code=404, detail="No such case.")
    if asked.open:
        return RedirectResponse(f"/cases/{case_id}/conflict-check", status_code=303)
    return render(request, "pages/conflict_check_ended.html", asked=asked)


@router.get("/api/v1/cases/{case_id}", response_model=CaseHomeOut, responses=documented(401, 404))
async def get_case_home(ctx: Ctx, db: Db, access: CaseInView) -> CaseHomeOut:
    """Case Home: where the case stands and your next steps."""
    home = await service.case_home(db, access, ctx.settings.center_name)
    state = home.state
    return CaseHomeOut(
        id=access.case.id,
        title=home.title,
        property_address=access.case.property_address,
        stage=state.stage,
        stage_label=state.stage_label,
        stage_deadline=state.stage_deadline,
        mediator=PersonRef(id=home.mediator.id, full_name=home.mediator.full_name) if home.mediator else None,
        selected_mediator=PersonRef(id=home.selection.mediator.id, full_name=home.selection.mediator.full_name) if home.selection else None,
        next_steps=[NextStepOut(text=s.text, link=s.link) for s in home.steps],
        fee_deposit_collected=state.fee_deposit_collected,
        mediation_scheduled=state.mediation_scheduled,
        outcome=state.outcome,
        changes_paused=not await ctx.workers_present(),
        welcome=home.welcome,
    )


@router.post("/cases/{case_id}/messages", include_in_schema=False, dependencies=CSRF)
async def message_form(request: Request, db: Db, access: CaseInView):
    return await submit(
        request,
        NewMessage,
        lambda new: service.post_message(db, access, new),
        lambda problem: case_home_page(request, db, access, problem),
        lambda _: (f"/cases/{access.case.id}", "Your message was posted."),
    )


@router.post("/cases/{case_id}/messages/{message_id}/delete", include_in_schema=False, dependencies=CSRF)
async def delete_message_form(request: Request, db: Db, access: CaseInView, message_id: PathId):
    if not confirmed(await request.form()):
        message = await service.message_to_delete(db, access, message_id)
        return render(
            request,
            "pages/confirm_delete.html",
            question="Delete this message?",
            what="Your message" if message.author_id == access.viewer.id else f"The message by {message.author_name}",
            written=message.created_at,
            details=message.body.splitlines(),
            action=f"/cases/{access.case.id}/messages/{message_id}/delete",
            back=f"/cases/{access.case.id}#message-{message_id}",
        )
    return await submit(
        request,
        NoInput,
        lambda _: service.delete_message(db, access, message_id),
        lambda problem: case_home_page(request, db, access, problem),
        lambda _: (f"/cases/{access.case.id}", "The message was deleted."),
    )


@router.get("/api/v1/cases/{case_id}/messages", tags=["case room"], response_model=list[MessageOut], responses=documented(401, 404))
async def get_messages(db: Db, access: CaseInView) -> list[MessageOut]:
    """Case Home messages, newest first."""
    return await service.case_messages(db, access)


@router.post(
    "/api/v1/cases/{case_id}/messages",
    tags=["case room"],
    response_model=MessageOut,
    status_code=201,
    dependencies=CSRF,
    responses=documented(401, 403, 404, 409, 422),
)
async def post_message(body: NewMessage, db: Db, access: CaseInView) -> MessageOut:
    """Add New Message: visible to all case participants."""
    return await service.post_message(db, access, body)


@router.delete("/api/v1/cases/{case_id}/messages/{message_id}", tags=["case room"], status_code=204, dependencies=CSRF, responses=documented(401, 403, 404))
async def delete_message(db: Db, access: CaseInView, message_id: PathId) -> Response:
    """Delete a message (its author, or center staff)."""
    await service.delete_message(db, access, message_id)
    return Response(status_code=204)


# ---- Intake Details ---------------------------------------------------------------------------------


async def _tab(request: Request, db, access: CaseAccess, template: str, status_code: int = 200, **context) -> Response:
    title = (await case_titles(db, [access.case.id]))[access.case.id]
    # The tabs need only the stage, which the case row holds, so these pages never wait on a workflow.
    return render(request, template, status_code=status_code, case=access.case, access=access, status=access.case, title=title, **context)


@router.get("/cases/{case_id}/intake", include_in_schema=False)
async def intake_view(request: Request, db: Db, access: CaseInView):
    return await _tab(request, db, access, "pages/intake.html", intake=await service.intake_details(db, access))


@router.get("/api/v1/cases/{case_id}/intake", tags=["case room"], response_model=IntakeOut, responses=documented(401, 404))
async def get_intake(db: Db, access: CaseInView) -> IntakeOut:
    """Intake Details: the Request to Mediate as filed (not shown to interested persons)."""
    return await service.intake_details(db, access)


# ---- Users ------------------------------------------------------------------------------------------


async def users_page(request: Request, db, access: CaseAccess, problem: DomainError | None = None) -> Response:
    return await _tab(
        request,
        db,
        access,
        "pages/users.html",
        status_code=status_of(problem) if problem else 200,
        users=await service.case_users(db, access),
        can_manage=access.is_staff and access.case.stage not in {str(s) for s in FINAL_STAGES},
        error=problem.message if problem else "",
        errors=problem.fields if problem else {},
        values=await request.form() if problem else {},
        roles=ADDABLE_ROLES,
        sides=SIDES,
        kinds=REPRESENTATIVE_KINDS,
    )


@router.get("/cases/{case_id}/users", include_in_schema=False)
async def users_view(request: Request, db: Db, access: CaseInView):
    return await users_page(request, db, access)


def _staff_only(access: CaseAccess) -> None:
    if not access.is_staff:
        raise Forbidden("Only center staff can add or remove people. Please contact the Center or your mediator.")


@router.post("/cases/{case_id}/users", include_in_schema=False, dependencies=CSRF)
async def add_user_form(request: Request, ctx: Ctx, db: Db, access: CaseInView):
    _staff_only(access)
    return await submit(
        request,
        NewParticipant,
        lambda new: add_participant(ctx, access.case.id, new),
        lambda problem: users_page(request, db, access, problem),
        lambda notice: (f"/cases/{access.case.id}/users", notice),
    )


@router.post("/cases/{case_id}/users/{participant_id}/remove", include_in_schema=False, dependencies=CSRF)
async def remove_user_form(request: Request, ctx: Ctx, db: Db, access: CaseInView, participant_id: PathId):
    _staff_only(access)
    return await submit(
        request,
        NoInput,
        lambda _: remove_participant(ctx, access.case.id, participant_id),
        lambda problem: users_page(request, db, access, problem),
        lambda notice: (f"/cases/{access.case.id}/users", notice),
    )


@router.get("/api/v1/cases/{case_id}/users", tags=["case room"], response_model=list[CaseUserOut], responses=documented(401, 404))
async def get_users(db: Db, access: CaseInView) -> list[CaseUserOut]:
    """Users: everyone taking part in the case."""
    return await service.case_users(db, access)
