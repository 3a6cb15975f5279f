"""The mediator's screens: the conflict check, and the case page for fee deposit, scheduling and closing."""

from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from sqlalchemy import select

from api.deps import CaseAccess, csrf_protect, Ctx, CurrentViewer, Db, PathId, Viewer
from api.pages import redirect, render
from core.db.models import Participant
from features.mediator import service
from features.lifecycle import ActionRejected
from core.stages import OUTCOMES

router = APIRouter(tags=["mediator"])


@contextmanager
def access_errors():
    """The service's refusals as HTTP errors; shared with the JSON API so both answer alike."""
    try:
        yield
    except service.CaseHidden:
        raise HTTPException(status_code=404, detail="No such case.") from None
    except service.NotAllowed as refusal:
        raise HTTPException(status_code=403, detail=str(refusal)) from None


async def _render_conflict_check(request: Request, ctx, db, case_id: int, viewer: Viewer, status_code: int = 200, error: str = "", reason: str = ""):
    with access_errors():
        brief = await service.conflict_check_brief(ctx, db, case_id, viewer.person)
    return render(request, "pages/conflict_check.html", status_code=status_code, brief=brief, case=brief.case, error=error, reason=reason)


@router.get("/cases/{case_id}/conflict-check", include_in_schema=False)
async def conflict_check_page(request: Request, ctx: Ctx, db: Db, viewer: CurrentViewer, case_id: PathId):
    return await _render_conflict_check(request, ctx, db, case_id, viewer)


@router.post("/cases/{case_id}/conflict-check", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def answer_conflict_check(
    request: Request,
    ctx: Ctx,
    db: Db,
    viewer: CurrentViewer,
    case_id: PathId,
    decision: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
):
    if decision not in ("accept", "decline"):
        return await _render_conflict_check(request, ctx, db, case_id, viewer, 422, "Choose to accept the case or to decline it.", reason)
    try:
        with access_errors():
            await service.answer_conflict_check(ctx, db, case_id, viewer.person, decision == "accept", reason)
    except service.InvalidAction as problem:
        return await _render_conflict_check(request, ctx, db, case_id, viewer, 422, str(problem), reason)
    except ActionRejected as refusal:
        return await _render_conflict_check(request, ctx, db, case_id, viewer, 409, str(refusal), reason)
    if decision == "accept":
        return redirect(request, f"/cases/{case_id}", "Thank you: you have accepted this case. The parties have been told you are their mediator.")
    # A mediator who declines takes no part in the case, so its Case Home is not theirs to open.
    return redirect(request, "/cases", f"Thank you: you declined case {case_id} for a conflict. The center will ask the next mediator.")


async def _render_mediator_page(request: Request, ctx, db, case_id: int, viewer: Viewer, status_code: int = 200, error: str = "", note: str = ""):
    with access_errors():
        brief = await service.mediator_brief(ctx, db, case_id, viewer.person)
    roles = list((await db.execute(select(Participant).where(Participant.case_id == case_id, Participant.person_id == viewer.id))).scalars())
    return render(
        request,
        "pages/mediator_case.html",
        status_code=status_code,
        brief=brief,
        case=brief.case,
        status=brief.status,
        access=CaseAccess(case=brief.case, viewer=viewer, roles=roles),
        outcomes=[(o, service.OUTCOME_LABELS[o]) for o in OUTCOMES],
        outcome_labels=service.OUTCOME_LABELS,
        error=error,
        note=note,
    )


@router.get("/cases/{case_id}/mediator", include_in_schema=False)
async def mediator_page(request: Request, ctx: Ctx, db: Db, viewer: CurrentViewer, case_id: PathId):
    return await _render_mediator_page(request, ctx, db, case_id, viewer)


async def _act(request: Request, ctx, db, case_id: int, viewer: Viewer, action, done: str, note: str = ""):
    try:
        with access_errors():
            await action()
    except service.InvalidAction as problem:
        return await _render_mediator_page(request, ctx, db, case_id, viewer, 422, str(problem), note)
    except ActionRejected as refusal:
        return await _render_mediator_page(request, ctx, db, case_id, viewer, 409, str(refusal), note)
    return redirect(request, f"/cases/{case_id}/mediator", done)


@router.post("/cases/{case_id}/mediator/fee-deposit", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def fee_deposit(request: Request, ctx: Ctx, db: Db, viewer: CurrentViewer, case_id: PathId):
    action = lambda: service.record_fee_deposit(ctx, db, case_id, viewer.person)  # noqa: E731
    return await _act(request, ctx, db, case_id, viewer, action, "The fee deposit is recorded as collected.")


@router.post("/cases/{case_id}/mediator/scheduled", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def scheduled(request: Request, ctx: Ctx, db: Db, viewer: CurrentViewer, case_id: PathId):
    action = lambda: service.record_scheduled(ctx, db, case_id, viewer.person)  # noqa: E731
    return await _act(request, ctx, db, case_id, viewer, action, "The mediation is recorded as scheduled.")


@router.post("/cases/{case_id}/mediator/close", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def close(
    request: Request,
    ctx: Ctx,
    db: Db,
    viewer: CurrentViewer,
    case_id: PathId,
    outcome: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
):
    return await _act(
        request,
        ctx,
        db,
        case_id,
        viewer,
        lambda: service.close_case(ctx, db, case_id, viewer.person, outcome, note),
        "The case is closed. Everyone on the case has been told its outcome.",
        note,
    )
