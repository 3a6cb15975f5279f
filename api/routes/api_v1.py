"""The JSON API for integrations: sign in, My Cases, filing, Case Home, and the mediator's actions.

It uses the same session cookie and CSRF rule (X-CSRF-Token header) as the pages, and the same
service functions, so an action behaves the same whichever way it arrives.
"""

from datetime import datetime, timezone
from contextlib import contextmanager
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from core.stages import stage_label
from api.errors import documented
from api.deps import CaseInView, csrf_protect, Ctx, CurrentViewer, Db, PathId
from api.routes.cases import my_cases
from api.routes.mediator import access_errors
from core.db.models import Case, Person
from features.mediator import service as mediator_service
from core.case_facts import case_titles
from features.cases.next_steps import next_steps
from features.cases.roster import DISPUTE_BASES, DISPUTE_VALUES, PartyContact
from features.cases.filing import MAX_OTHER_PARTIES, FilingForm, FilingProblem, file_request
from features.cases.state import case_state
from core.case_state import CaseState

router = APIRouter(prefix="/api/v1")


# ---- My Cases and filing -----------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    # SQLite hands datetimes back without a zone; they are stored in UTC.
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).isoformat()


class CaseItem(BaseModel):
    id: int
    title: str = Field(description="Initiating parties vs responding parties")
    property_address: str
    stage: str
    stage_label: str
    stage_deadline: str | None = Field(description="ISO 8601, UTC")
    conflict_check_requested: bool = Field(description="You are the mediator asked to do this case's conflict check")


def _item(case: Case, title: str, viewer_id: int) -> CaseItem:
    return CaseItem(
        id=case.id,
        title=title,
        property_address=case.property_address,
        stage=case.stage,
        stage_label=stage_label(case.stage),
        stage_deadline=_iso(case.stage_deadline),
        conflict_check_requested=case.stage == "conflict_check" and case.candidate_mediator_id == viewer_id,
    )


@router.get("/cases", tags=["cases"], summary="My Cases", response_model=list[CaseItem], responses=documented(401))
async def list_cases(db: Db, viewer: CurrentViewer) -> list[CaseItem]:
    cases = await my_cases(db, viewer)
    titles = await case_titles(db, [c.id for c in cases])
    return [_item(c, titles[c.id], viewer.id) for c in cases]


class OtherParty(BaseModel):
    full_name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    side: Literal["initiating", "responding"] = "responding"


class RequestToMediate(BaseModel):
    property_address: str = Field(max_length=1000)
    dispute_bases: list[str] = Field(max_length=10, description="One or more of: " + "; ".join(DISPUTE_BASES))
    dispute_value: str = Field(max_length=100, description="One of: " + "; ".join(DISPUTE_VALUES))
    description: str = Field("", max_length=20000)
    filer_role: Literal["party", "agent", "attorney", "power_of_attorney"] = "party"
    party_name: str = Field("", max_length=200, description="When filing for a party: their name")
    party_email: str = Field("", max_length=320, description="When filing for a party: their email")
    others: list[OtherParty] = Field(max_length=MAX_OTHER_PARTIES, description="The other parties; at least one responding")


@router.post(
    "/cases",
    tags=["cases"],
    summary="File a Request to Mediate",
    response_model=CaseItem,
    status_code=201,
    dependencies=[Depends(csrf_protect)],
    responses=documented(401, 403, 422, 503),
)
async def file_case(body: RequestToMediate, response: Response, ctx: Ctx, db: Db, viewer: CurrentViewer) -> CaseItem:
    form = FilingForm(
        property_address=body.property_address.strip(),
        dispute_bases=list(body.dispute_bases),
        dispute_value=body.dispute_value,
        description=body.description.strip(),
        filer_role=body.filer_role,
        party_name=body.party_name.strip(),
        party_email=body.party_email.strip(),
        others=[PartyContact(o.full_name.strip(), o.email.strip(), o.side) for o in body.others],
    )
    try:
        case = await file_request(ctx, db, viewer.person, form)
    except FilingProblem as problem:
        # The same shape as any other invalid request body: one detail line, and each problem by field.
        errors = [{"loc": ("body", name), "msg": message, "type": "value_error"} for name, message in problem.errors.items()]
        raise RequestValidationError(errors) from None
    response.headers["Location"] = f"/api/v1/cases/{case.id}"
    return _item(case, case.title, viewer.id)


# ---- Case Home ---------------------------------------------------------------------------------


class CaseNextStep(BaseModel):
    text: str
    link: str = Field(description="The page where the step is done, if any")


class AssignedMediator(BaseModel):
    id: int
    full_name: str


class CaseDetail(BaseModel):
    id: int
    title: str
    property_address: str
    stage: str
    stage_label: str
    stage_deadline: str | None = Field(description="ISO 8601, UTC")
    mediator: AssignedMediator | None
    next_steps: list[CaseNextStep]
    fee_deposit_collected: bool
    mediation_scheduled: bool
    outcome: str | None
    changes_paused: bool = Field(description="True while no worker serves the cases: reading works, actions answer 503")


async def _detail(db, case: Case, status: CaseState, steps: list, paused: bool) -> CaseDetail:
    mediator = await db.get(Person, status.mediator_id) if status.mediator_id else None
    return CaseDetail(
        id=case.id,
        title=(await case_titles(db, [case.id]))[case.id],
        property_address=case.property_address,
        stage=status.stage,
        stage_label=status.stage_label,
        stage_deadline=status.stage_deadline,
        mediator=AssignedMediator(id=mediator.id, full_name=mediator.full_name) if mediator else None,
        next_steps=[CaseNextStep(text=s.text, link=s.link) for s in steps],
        fee_deposit_collected=status.fee_deposit_collected,
        mediation_scheduled=status.mediation_scheduled,
        outcome=status.outcome,
        changes_paused=paused,
    )


@router.get("/cases/{case_id}", tags=["cases"], summary="Case Home", response_model=CaseDetail, responses=documented(401, 404, 503))
async def case_home(ctx: Ctx, db: Db, access: CaseInView) -> CaseDetail:
    status = await case_state(db, access.case)
    steps = next_steps(status, access.viewer.id, access.is_staff, access.represented_party_ids, {p.role for p in access.roles})
    return await _detail(db, access.case, status, steps, not await ctx.workers_present())


# ---- the mediator ------------------------------------------------------------------------------


class ConflictCheckParty(BaseModel):
    name: str
    side: str
    representatives: list[str]


class ConflictCheckCase(BaseModel):
    id: int
    title: str
    property_address: str
    dispute_bases: list[str]
    dispute_value: str
    description: str
    parties: list[ConflictCheckParty]
    deadline: str | None = Field(description="Answer by then (ISO 8601, UTC), or the center asks the next mediator")


@router.get(
    "/cases/{case_id}/conflict-check",
    tags=["mediator"],
    summary="The case summary for the mediator asked to check for conflicts",
    response_model=ConflictCheckCase,
    responses=documented(401, 404, 503),
)
async def conflict_check(case_id: PathId, ctx: Ctx, db: Db, viewer: CurrentViewer) -> ConflictCheckCase:
    with access_errors():
        brief = await mediator_service.conflict_check_brief(ctx, db, case_id, viewer.person)
    case = brief.case
    return ConflictCheckCase(
        id=case.id,
        title=brief.title,
        property_address=case.property_address,
        dispute_bases=list(case.dispute_bases or []),
        dispute_value=case.dispute_value,
        description=case.description,
        parties=[ConflictCheckParty(name=p.name, side=p.side, representatives=p.representatives) for p in brief.parties],
        deadline=brief.status.stage_deadline,
    )


class ConflictAnswer(BaseModel):
    accept: bool
    reason: str = Field("", max_length=10000, description="Required when declining: the nature of the conflict")


class MediatorState(BaseModel):
    case_id: int
    stage: str
    stage_label: str
    mediator_id: int | None
    candidate_mediator_id: int | None
    fee_deposit_collected: bool
    mediation_scheduled: bool
    outcome: str | None


def _state(status: CaseState) -> MediatorState:
    return MediatorState(
        case_id=status.case_id,
        stage=status.stage,
        stage_label=status.stage_label,
        mediator_id=status.mediator_id,
        candidate_mediator_id=status.candidate_mediator_id,
        fee_deposit_collected=status.fee_deposit_collected,
        mediation_scheduled=status.mediation_scheduled,
        outcome=status.outcome,
    )


@contextmanager
def mediator_errors():
    """The mediator service's refusals as HTTP errors: access as on the pages, invalid input as 422."""
    try:
        with access_errors():
            yield
    except mediator_service.InvalidAction as problem:
        raise HTTPException(status_code=422, detail=str(problem)) from None


@router.post(
    "/cases/{case_id}/conflict-check",
    tags=["mediator"],
    summary="Answer the conflict check: accept, or decline with the reason",
    response_model=MediatorState,
    dependencies=[Depends(csrf_protect)],
    responses=documented(401, 403, 404, 409, 422, 503),
)
async def answer_conflict_check(case_id: PathId, body: ConflictAnswer, ctx: Ctx, db: Db, viewer: CurrentViewer) -> MediatorState:
    with mediator_errors():
        return _state(await mediator_service.answer_conflict_check(ctx, db, case_id, viewer.person, body.accept, body.reason))


@router.post(
    "/cases/{case_id}/fee-deposit",
    tags=["mediator"],
    summary="Record that the fee deposit is collected (the case's mediator or staff)",
    response_model=MediatorState,
    dependencies=[Depends(csrf_protect)],
    responses=documented(401, 403, 404, 409, 503),
)
async def fee_deposit(case_id: PathId, ctx: Ctx, db: Db, viewer: CurrentViewer) -> MediatorState:
    with access_errors():
        return _state(await mediator_service.record_fee_deposit(ctx, db, case_id, viewer.person))


@router.post(
    "/cases/{case_id}/scheduled",
    tags=["mediator"],
    summary="Record that the mediation is scheduled (the case's mediator or staff)",
    response_model=MediatorState,
    dependencies=[Depends(csrf_protect)],
    responses=documented(401, 403, 404, 409, 503),
)
async def scheduled(case_id: PathId, ctx: Ctx, db: Db, viewer: CurrentViewer) -> MediatorState:
    with access_errors():
        return _state(await mediator_service.record_scheduled(ctx, db, case_id, viewer.person))


class Closure(BaseModel):
    outcome: str = Field(description="settled, not_settled or withdrawn")
    note: str = Field("", max_length=20000)


@router.post(
    "/cases/{case_id}/close",
    tags=["mediator"],
    summary="Close the case with its outcome (the case's mediator or staff)",
    response_model=MediatorState,
    dependencies=[Depends(csrf_protect)],
    responses=documented(401, 403, 404, 409, 422, 503),
)
async def close(case_id: PathId, body: Closure, ctx: Ctx, db: Db, viewer: CurrentViewer) -> MediatorState:
    with mediator_errors():
        return _state(await mediator_service.close_case(ctx, db, case_id, viewer.person, body.outcome, body.note))
