"""Scheduling by availability: the Scheduling page and its forms, and the JSON API, all doors to features/scheduling."""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.deps import CaseAccess, CaseInView, Ctx, Db, csrf_protect
from api.errors import documented, status_of
from api.forms import submit
from api.pages import render, viewer_zone
from core.case_facts import case_titles
from core.errors import DomainError
from core.scheduling import ANSWER_LABELS, ANSWERS, MAX_SLOTS
from core.time import long_time, time_range
from features.calendar.models import MEETING_TYPES
from features.scheduling.models import AnswersIn, CancelIn, PickIn, ProposalIn, SchedulingOut
from features.scheduling.service import answer_times, cancel_poll, check_can_answer, check_can_manage, pick_time, propose_times, scheduling

router = APIRouter(tags=["scheduling"])
CSRF = [Depends(csrf_protect)]
# Blank rows the propose form offers at a time (more can be added to the open poll afterwards, up to the maximum).
PROPOSE_ROWS = 4


# Who may act is settled before the body is read: someone who may not is told so, not what to fix.
async def poll_manager(access: CaseInView) -> CaseAccess:
    check_can_manage(access)
    return access


async def poll_respondent(access: CaseInView) -> CaseAccess:
    check_can_answer(access)
    return access


PollManager = Annotated[CaseAccess, Depends(poll_manager)]
PollRespondent = Annotated[CaseAccess, Depends(poll_respondent)]


# ---- the page -----------------------------------------------------------------------------------


async def _page(request: Request, db: Db, access: CaseAccess, form: str = "", problem: DomainError | None = None) -> Response:
    view = await scheduling(db, access)
    posted = await request.form() if problem is not None else None
    rows = min(PROPOSE_ROWS, view.poll.room if view.poll and view.poll.status in ("open", "answers_closed") else MAX_SLOTS)
    typed = posted if posted is not None and form == "propose" else {}
    slots_draft = [{name: str(typed.get(f"slots-{i}-{name}", "")) for name in ("starts_at", "ends_at")} for i in range(rows)]
    answers_draft: dict[str, str] = {}
    if posted and form == "answer":
        for key, value in posted.items():
            if key.startswith("answers-") and key.endswith("-slot"):
                answers_draft[str(value)] = str(posted.get(key.removesuffix("-slot") + "-answer", ""))
    pick_draft = {"slot": "", "meeting_type": "Online", "location": "", "notes": ""}
    if posted and form == "pick":
        pick_draft = {name: str(posted.get(name, default)) for name, default in pick_draft.items()}
    return render(
        request,
        "pages/scheduling.html",
        status_code=status_of(problem) if problem else 200,
        case=access.case,
        title=(await case_titles(db, [access.case.id]))[access.case.id],
        access=access,
        view=view,
        poll=view.poll,
        form=form,
        errors=(problem.fields or {"form": problem.message}) if problem else {},
        slots_draft=slots_draft,
        answers_draft=answers_draft,
        pick_draft=pick_draft,
        answer_choices=[(answer, ANSWER_LABELS[answer]) for answer in ANSWERS],
        meeting_types=MEETING_TYPES,
        max_slots=MAX_SLOTS,
    )


def _back(access: CaseAccess, notice: Callable[[SchedulingOut], str]):
    return lambda view: (f"/cases/{access.case.id}/scheduling", notice(view))


def _problem_page(request: Request, db: Db, access: CaseAccess, form: str):
    async def page(problem: DomainError) -> Response:
        return await _page(request, db, access, form, problem)

    return page


@router.get("/cases/{case_id}/scheduling", include_in_schema=False)
async def scheduling_page(request: Request, db: Db, access: CaseInView):
    return await _page(request, db, access)


@router.post("/cases/{case_id}/scheduling/proposals", include_in_schema=False, dependencies=CSRF)
async def propose_form(request: Request, ctx: Ctx, db: Db, access: PollManager):
    async def action(values: ProposalIn) -> SchedulingOut:
        return await propose_times(ctx, db, access, values)

    more = bool((await request.form()).get("poll"))

    def notice(_view: SchedulingOut) -> str:
        return ("More times were proposed" if more else "The times were proposed") + "; everyone asked was emailed to mark the ones they can attend."

    return await submit(request, ProposalIn, action, _problem_page(request, db, access, "propose"), _back(access, notice))


@router.post("/cases/{case_id}/scheduling/answers", include_in_schema=False, dependencies=CSRF)
async def answer_form(request: Request, ctx: Ctx, db: Db, access: PollRespondent):
    async def action(values: AnswersIn) -> SchedulingOut:
        return await answer_times(ctx, db, access, values)

    def notice(view: SchedulingOut) -> str:
        due = view.poll.answers_due_at if view.poll else None
        return "Your answers were saved." + (f" You can change them until {long_time(due, viewer_zone(request))}." if due else "")

    return await submit(request, AnswersIn, action, _problem_page(request, db, access, "answer"), _back(access, notice))


@router.post("/cases/{case_id}/scheduling/pick", include_in_schema=False, dependencies=CSRF)
async def pick_form(request: Request, ctx: Ctx, db: Db, access: PollManager):
    async def action(values: PickIn) -> SchedulingOut:
        return await pick_time(ctx, db, access, values)

    def notice(view: SchedulingOut) -> str:
        picked = view.poll.picked if view.poll else None
        when = f" for {time_range(picked.starts_at, picked.ends_at, viewer_zone(request))}" if picked else ""
        return f"The Mediation is scheduled{when}; everyone on the case was emailed the calendar file."

    return await submit(request, PickIn, action, _problem_page(request, db, access, "pick"), _back(access, notice))


@router.post("/cases/{case_id}/scheduling/cancel", include_in_schema=False, dependencies=CSRF)
async def cancel_form(request: Request, ctx: Ctx, db: Db, access: PollManager):
    async def action(values: CancelIn) -> SchedulingOut:
        return await cancel_poll(ctx, db, access, values)

    return await submit(
        request,
        CancelIn,
        action,
        _problem_page(request, db, access, "cancel"),
        _back(access, lambda _view: "The proposed times were withdrawn; everyone asked was told there is no need to answer."),
    )


# ---- JSON -----------------------------------------------------------------------------------------


@router.get(
    "/api/v1/cases/{case_id}/scheduling",
    summary="The case's scheduling poll: the proposed times and the answers you may see",
    response_model=SchedulingOut,
    responses=documented(401, 404),
)
async def scheduling_json(db: Db, access: CaseInView) -> SchedulingOut:
    """Everyone on the case sees the times and their own answers; the mediator and staff also see every answer, the
    times best first, and who has not answered."""
    return await scheduling(db, access)


@router.post(
    "/api/v1/cases/{case_id}/scheduling/proposals",
    summary="Propose times for the mediation (mediator or staff); everyone asked is emailed",
    response_model=SchedulingOut,
    status_code=201,
    dependencies=CSRF,
    responses=documented(401, 403, 404, 409, 422, 503),
)
async def propose_json(body: ProposalIn, ctx: Ctx, db: Db, access: PollManager) -> SchedulingOut:
    """Without `poll`: open a new poll with 2 to 8 times (409 while another is open). With `poll`: add times to that
    open poll, up to 8 in all; answers reopen for a new window."""
    return await propose_times(ctx, db, access, body)


@router.put(
    "/api/v1/cases/{case_id}/scheduling/answers",
    summary="Mark each proposed time available, if need be or unavailable (parties, representatives, interested persons)",
    response_model=SchedulingOut,
    dependencies=CSRF,
    responses=documented(401, 403, 404, 409, 422, 503),
)
async def answer_json(body: AnswersIn, ctx: Ctx, db: Db, access: PollRespondent) -> SchedulingOut:
    """One answer for every time of the poll; send it again to change it until answers close (409 after)."""
    return await answer_times(ctx, db, access, body)


@router.post(
    "/api/v1/cases/{case_id}/scheduling/pick",
    summary="Pick the time of the mediation (mediator or staff): the case is scheduled and everyone is emailed the .ics",
    response_model=SchedulingOut,
    dependencies=CSRF,
    responses=documented(401, 403, 404, 409, 422, 503),
)
async def pick_json(body: PickIn, ctx: Ctx, db: Db, access: PollManager) -> SchedulingOut:
    """The picked time becomes the "Mediation" event on the case Calendar and moves the case to scheduled."""
    return await pick_time(ctx, db, access, body)


@router.post(
    "/api/v1/cases/{case_id}/scheduling/cancel",
    summary="Withdraw the proposed times (mediator or staff)",
    response_model=SchedulingOut,
    dependencies=CSRF,
    responses=documented(401, 403, 404, 409, 422, 503),
)
async def cancel_json(body: CancelIn, ctx: Ctx, db: Db, access: PollManager) -> SchedulingOut:
    """Those asked are told there is no need to answer; new times can then be proposed."""
    return await cancel_poll(ctx, db, access, body)
