"""The center staff console: every case, one case's full picture and the staff actions on it,
the mediator directory and the email outbox. Pages and `/api/v1/staff/...` share the services in services/staff.py."""

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from api.deps import CaseAccess, csrf_protect, Ctx, Db, PathId, StaffViewer
from api.pages import redirect, render
from features.staff import console
from features.lifecycle import ActionRejected
from features.staff.participants import ADDABLE_ROLES, REPRESENTATIVE_KINDS, SIDES, ParticipantForm, add_participant, remove_participant
from features.staff.console import MediatorForm, MediatorProblem, StaffProblem
from core.case_state import CaseState
from workflows.types import BallotView
from core.errors import Invalid
from core.inputs import Id, is_id
from core.stages import FINAL_STAGES

router = APIRouter()
CSRF = [Depends(csrf_protect)]


def _panel_ids(values: list) -> list[int]:
    try:
        ids = [int(v) for v in values]
    except (TypeError, ValueError):
        raise StaffProblem("Choose the panel from the mediators listed in the directory.") from None
    if not all(is_id(i) for i in ids):
        raise StaffProblem("Choose the panel from the mediators listed in the directory.")
    return ids


def _not_found(error: LookupError) -> HTTPException:
    return HTTPException(status_code=404, detail=str(error) or "Not found.")


# ---- pages: cases ---------------------------------------------------------------------------------


@router.get("/staff", include_in_schema=False)
async def staff_home(request: Request, viewer: StaffViewer):
    return redirect(request, "/staff/cases")


@router.get("/staff/cases", include_in_schema=False)
async def cases_page(request: Request, db: Db, viewer: StaffViewer, stage: str = "", q: str = "", page: int = 1):
    error = ""
    try:
        listing = await console.list_cases(db, stage, q, page)
    except StaffProblem as problem:
        error = str(problem)
        listing = await console.list_cases(db, "", q, page)
    return render(
        request,
        "pages/staff_cases.html",
        status_code=422 if error else 200,
        listing=listing,
        stages=console.STAGE_CHOICES,
        error=error,
        section="cases",
    )


async def _case_page(request: Request, ctx, db, viewer, case_id: int, error: str = "", status_code: int = 200, form=None):
    try:
        detail = await console.case_detail(ctx, db, case_id)
    except LookupError as missing:
        raise _not_found(missing) from None
    return render(
        request,
        "pages/staff_case.html",
        status_code=status_code,
        d=detail,
        access=CaseAccess(case=detail.case, viewer=viewer, roles=[]),
        status=detail.status,
        final=detail.status.stage in {str(s) for s in FINAL_STAGES},
        error=error,
        add=form or ParticipantForm(),
        roles=ADDABLE_ROLES,
        sides=SIDES,
        kinds=REPRESENTATIVE_KINDS,
        section="cases",
    )


@router.get("/staff/cases/{case_id}", include_in_schema=False)
async def case_page(request: Request, ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId):
    return await _case_page(request, ctx, db, viewer, case_id)


async def _act(request: Request, ctx, db, viewer, case_id: int, run, form=None):
    """Run a staff action; its message goes back as a notice, or the page comes back with what went wrong."""
    try:
        notice = await run()
    except LookupError as missing:
        raise _not_found(missing) from None
    except (StaffProblem, Invalid) as problem:
        return await _case_page(request, ctx, db, viewer, case_id, str(problem), 422, form)
    except ActionRejected as rejected:
        return await _case_page(request, ctx, db, viewer, case_id, str(rejected), 409, form)
    return redirect(request, f"/staff/cases/{case_id}", notice)


@router.post("/staff/cases/{case_id}/intake", include_in_schema=False, dependencies=CSRF)
async def intake_form(request: Request, ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId):
    form = await request.form()
    accept = str(form.get("decision", "")) == "accept"

    async def run():
        return await console.review_intake(ctx, db, viewer.id, case_id, accept, _panel_ids(form.getlist("panel")), str(form.get("reason", "")))

    return await _act(request, ctx, db, viewer, case_id, run)


@router.post("/staff/cases/{case_id}/extend", include_in_schema=False, dependencies=CSRF)
async def extend_form(request: Request, ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId):
    form = await request.form()
    return await _act(request, ctx, db, viewer, case_id, lambda: console.extend_ranking(ctx, db, viewer.id, case_id, str(form.get("days", ""))))


@router.post("/staff/cases/{case_id}/close-ranking", include_in_schema=False, dependencies=CSRF)
async def close_ranking_form(request: Request, ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId):
    form = await request.form()
    return await _act(request, ctx, db, viewer, case_id, lambda: console.close_ranking(ctx, db, viewer.id, case_id, str(form.get("reason", ""))))


@router.post("/staff/cases/{case_id}/new-panel", include_in_schema=False, dependencies=CSRF)
async def new_panel_form(request: Request, ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId):
    form = await request.form()

    async def run():
        return await console.propose_new_panel(ctx, db, viewer.id, case_id, _panel_ids(form.getlist("panel")))

    return await _act(request, ctx, db, viewer, case_id, run)


@router.post("/staff/cases/{case_id}/withdraw", include_in_schema=False, dependencies=CSRF)
async def withdraw_form(request: Request, ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId):
    form = await request.form()
    return await _act(request, ctx, db, viewer, case_id, lambda: console.withdraw(ctx, db, viewer.id, case_id, str(form.get("reason", ""))))


@router.post("/staff/cases/{case_id}/participants", include_in_schema=False, dependencies=CSRF)
async def add_participant_form(request: Request, ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId):
    form = ParticipantForm.from_form(await request.form())
    return await _act(request, ctx, db, viewer, case_id, lambda: add_participant(ctx, case_id, form), form)


@router.post("/staff/cases/{case_id}/participants/{participant_id}/remove", include_in_schema=False, dependencies=CSRF)
async def remove_participant_form(request: Request, ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId, participant_id: PathId):
    return await _act(request, ctx, db, viewer, case_id, lambda: remove_participant(ctx, case_id, participant_id))


# ---- pages: mediator directory ---------------------------------------------------------------------


@router.get("/staff/mediators", include_in_schema=False)
async def mediators_page(request: Request, db: Db, viewer: StaffViewer):
    return render(request, "pages/staff_mediators.html", mediators=await console.directory(db), section="mediators")


@router.get("/staff/mediators/new", include_in_schema=False)
async def new_mediator_page(request: Request, viewer: StaffViewer):
    return render(request, "pages/staff_mediator_form.html", form=MediatorForm(), errors={}, person_id=None, section="mediators")


@router.post("/staff/mediators/new", include_in_schema=False, dependencies=CSRF)
async def new_mediator_form(request: Request, ctx: Ctx, db: Db, viewer: StaffViewer):
    form = MediatorForm.from_form(await request.form())
    try:
        entry = await console.add_mediator(ctx, db, form)
    except MediatorProblem as problem:
        return render(
            request, "pages/staff_mediator_form.html", status_code=422, form=form, errors=problem.errors, person_id=None, section="mediators"
        )
    return redirect(request, "/staff/mediators", f"{entry.name} was added to the mediator directory.")


@router.get("/staff/mediators/{person_id}", include_in_schema=False)
async def edit_mediator_page(request: Request, db: Db, viewer: StaffViewer, person_id: PathId):
    try:
        entry = await console.get_mediator(db, person_id)
    except LookupError as missing:
        raise _not_found(missing) from None
    return render(request, "pages/staff_mediator_form.html", form=MediatorForm.of(entry), errors={}, person_id=person_id, section="mediators")


@router.post("/staff/mediators/{person_id}", include_in_schema=False, dependencies=CSRF)
async def edit_mediator_form(request: Request, db: Db, viewer: StaffViewer, person_id: PathId):
    form = MediatorForm.from_form(await request.form())
    try:
        entry = await console.edit_mediator(db, person_id, form)
    except LookupError as missing:
        raise _not_found(missing) from None
    except MediatorProblem as problem:
        return render(
            request, "pages/staff_mediator_form.html", status_code=422, form=form, errors=problem.errors, person_id=person_id, section="mediators"
        )
    return redirect(request, "/staff/mediators", f"{entry.name}'s directory entry was saved.")


# ---- pages: outbox ----------------------------------------------------------------------------------


@router.get("/staff/outbox", include_in_schema=False)
async def outbox_page(request: Request, db: Db, viewer: StaffViewer, page: int = 1):
    return render(request, "pages/staff_outbox.html", listing=await console.outbox(db, page), section="outbox")


@router.get("/staff/outbox/{email_id}", include_in_schema=False)
async def outbox_email_page(request: Request, db: Db, viewer: StaffViewer, email_id: PathId):
    try:
        email = await console.outbox_email(db, email_id)
    except LookupError as missing:
        raise _not_found(missing) from None
    return render(request, "pages/staff_email.html", email=email, section="outbox")


# ---- JSON API -------------------------------------------------------------------------------------


class StaffErrorOut(BaseModel):
    detail: str


ERRORS = {
    code: {"model": StaffErrorOut, "description": text}
    for code, text in {
        401: "Not signed in.",
        403: "Not center staff, or a missing CSRF token.",
        404: "No such case, mediator or email.",
        409: "The case's workflow refused the action (the detail says why).",
        422: "Input to correct (the detail says how).",
        503: "The case service is briefly unavailable; nothing was changed.",
    }.items()
}


class CaseRowOut(BaseModel):
    id: int
    title: str
    property_address: str
    stage: str
    stage_label: str
    stage_deadline: datetime | None
    mediator_name: str
    filed_at: datetime


class CasePageOut(BaseModel):
    items: list[CaseRowOut]
    page: int
    pages: int
    total: int
    page_size: int = console.PAGE_SIZE


class RequestToMediateOut(BaseModel):
    property_address: str
    dispute_bases: list[str]
    dispute_value: str
    description: str
    filed_by_id: int
    filed_by_name: str
    filed_at: datetime


class ParticipantOut(BaseModel):
    id: int
    person_id: int
    name: str
    email: str
    role: str
    side: str | None
    represents_id: int | None
    represents_name: str
    representative_kind: str
    activated: bool


class BallotAuditOut(BaseModel):
    ranking_round: int
    party_id: int
    submitted_by_id: int
    side: str
    ranked: list[int]
    eliminated: list[int]
    submitted_at: datetime


class CaseDetailOut(BaseModel):
    id: int
    title: str
    request: RequestToMediateOut
    participants: list[ParticipantOut]
    status: CaseState = Field(description="The case as its workflow last published it.")
    ballots: list[BallotView] = Field(description="Each party's ballot in the current round; staff only.")
    ballot_audit: list[BallotAuditOut] = Field(description="Every ballot as submitted, revisions included, all rounds.")
    names: dict[int, str] = Field(description="Full names of every person the ids above refer to.")
    temporal_url: str


class ActionResult(BaseModel):
    message: str


class IntakeIn(BaseModel):
    accept: bool
    panel: list[Id] = Field(default_factory=list, max_length=50, description="Mediator person ids; empty proposes a panel from the directory.")
    reason: str = Field("", max_length=2000, description="Required when rejecting; the filer reads it.")


class ExtendIn(BaseModel):
    days: int = Field(description=f"Whole days, 1 to {console.MAX_EXTENSION_DAYS}.")


class ReasonIn(BaseModel):
    reason: str = Field("", max_length=2000)


class NewPanelIn(BaseModel):
    panel: list[Id] = Field(default_factory=list, max_length=50, description="Mediator person ids; empty proposes a panel from the directory.")


class ParticipantIn(BaseModel):
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    role: Literal["party", "representative", "interested"]
    side: Literal["initiating", "responding"] | None = None
    represents_id: Id | None = Field(None, description="For a representative: the party (person id) they act for.")
    kind: Literal["Attorney", "Agent", "Power of attorney"] | None = None


class DirectoryEntryIn(BaseModel):
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    bio: str = Field("", max_length=5000)
    expertise: str = Field("", max_length=300)
    region: str = Field("", max_length=100)
    languages: str = Field("English", max_length=200)
    fee: str = Field("", max_length=100)
    in_directory: bool = True


class DirectoryEntryOut(BaseModel):
    person_id: int
    name: str
    email: str
    bio: str
    expertise: str
    region: str
    languages: str
    fee: str
    in_directory: bool


class EmailSummaryOut(BaseModel):
    id: int
    case_id: int | None
    to_email: str
    to_name: str
    subject: str
    created_at: datetime
    sent_at: datetime | None
    status: str
    transport: str


class EmailOut(EmailSummaryOut):
    text_body: str
    attempts: int


class OutboxPageOut(BaseModel):
    items: list[EmailSummaryOut]
    page: int
    pages: int
    total: int
    page_size: int = console.PAGE_SIZE


async def _json(run):
    try:
        return await run
    except LookupError as missing:
        raise _not_found(missing) from None
    except StaffProblem as problem:
        raise HTTPException(status_code=422, detail=str(problem)) from None


@router.get("/api/v1/staff/cases", response_model=CasePageOut, tags=["staff"], responses=ERRORS, summary="All cases, newest first, filtered and paged")
async def api_cases(db: Db, viewer: StaffViewer, stage: str = "", q: str = "", page: int = 1):
    listing = await _json(console.list_cases(db, stage, q, page))
    return CasePageOut(
        items=[CaseRowOut.model_validate(row, from_attributes=True) for row in listing.items], page=listing.page, pages=listing.pages, total=listing.total
    )


@router.get("/api/v1/staff/cases/{case_id}", response_model=CaseDetailOut, tags=["staff"], responses=ERRORS, summary="A case with live status and every ballot")
async def api_case(ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId):
    d = await _json(console.case_detail(ctx, db, case_id))
    case = d.case
    return CaseDetailOut(
        id=case.id,
        title=d.title,
        request=RequestToMediateOut(
            property_address=case.property_address,
            dispute_bases=list(case.dispute_bases),
            dispute_value=case.dispute_value,
            description=case.description,
            filed_by_id=case.filed_by_id,
            filed_by_name=d.filed_by,
            filed_at=case.filed_at,
        ),
        participants=[ParticipantOut.model_validate(p, from_attributes=True) for p in d.participants],
        status=d.status,
        ballots=d.ballots,
        ballot_audit=[BallotAuditOut.model_validate(b, from_attributes=True) for b in d.ballot_audit],
        names=d.names,
        temporal_url=d.temporal_url,
    )


@router.post("/api/v1/staff/cases/{case_id}/intake", response_model=ActionResult, tags=["staff"], responses=ERRORS, dependencies=CSRF, summary="Accept or reject intake")
async def api_intake(ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId, body: IntakeIn):
    return ActionResult(message=await _json(console.review_intake(ctx, db, viewer.id, case_id, body.accept, body.panel, body.reason)))


@router.post("/api/v1/staff/cases/{case_id}/extend", response_model=ActionResult, tags=["staff"], responses=ERRORS, dependencies=CSRF, summary="Extend the ranking round")
async def api_extend(ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId, body: ExtendIn):
    return ActionResult(message=await _json(console.extend_ranking(ctx, db, viewer.id, case_id, body.days)))


@router.post(
    "/api/v1/staff/cases/{case_id}/close-ranking", response_model=ActionResult, tags=["staff"], responses=ERRORS, dependencies=CSRF, summary="Close the ranking round early"
)
async def api_close_ranking(ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId, body: ReasonIn):
    return ActionResult(message=await _json(console.close_ranking(ctx, db, viewer.id, case_id, body.reason)))


@router.post("/api/v1/staff/cases/{case_id}/new-panel", response_model=ActionResult, tags=["staff"], responses=ERRORS, dependencies=CSRF, summary="Propose a new panel")
async def api_new_panel(ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId, body: NewPanelIn):
    return ActionResult(message=await _json(console.propose_new_panel(ctx, db, viewer.id, case_id, body.panel)))


@router.post("/api/v1/staff/cases/{case_id}/withdraw", response_model=ActionResult, tags=["staff"], responses=ERRORS, dependencies=CSRF, summary="Withdraw the case")
async def api_withdraw(ctx: Ctx, db: Db, viewer: StaffViewer, case_id: PathId, body: ReasonIn):
    return ActionResult(message=await _json(console.withdraw(ctx, db, viewer.id, case_id, body.reason)))


@router.post(
    "/api/v1/staff/cases/{case_id}/participants",
    response_model=ActionResult,
    status_code=201,
    tags=["staff"], responses=ERRORS,
    dependencies=CSRF,
    summary="Add a party, representative or interested person",
)
async def api_add_participant(ctx: Ctx, viewer: StaffViewer, case_id: PathId, body: ParticipantIn):
    form = ParticipantForm(
        name=body.name.strip(), email=body.email.strip(), role=body.role, side=body.side or "", represents_id=body.represents_id, kind=body.kind or ""
    )
    return ActionResult(message=await _json(add_participant(ctx, case_id, form)))


@router.delete(
    "/api/v1/staff/cases/{case_id}/participants/{participant_id}",
    response_model=ActionResult,
    tags=["staff"], responses=ERRORS,
    dependencies=CSRF,
    summary="Remove a participant (not the mediator)",
)
async def api_remove_participant(ctx: Ctx, viewer: StaffViewer, case_id: PathId, participant_id: PathId):
    return ActionResult(message=await _json(remove_participant(ctx, case_id, participant_id)))


def _mediator_form(body: DirectoryEntryIn) -> MediatorForm:
    return MediatorForm(
        name=body.name.strip(),
        email=body.email.strip(),
        bio=body.bio.strip(),
        expertise=body.expertise.strip(),
        region=body.region.strip(),
        languages=body.languages.strip(),
        fee=body.fee.strip(),
        in_directory=body.in_directory,
    )


@router.get("/api/v1/staff/mediators", response_model=list[DirectoryEntryOut], tags=["staff"], responses=ERRORS, summary="The mediator directory")
async def api_mediators(db: Db, viewer: StaffViewer):
    return [DirectoryEntryOut.model_validate(m, from_attributes=True) for m in await console.directory(db)]


@router.post("/api/v1/staff/mediators", response_model=DirectoryEntryOut, status_code=201, tags=["staff"], responses=ERRORS, dependencies=CSRF, summary="Add a mediator")
async def api_add_mediator(ctx: Ctx, db: Db, viewer: StaffViewer, body: DirectoryEntryIn):
    return DirectoryEntryOut.model_validate(await _json(console.add_mediator(ctx, db, _mediator_form(body))), from_attributes=True)


@router.get("/api/v1/staff/mediators/{person_id}", response_model=DirectoryEntryOut, tags=["staff"], responses=ERRORS, summary="One directory entry")
async def api_mediator(db: Db, viewer: StaffViewer, person_id: PathId):
    return DirectoryEntryOut.model_validate(await _json(console.get_mediator(db, person_id)), from_attributes=True)


@router.put("/api/v1/staff/mediators/{person_id}", response_model=DirectoryEntryOut, tags=["staff"], responses=ERRORS, dependencies=CSRF, summary="Edit a directory entry")
async def api_edit_mediator(db: Db, viewer: StaffViewer, person_id: PathId, body: DirectoryEntryIn):
    return DirectoryEntryOut.model_validate(await _json(console.edit_mediator(db, person_id, _mediator_form(body))), from_attributes=True)


@router.get("/api/v1/staff/outbox", response_model=OutboxPageOut, tags=["staff"], responses=ERRORS, summary="The email outbox, newest first")
async def api_outbox(db: Db, viewer: StaffViewer, page: int = 1):
    listing = await console.outbox(db, page)
    return OutboxPageOut(
        items=[EmailSummaryOut.model_validate(e, from_attributes=True) for e in listing.items], page=listing.page, pages=listing.pages, total=listing.total
    )


@router.get("/api/v1/staff/outbox/{email_id}", response_model=EmailOut, tags=["staff"], responses=ERRORS, summary="One email with its text body")
async def api_outbox_email(db: Db, viewer: StaffViewer, email_id: PathId):
    return EmailOut.model_validate(await _json(console.outbox_email(db, email_id)), from_attributes=True)
