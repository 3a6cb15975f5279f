"""The center staff console's doors: every case, the board of who each open case waits on, one case's full picture
and the staff actions on it, the mediator directory and the email outbox, as pages and as JSON under /api/v1/staff
(features/staff)."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import CaseAccess, Ctx, Db, PathId, StaffViewer, csrf_protect
from api.errors import documented, status_of
from api.forms import NoInput, field_messages, submit
from api.pages import redirect, render
from core.db.models import Case
from core.errors import DomainError, Invalid
from core.stages import FINAL_STAGES, stage_label
from core.waiting import KINDS, human_duration
from features.cases.disclosures import STATUS_LABELS as DISCLOSURE_STATUS_LABELS
from features.scheduling.service import poll_temporal_url, scheduling
from features.staff import board, console, directory, outbox
from features.staff.models import (
    ADDABLE_ROLES,
    REPRESENTATIVE_KINDS,
    SIDES,
    ActionResult,
    CaseList,
    DirectoryEntry,
    DirectoryEntryIn,
    EmailView,
    Extension,
    IntakeReview,
    NewPanel,
    NewParticipant,
    ObjectionDecision,
    Outbox,
    RoundClosing,
    StaffCase,
    Withdrawal,
)
from features.staff.participants import add_participant, remove_participant

router = APIRouter(tags=["staff"])
CSRF = [Depends(csrf_protect)]
Page = Annotated[int, Query(ge=1, le=1_000_000)]
Search = Annotated[str, Query(max_length=200, description="Property address, case ID (#12) or party name")]


# ---- the case list ------------------------------------------------------------------------------------


@router.get("/staff", include_in_schema=False)
async def staff_home(request: Request, viewer: StaffViewer):
    return redirect(request, "/staff/cases")


@router.get("/staff/cases", include_in_schema=False)
async def cases_page(request: Request, db: Db, viewer: StaffViewer, stage: str = "", q: Search = "", page: Page = 1):
    problem: Invalid | None = None
    try:
        listing = await console.list_cases(db, stage, q, page)
    except Invalid as refused:
        problem = refused
        listing = await console.list_cases(db, "", q, page)
    return render(
        request,
        "pages/staff_cases.html",
        status_code=status_of(problem) if problem else 200,
        listing=listing,
        stages=console.STAGE_CHOICES,
        error=problem.message if problem else "",
        section="cases",
    )


@router.get("/api/v1/staff/cases", response_model=CaseList, responses=documented(401, 403, 422))
async def get_cases(db: Db, viewer: StaffViewer, stage: str = "", q: Search = "", page: Page = 1) -> CaseList:
    """All cases, newest first, filtered by stage and searched, fifty at a time."""
    return await console.list_cases(db, stage, q, page)


# ---- the board: who each open case is waiting on ---------------------------------------------------------


def _board_query(request: Request) -> tuple[board.BoardQuery, Invalid | None]:
    """The board's filters from the page's address; ones that cannot be read give the whole board and say why."""
    given = {name: request.query_params[name] for name in board.BoardQuery.model_fields if name in request.query_params}
    try:
        return board.BoardQuery.model_validate(given), None
    except ValidationError as error:
        fields = field_messages(error)
        return board.BoardQuery(), Invalid("; ".join(fields.values()), fields)


@router.get("/staff/board", include_in_schema=False)
async def board_page(request: Request, db: Db, viewer: StaffViewer):
    query, problem = _board_query(request)
    listing = await board.board(db, query)
    return render(
        request,
        "pages/staff_board.html",
        status_code=status_of(problem) if problem else 200,
        listing=listing,
        filters=urlencode(listing.query.filters()),
        kinds=[(kind, info.label) for kind, info in KINDS.items()],
        stages=[(stage, stage_label(stage)) for stage in board.OPEN_STAGES],
        sorts=board.SORTS,
        mediators=await directory.directory(db),
        duration=human_duration,
        error=problem.message if problem else "",
        section="board",
    )


@router.get("/staff/board.csv", include_in_schema=False)
async def board_csv(request: Request, db: Db, viewer: StaffViewer):
    query, problem = _board_query(request)
    if problem:
        raise problem
    return Response(
        await board.board_csv(db, query),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{board.csv_filename()}"'},
    )


@router.get("/api/v1/staff/board", response_model=board.Board, responses=documented(401, 403, 422))
async def get_board(db: Db, viewer: StaffViewer, query: Annotated[board.BoardQuery, Query()]) -> board.Board:
    """Every open case with what it is waiting on, since when, its deadline and whether it is overdue, filtered,
    sorted and fifty at a time; open cases, overdue ones and median time per stage (30 and 90 days)."""
    return await board.board(db, query)


# ---- one case and the staff actions on it -------------------------------------------------------------


async def case_page(request: Request, ctx, db, viewer, case_id: int, problem: DomainError | None = None) -> Response:
    detail = await console.case_detail(ctx, db, case_id)
    access = CaseAccess(case=detail.case, viewer=viewer, roles=[])
    poll = (await scheduling(db, access)).poll
    return render(
        request,
        "pages/staff_case.html",
        status_code=status_of(problem) if problem else 200,
        d=detail,
        case=detail.case,
        access=access,
        status=detail.state,
        poll=poll,
        poll_temporal_url=poll_temporal_url(ctx, case_id, poll.number) if poll else "",
        final=detail.state.stage in {str(s) for s in FINAL_STAGES},
        error=problem.message if problem else "",
        errors=problem.fields if problem else {},
        values=await request.form() if problem else {},
        roles=ADDABLE_ROLES,
        sides=SIDES,
        kinds=REPRESENTATIVE_KINDS,
        disclosure_labels=DISCLOSURE_STATUS_LABELS,
        section="cases",
    )


@router.get("/staff/cases/{case_id}", include_in_schema=False)
async def case_view(request: Request, ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId):
    return await case_page(request, ctx, db, viewer, case_id)


@router.get("/api/v1/staff/cases/{case_id}", response_model=StaffCase, responses=documented(401, 403, 404))
async def get_case(ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId) -> StaffCase:
    """A case with its state, its people and every ballot."""
    return (await console.case_detail(ctx, db, case_id)).view


def _staff_form(request: Request, ctx, db, viewer, case_id: int, model, action):
    """The console's forms all come back to the case page: with the action's notice, or with what went wrong."""
    return submit(
        request,
        model,
        action,
        lambda problem: case_page(request, ctx, db, viewer, case_id, problem),
        lambda result: (f"/staff/cases/{case_id}", result.message if isinstance(result, ActionResult) else result),
    )


@router.post("/staff/cases/{case_id}/intake", include_in_schema=False, dependencies=CSRF)
async def intake_form(request: Request, ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId):
    return await _staff_form(request, ctx, db, viewer, case_id, IntakeReview, lambda review: console.review_intake(ctx, db, viewer.id, case_id, review))


@router.post("/staff/cases/{case_id}/extend", include_in_schema=False, dependencies=CSRF)
async def extend_form(request: Request, ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId):
    return await _staff_form(request, ctx, db, viewer, case_id, Extension, lambda extension: console.extend_ranking(ctx, db, viewer.id, case_id, extension))


@router.post("/staff/cases/{case_id}/close-ranking", include_in_schema=False, dependencies=CSRF)
async def close_ranking_form(request: Request, ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId):
    return await _staff_form(request, ctx, db, viewer, case_id, RoundClosing, lambda closing: console.close_ranking(ctx, db, viewer.id, case_id, closing))


@router.post("/staff/cases/{case_id}/new-panel", include_in_schema=False, dependencies=CSRF)
async def new_panel_form(request: Request, ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId):
    return await _staff_form(request, ctx, db, viewer, case_id, NewPanel, lambda proposal: console.propose_new_panel(ctx, db, viewer.id, case_id, proposal))


@router.post("/staff/cases/{case_id}/withdraw", include_in_schema=False, dependencies=CSRF)
async def withdraw_form(request: Request, ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId):
    return await _staff_form(request, ctx, db, viewer, case_id, Withdrawal, lambda withdrawal: console.withdraw(ctx, db, viewer.id, case_id, withdrawal))


@router.post("/staff/cases/{case_id}/disclosures/{number}/decision", include_in_schema=False, dependencies=CSRF)
async def objection_decision_form(request: Request, ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId, number: PathId):
    return await _staff_form(
        request, ctx, db, viewer, case_id, ObjectionDecision, lambda decision: console.decide_objection(ctx, db, viewer.id, case_id, number, decision)
    )


@router.post("/staff/cases/{case_id}/participants", include_in_schema=False, dependencies=CSRF)
async def add_participant_form(request: Request, ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId):
    return await _staff_form(request, ctx, db, viewer, case_id, NewParticipant, lambda new: add_participant(ctx, case_id, new))


@router.post("/staff/cases/{case_id}/participants/{participant_id}/remove", include_in_schema=False, dependencies=CSRF)
async def remove_participant_form(request: Request, ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId, participant_id: PathId):
    async def remove(_):
        return await remove_participant(ctx, case_id, participant_id)

    return await _staff_form(request, ctx, db, viewer, case_id, NoInput, remove)


ACTION_ERRORS = documented(401, 403, 404, 409, 422, 503)


@router.post("/api/v1/staff/cases/{case_id}/intake", response_model=ActionResult, dependencies=CSRF, responses=ACTION_ERRORS)
async def post_intake(ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId, body: IntakeReview) -> ActionResult:
    """Accept the Request to Mediate with a panel (empty: proposed from the directory), or reject it with a reason."""
    return await console.review_intake(ctx, db, viewer.id, case_id, body)


@router.post("/api/v1/staff/cases/{case_id}/extend", response_model=ActionResult, dependencies=CSRF, responses=ACTION_ERRORS)
async def post_extension(ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId, body: Extension) -> ActionResult:
    """Extend the open ranking round by days or hours; reminders follow the new deadline."""
    return await console.extend_ranking(ctx, db, viewer.id, case_id, body)


@router.post("/api/v1/staff/cases/{case_id}/close-ranking", response_model=ActionResult, dependencies=CSRF, responses=ACTION_ERRORS)
async def post_close_ranking(ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId, body: RoundClosing) -> ActionResult:
    """Close the ranking round now and tally the ballots received."""
    return await console.close_ranking(ctx, db, viewer.id, case_id, body)


@router.post("/api/v1/staff/cases/{case_id}/new-panel", response_model=ActionResult, dependencies=CSRF, responses=ACTION_ERRORS)
async def post_new_panel(ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId, body: NewPanel) -> ActionResult:
    """Propose a new panel (empty: from the directory); a new ranking round starts."""
    return await console.propose_new_panel(ctx, db, viewer.id, case_id, body)


@router.post("/api/v1/staff/cases/{case_id}/disclosures/{number}/decision", response_model=ActionResult, dependencies=CSRF, responses=ACTION_ERRORS)
async def post_objection_decision(ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId, number: PathId, body: ObjectionDecision) -> ActionResult:
    """Decide a party's objection to a mediator's disclosure: uphold it (the next mediator in the order is asked, or a
    new panel is needed) or overrule it (the disclosure stands), with the reason the parties and the mediator read."""
    return await console.decide_objection(ctx, db, viewer.id, case_id, number, body)


@router.post("/api/v1/staff/cases/{case_id}/withdraw", response_model=ActionResult, dependencies=CSRF, responses=ACTION_ERRORS)
async def post_withdrawal(ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId, body: Withdrawal) -> ActionResult:
    """Withdraw the case; everyone on it is told why."""
    return await console.withdraw(ctx, db, viewer.id, case_id, body)


@router.post("/api/v1/staff/cases/{case_id}/participants", response_model=ActionResult, status_code=201, dependencies=CSRF, responses=ACTION_ERRORS)
async def post_participant(ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId, body: NewParticipant) -> ActionResult:
    """Add a party, representative or interested person; someone new to the center is emailed an activation link."""
    message = await add_participant(ctx, case_id, body)
    return _with_stage(message, await console.get_case(db, case_id))


@router.delete("/api/v1/staff/cases/{case_id}/participants/{participant_id}", response_model=ActionResult, dependencies=CSRF, responses=ACTION_ERRORS)
async def delete_participant(ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId, participant_id: PathId) -> ActionResult:
    """Remove a participant (not the mediator)."""
    message = await remove_participant(ctx, case_id, participant_id)
    return _with_stage(message, await console.get_case(db, case_id))


def _with_stage(message: str, case: Case) -> ActionResult:
    return ActionResult(message=message, stage=case.stage, stage_label=stage_label(case.stage))


# ---- the mediator directory ------------------------------------------------------------------------------


@router.get("/staff/mediators", include_in_schema=False)
async def mediators_page(request: Request, db: Db, viewer: StaffViewer):
    return render(request, "pages/staff_mediators.html", mediators=await board.directory_with_figures(db), duration=human_duration, section="mediators")


def _entry_page(request: Request, person_id: int | None, values, problem: DomainError | None = None) -> Response:
    return render(
        request,
        "pages/staff_mediator_form.html",
        status_code=status_of(problem) if problem else 200,
        values=values,
        errors=problem.fields if problem else {},
        person_id=person_id,
        section="mediators",
    )


@router.get("/staff/mediators/new", include_in_schema=False)
async def new_mediator_page(request: Request, viewer: StaffViewer):
    return _entry_page(request, None, {"languages": "English", "in_directory": "on"})


@router.post("/staff/mediators/new", include_in_schema=False, dependencies=CSRF)
async def new_mediator_form(request: Request, ctx: Ctx, db: Db, viewer: StaffViewer):
    async def again(problem: DomainError) -> Response:
        return _entry_page(request, None, await request.form(), problem)

    return await submit(
        request,
        DirectoryEntryIn,
        lambda entry: directory.add_mediator(ctx, db, entry),
        again,
        lambda entry: ("/staff/mediators", f"{entry.name} was added to the mediator directory."),
    )


@router.get("/staff/mediators/{person_id}", include_in_schema=False)
async def edit_mediator_page(request: Request, db: Db, viewer: StaffViewer, person_id: PathId):
    entry = await directory.get_mediator(db, person_id)
    return _entry_page(request, person_id, {**entry.model_dump(), "in_directory": "on" if entry.in_directory else ""})


@router.post("/staff/mediators/{person_id}", include_in_schema=False, dependencies=CSRF)
async def edit_mediator_form(request: Request, db: Db, viewer: StaffViewer, person_id: PathId):
    await directory.get_mediator(db, person_id)

    async def again(problem: DomainError) -> Response:
        return _entry_page(request, person_id, await request.form(), problem)

    return await submit(
        request,
        DirectoryEntryIn,
        lambda entry: directory.edit_mediator(db, person_id, entry),
        again,
        lambda entry: ("/staff/mediators", f"{entry.name}'s directory entry was saved."),
    )


@router.get("/api/v1/staff/mediators", response_model=list[DirectoryEntry], responses=documented(401, 403))
async def get_mediators(db: Db, viewer: StaffViewer) -> list[DirectoryEntry]:
    """The mediator directory, each entry with its conflict-check figures."""
    return await board.directory_with_figures(db)


@router.post("/api/v1/staff/mediators", response_model=DirectoryEntry, status_code=201, dependencies=CSRF, responses=documented(401, 403, 422))
async def post_mediator(ctx: Ctx, db: Db, viewer: StaffViewer, body: DirectoryEntryIn) -> DirectoryEntry:
    """Add a mediator to the directory; someone new to the center is emailed an activation link."""
    return await directory.add_mediator(ctx, db, body)


@router.get("/api/v1/staff/mediators/{person_id}", response_model=DirectoryEntry, responses=documented(401, 403, 404))
async def get_mediator(db: Db, viewer: StaffViewer, person_id: PathId) -> DirectoryEntry:
    """One directory entry, with its conflict-check figures."""
    return await board.mediator_with_figures(db, person_id)


@router.put("/api/v1/staff/mediators/{person_id}", response_model=DirectoryEntry, dependencies=CSRF, responses=documented(401, 403, 404, 422))
async def put_mediator(db: Db, viewer: StaffViewer, person_id: PathId, body: DirectoryEntryIn) -> DirectoryEntry:
    """Edit a directory entry."""
    return await directory.edit_mediator(db, person_id, body)


# ---- the outbox ------------------------------------------------------------------------------------------


@router.get("/staff/outbox", include_in_schema=False)
async def outbox_page(request: Request, db: Db, viewer: StaffViewer, page: Page = 1):
    return render(request, "pages/staff_outbox.html", listing=await outbox.outbox(db, page), section="outbox")


@router.get("/staff/outbox/{email_id}", include_in_schema=False)
async def outbox_email_page(request: Request, db: Db, viewer: StaffViewer, email_id: PathId):
    return render(request, "pages/staff_email.html", email=await outbox.outbox_email(db, email_id), section="outbox")


@router.get("/api/v1/staff/outbox", response_model=Outbox, responses=documented(401, 403))
async def get_outbox(db: Db, viewer: StaffViewer, page: Page = 1) -> Outbox:
    """The email outbox, newest first."""
    return await outbox.outbox(db, page)


@router.get("/api/v1/staff/outbox/{email_id}", response_model=EmailView, responses=documented(401, 403, 404))
async def get_outbox_email(db: Db, viewer: StaffViewer, email_id: PathId) -> EmailView:
    """One email with its text body."""
    return await outbox.outbox_email(db, email_id)
