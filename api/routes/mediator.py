"""The mediator's doors: the conflict check, and the case page for the fee deposit and closing, as pages and JSON."""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import Ctx, CurrentViewer, Db, PathId, Viewer, csrf_protect
from api.errors import documented, status_of
from api.forms import NoInput, submit
from api.pages import render
from core.case_state import CaseState
from core.errors import DomainError
from core.wording import duration_words
from features.access import CaseAccess
from features.cases.mediator_requests import last_attempt
from features.mediator import service
from features.mediator.models import (
    OUTCOME_LABELS,
    CasePerson,
    Closure,
    ConflictAnswer,
    ConflictCheckCase,
    ConflictCheckParty,
    MediatorState,
    Reconfirmation,
)

router = APIRouter(tags=["mediator"])
CSRF = [Depends(csrf_protect)]


# Who may act is settled before the body is read, so someone with no business on the case learns nothing from
# a validation message: the same service checks, run as dependencies.
async def asked_mediator(db: Db, viewer: CurrentViewer, case_id: PathId) -> None:
    await service.conflict_check_brief(db, viewer.person, case_id)


async def mediator_or_staff(db: Db, viewer: CurrentViewer, case_id: PathId) -> None:
    await service.mediator_brief(db, viewer.person, case_id)


async def reconfirming_mediator(db: Db, viewer: CurrentViewer, case_id: PathId, person_id: PathId) -> None:
    await service.reconfirmation_brief(db, viewer.person, case_id, person_id)


ASKED = [*CSRF, Depends(asked_mediator)]
MANAGING = [*CSRF, Depends(mediator_or_staff)]
RECONFIRMING = [*CSRF, Depends(reconfirming_mediator)]


def objection_window(request: Request) -> str:
    """How long the parties may object to a disclosure, in words ("2 days")."""
    return duration_words(int(request.app.state.ctx.settings.disclosure_objection_window.total_seconds()))


def _people(people: list[service.PersonLine]) -> list[CasePerson]:
    return [CasePerson(id=p.person_id, name=p.name, role=p.role) for p in people]


def _state(state: CaseState) -> MediatorState:
    return MediatorState(
        case_id=state.case_id,
        stage=state.stage,
        stage_label=state.stage_label,
        mediator_id=state.mediator_id,
        candidate_mediator_id=state.candidate_mediator_id,
        fee_deposit_collected=state.fee_deposit_collected,
        mediation_scheduled=state.mediation_scheduled,
        outcome=state.outcome,
    )


# ---- the conflict check --------------------------------------------------------------------------


async def conflict_check_page(request: Request, db, viewer: Viewer, case_id: int, problem: DomainError | None = None) -> Response:
    brief = await service.conflict_check_brief(db, viewer.person, case_id)
    return render(
        request,
        "pages/conflict_check.html",
        status_code=status_of(problem) if problem else 200,
        brief=brief,
        case=brief.case,
        asked_because=attempt.asked_because if (attempt := last_attempt(brief.state, viewer.id)) else "",
        objection_window=objection_window(request),
        problem=problem,
        errors=problem.fields if problem else {},
        values=await request.form() if problem else {},
    )


@router.get("/cases/{case_id}/conflict-check", include_in_schema=False)
async def conflict_check_view(request: Request, db: Db, viewer: CurrentViewer, case_id: PathId):
    if await service.no_longer_asked(db, viewer.person, case_id):
        return RedirectResponse(f"/cases/{case_id}", status_code=303)
    return await conflict_check_page(request, db, viewer, case_id)


@router.post("/cases/{case_id}/conflict-check", include_in_schema=False, dependencies=CSRF)
async def conflict_check_form(request: Request, ctx: Ctx, db: Db, viewer: CurrentViewer, case_id: PathId):
    def done(state: CaseState) -> tuple[str, str]:
        if state.mediator_id == viewer.id:
            return f"/cases/{case_id}", "Thank you: you have accepted this case. The parties have been told you are their mediator."
        if state.stage == "disclosure_review" and state.candidate_mediator_id == viewer.id:
            # Not on the case until the disclosure stands: the case link says where it stands.
            return (
                "/cases",
                f"Thank you: your disclosure for case {case_id} was sent to the parties. They may object until the window closes; we will email you the outcome.",
            )
        # A mediator who declines takes no part in the case, so its Case Home is not theirs to open.
        return "/cases", f"Thank you: you declined case {case_id} for a conflict. The center will ask the next mediator."

    return await submit(
        request,
        ConflictAnswer,
        lambda answer: service.answer_conflict_check(ctx, db, viewer.person, case_id, answer),
        lambda problem: conflict_check_page(request, db, viewer, case_id, problem),
        done,
    )


@router.get("/api/v1/cases/{case_id}/conflict-check", response_model=ConflictCheckCase, responses=documented(401, 404))
async def get_conflict_check(db: Db, viewer: CurrentViewer, case_id: PathId) -> ConflictCheckCase:
    """The case summary for the mediator asked to check for conflicts (without the parties' contact details)."""
    brief = await service.conflict_check_brief(db, viewer.person, case_id)
    case = brief.case
    return ConflictCheckCase(
        id=case.id,
        title=brief.title,
        property_address=case.property_address,
        dispute_bases=list(case.dispute_bases or []),
        dispute_value=case.dispute_value,
        description=case.description,
        parties=[ConflictCheckParty(name=p.name, side=p.side, representatives=p.representatives) for p in brief.parties],
        people=_people(brief.people),
        deadline=brief.state.stage_deadline,
    )


@router.post("/api/v1/cases/{case_id}/conflict-check", response_model=MediatorState, dependencies=ASKED, responses=documented(401, 403, 404, 409, 422, 503))
async def post_conflict_check(body: ConflictAnswer, ctx: Ctx, db: Db, viewer: CurrentViewer, case_id: PathId) -> MediatorState:
    """Answer the conflict check: accept, answering the disclosure questions (a yes, with its details, is a disclosure
    the parties may object to: the stage is then `disclosure_review`), or decline with the nature of the conflict."""
    return _state(await service.answer_conflict_check(ctx, db, viewer.person, case_id, body))


# ---- the continuing duty: confirming again for a person who joined -----------------------------------


async def reconfirm_page(request: Request, db, viewer: Viewer, case_id: int, person_id: int, problem: DomainError | None = None) -> Response:
    asked = await service.reconfirmation_brief(db, viewer.person, case_id, person_id)
    return render(
        request,
        "pages/reconfirm.html",
        status_code=status_of(problem) if problem else 200,
        asked=asked,
        brief=asked.brief,
        case=asked.brief.case,
        access=CaseAccess(case=asked.brief.case, viewer=viewer, roles=[]),
        objection_window=objection_window(request),
        problem=problem,
        errors=problem.fields if problem else {},
        values=await request.form() if problem else {},
    )


@router.get("/cases/{case_id}/reconfirm/{person_id}", include_in_schema=False)
async def reconfirm_view(request: Request, db: Db, viewer: CurrentViewer, case_id: PathId, person_id: PathId):
    return await reconfirm_page(request, db, viewer, case_id, person_id)


@router.post("/cases/{case_id}/reconfirm/{person_id}", include_in_schema=False, dependencies=CSRF)
async def reconfirm_form(request: Request, ctx: Ctx, db: Db, viewer: CurrentViewer, case_id: PathId, person_id: PathId):
    def done(state: CaseState) -> tuple[str, str]:
        if state.mediator_id != viewer.id:
            return "/cases", f"You have stepped down from case {case_id}. The center will ask the next mediator."
        record = next((r for r in reversed(state.disclosures) if r.about_person_id == person_id), None)
        if record is not None and record.status == "open":
            return f"/cases/{case_id}", "Thank you: your disclosure was sent to the parties, who may object until the window closes."
        return f"/cases/{case_id}", "Thank you: you confirmed you have no conflict of interest with the person who joined."

    return await submit(
        request,
        ConflictAnswer,
        lambda answer: service.answer_reconfirmation(ctx, db, viewer.person, case_id, person_id, answer),
        lambda problem: reconfirm_page(request, db, viewer, case_id, person_id, problem),
        done,
    )


@router.get("/api/v1/cases/{case_id}/reconfirmations/{person_id}", response_model=Reconfirmation, responses=documented(401, 403, 404))
async def get_reconfirmation(db: Db, viewer: CurrentViewer, case_id: PathId, person_id: PathId) -> Reconfirmation:
    """For the case's mediator: the person who joined after acceptance, and everyone on the case, to answer the
    disclosure questions again."""
    asked = await service.reconfirmation_brief(db, viewer.person, case_id, person_id)
    return Reconfirmation(case_id=case_id, title=asked.brief.title, person=_people([asked.about])[0], people=_people(asked.brief.people))


@router.post(
    "/api/v1/cases/{case_id}/reconfirmations/{person_id}",
    response_model=MediatorState,
    dependencies=RECONFIRMING,
    responses=documented(401, 403, 404, 409, 422, 503),
)
async def post_reconfirmation(body: ConflictAnswer, ctx: Ctx, db: Db, viewer: CurrentViewer, case_id: PathId, person_id: PathId) -> MediatorState:
    """Confirm again for a person who joined: the disclosure questions (a yes is a disclosure the parties may object
    to), or `accept: false` with the reason to step down for a conflict."""
    return _state(await service.answer_reconfirmation(ctx, db, viewer.person, case_id, person_id, body))


# ---- after acceptance ----------------------------------------------------------------------------


async def mediator_page(request: Request, db, viewer: Viewer, case_id: int, problem: DomainError | None = None) -> Response:
    brief = await service.mediator_brief(db, viewer.person, case_id)
    return render(
        request,
        "pages/mediator_case.html",
        status_code=status_of(problem) if problem else 200,
        brief=brief,
        case=brief.case,
        status=brief.state,
        access=CaseAccess(case=brief.case, viewer=viewer, roles=[]),
        outcome_labels=OUTCOME_LABELS,
        problem=problem,
        errors=problem.fields if problem else {},
        values=await request.form() if problem else {},
    )


@router.get("/cases/{case_id}/mediator", include_in_schema=False)
async def mediator_view(request: Request, db: Db, viewer: CurrentViewer, case_id: PathId):
    return await mediator_page(request, db, viewer, case_id)


@router.post("/cases/{case_id}/mediator/fee-deposit", include_in_schema=False, dependencies=CSRF)
async def fee_deposit_form(request: Request, ctx: Ctx, db: Db, viewer: CurrentViewer, case_id: PathId):
    return await submit(
        request,
        NoInput,
        lambda _: service.record_fee_deposit(ctx, db, viewer.person, case_id),
        lambda problem: mediator_page(request, db, viewer, case_id, problem),
        lambda _: (f"/cases/{case_id}/mediator", "The fee deposit is recorded as collected."),
    )


@router.post("/cases/{case_id}/mediator/close", include_in_schema=False, dependencies=CSRF)
async def close_form(request: Request, ctx: Ctx, db: Db, viewer: CurrentViewer, case_id: PathId):
    return await submit(
        request,
        Closure,
        lambda closure: service.close_case(ctx, db, viewer.person, case_id, closure),
        lambda problem: mediator_page(request, db, viewer, case_id, problem),
        lambda _: (f"/cases/{case_id}/mediator", "The case is closed. Everyone on the case has been told its outcome."),
    )


@router.post("/api/v1/cases/{case_id}/fee-deposit", response_model=MediatorState, dependencies=MANAGING, responses=documented(401, 403, 404, 409, 503))
async def post_fee_deposit(ctx: Ctx, db: Db, viewer: CurrentViewer, case_id: PathId) -> MediatorState:
    """Record that the fee deposit is collected (the case's mediator or staff)."""
    return _state(await service.record_fee_deposit(ctx, db, viewer.person, case_id))


@router.post("/api/v1/cases/{case_id}/close", response_model=MediatorState, dependencies=MANAGING, responses=documented(401, 403, 404, 409, 422, 503))
async def post_close(body: Closure, ctx: Ctx, db: Db, viewer: CurrentViewer, case_id: PathId) -> MediatorState:
    """Close the case with its outcome (the case's mediator or staff); everyone on it is told."""
    return _state(await service.close_case(ctx, db, viewer.person, case_id, body))
