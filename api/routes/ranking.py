"""Submit Mediator Ranking and mediator profiles: the page and the JSON API, both doors to features/ranking."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response

from api.deps import CaseAccess, CaseInView, Ctx, CurrentViewer, Db, PathId, csrf_protect
from api.errors import documented, status_of
from api.forms import SHOWN_ON_THE_PAGE, form_input
from api.pages import redirect, render
from core.case_facts import case_titles
from core.errors import DomainError
from core.inputs import MAX_ID
from features.ranking.models import Ballot, BallotOut, MediatorOut, PartyOut, RankingOut, ReceiptOut
from features.ranking.service import (
    RankingView,
    choices_as_typed,
    mediator_profile,
    new_form_nonce,
    ranking_view,
    receipt_notice,
    submit_ranking,
)

router = APIRouter(tags=["ranking"])

PartyQuery = Annotated[int | None, Query(ge=1, le=MAX_ID, description="The party to rank for, when you act for more than one.")]


async def _page(request: Request, db, access: CaseAccess, view: RankingView, problem: DomainError | None = None) -> Response:
    titles = await case_titles(db, [access.case.id])
    return render(
        request,
        "pages/ranking.html",
        status_code=status_of(problem) if problem else 200,
        case=access.case,
        title=titles[access.case.id],
        access=access,
        status=view.state,
        view=view,
        options=[str(n) for n in range(1, len(view.panel) + 1)],
        nonce=new_form_nonce(),
        error=problem.message if problem else "",
    )


@router.get("/cases/{case_id}/ranking", include_in_schema=False)
async def ranking_page(request: Request, ctx: Ctx, db: Db, access: CaseInView, party: PartyQuery = None):
    return await _page(request, db, access, await ranking_view(ctx, db, access, party))


@router.post("/cases/{case_id}/ranking", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def ranking_form(request: Request, ctx: Ctx, db: Db, access: CaseInView):
    form = await request.form()
    party = str(form.get("party_id", ""))
    view = await ranking_view(ctx, db, access, int(party) if party.isdigit() and int(party) <= MAX_ID else None)
    seen = str(form.get("ranking_round", ""))
    try:
        # With JavaScript the page sends the two lists; without it, one select per mediator.
        # A page left open after the round closed still sends its selects; the workflow answers that one itself.
        panel = view.names if view.is_open else {int(k[7:]): k for k in form if k.startswith("choice_") and k[7:].isdigit() and int(k[7:]) <= MAX_ID}
        ballot = await form_input(request, Ballot) if form.getlist("ranked") else Ballot.from_choices(form, panel)
        receipt = await submit_ranking(ctx, db, access, ballot, key=str(form.get("nonce", "")), source="form", seen_round=int(seen) if seen.isdigit() else None)
    except SHOWN_ON_THE_PAGE as problem:
        view.choices = choices_as_typed(form, [m.id for m in view.panel])
        return await _page(request, db, access, view, problem)
    return redirect(request, f"/cases/{access.case.id}", receipt_notice(receipt))


@router.get("/mediators/{person_id}", include_in_schema=False)
async def mediator_page(request: Request, db: Db, viewer: CurrentViewer, person_id: PathId, case: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None):
    return render(request, "pages/mediator_profile.html", mediator=await mediator_profile(db, viewer, person_id), back_case=case)


# ---- JSON API ----------------------------------------------------------------------------------


@router.get("/api/v1/cases/{case_id}/ranking", response_model=RankingOut, responses=documented(401, 403, 404))
async def get_ranking(ctx: Ctx, db: Db, access: CaseInView, party: PartyQuery = None) -> RankingOut:
    """The panel to rank and your own ballot of this round, for you or a party you represent."""
    view = await ranking_view(ctx, db, access, party)
    ballot = view.ballot
    return RankingOut(
        case_id=view.case_id,
        party_id=view.party.id,
        acts_for=[PartyOut(**p.__dict__) for p in view.acts_for],
        open=view.is_open,
        message=view.closed_message,
        stage=view.state.stage,
        ranking_round=view.state.ranking_round,
        deadline=view.state.stage_deadline,
        max_eliminations=view.max_eliminations,
        panel=view.panel,
        my_ballot=BallotOut(ranked=ballot.ranked, eliminated=ballot.eliminated, submitted_by_id=ballot.submitted_by_id, submitted_at=ballot.submitted_at)
        if ballot
        else None,
    )


@router.put(
    "/api/v1/cases/{case_id}/ranking",
    response_model=ReceiptOut,
    dependencies=[Depends(csrf_protect)],
    responses=documented(401, 403, 404, 409, 422, 503),
)
async def put_ranking(
    body: Ballot,
    ctx: Ctx,
    db: Db,
    access: CaseInView,
    idempotency_key: Annotated[str | None, Header(description="Repeat a request with the same key and it counts once.")] = None,
) -> ReceiptOut:
    """Submit or revise your ranking. An invalid ballot is 422; a round that is not open is 409."""
    receipt = await submit_ranking(ctx, db, access, body, key=idempotency_key or "", source="api")
    return ReceiptOut(ranking_round=receipt.ranking_round, revision=receipt.revision, unchanged=receipt.unchanged, waiting_for_count=len(receipt.waiting_for))


@router.get("/api/v1/mediators/{person_id}", response_model=MediatorOut, responses=documented(401, 404))
async def get_mediator(db: Db, viewer: CurrentViewer, person_id: PathId) -> MediatorOut:
    """A mediator's profile, for anyone on a case where they are proposed, checking for conflicts, or serving."""
    return await mediator_profile(db, viewer, person_id)
