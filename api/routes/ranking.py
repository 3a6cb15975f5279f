"""Submit Mediator Ranking and mediator profiles: the page and the JSON API, both doors to features/ranking."""

from typing import Annotated
from urllib.parse import urlencode

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
    UNTOUCHED_QUESTION,
    RankingView,
    choices_as_typed,
    draft_choices,
    draft_params,
    is_untouched_first_ballot,
    mediator_profile,
    new_form_nonce,
    ranking_view,
    receipt_notice,
    submit_ranking,
)

router = APIRouter(tags=["ranking"])

PartyQuery = Annotated[int | None, Query(ge=1, le=MAX_ID, description="The party to rank for, when you act for more than one.")]


async def _page(
    request: Request, db, access: CaseAccess, view: RankingView, problem: DomainError | None = None, ask_panel_order: bool = False, draft_kept: bool = False
) -> Response:
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
        untouched_question=UNTOUCHED_QUESTION,
        ask_panel_order=ask_panel_order,
        draft_kept=draft_kept,
    )


@router.get("/cases/{case_id}/ranking", include_in_schema=False)
async def ranking_page(request: Request, ctx: Ctx, db: Db, access: CaseInView, party: PartyQuery = None):
    view = await ranking_view(ctx, db, access, party)
    # Back from a mediator's profile without JavaScript: the board as the person left it, not as it was saved.
    draft = draft_choices(request.query_params, [m.id for m in view.panel]) if view.is_open else None
    if draft is not None:
        view.choices = draft
    return await _page(request, db, access, view, draft_kept=draft is not None)


def _profile_with_draft(case_id: int, party_id: int, mediator_id: int, form) -> str:
    return f"/mediators/{mediator_id}?" + urlencode([("case", case_id), ("party", party_id), *draft_params(form)])


@router.post("/cases/{case_id}/ranking", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def ranking_form(request: Request, ctx: Ctx, db: Db, access: CaseInView):
    form = await request.form()
    party = str(form.get("party_id", ""))
    view = await ranking_view(ctx, db, access, int(party) if party.isdigit() and int(party) <= MAX_ID else None)
    profile = str(form.get("view_profile", ""))
    if view.is_open and profile.isdigit() and int(profile) in view.names:
        # "View profile" without JavaScript: nothing is submitted; the arrangement goes along to the profile and back.
        return redirect(request, _profile_with_draft(access.case.id, view.party.id, int(profile), form))
    seen = str(form.get("ranking_round", ""))
    try:
        # With JavaScript the page sends the two lists; without it, one select per mediator.
        # A page left open after the round closed still sends its selects; the workflow answers that one itself.
        panel = view.names if view.is_open else {int(k[7:]): k for k in form if k.startswith("choice_") and k[7:].isdigit() and int(k[7:]) <= MAX_ID}
        ballot = await form_input(request, Ballot) if form.getlist("ranked") else Ballot.from_choices(form, panel)
        if view.is_open and is_untouched_first_ballot(view, ballot) and "yes" not in form.getlist("panel_order_confirmed"):
            # The board as proposed, never arranged: ask once before it counts (with JavaScript the page has asked).
            view.choices = choices_as_typed(form, [m.id for m in view.panel])
            return await _page(request, db, access, view, ask_panel_order=True)
        receipt = await submit_ranking(ctx, db, access, ballot, key=str(form.get("nonce", "")), source="form", seen_round=int(seen) if seen.isdigit() else None)
    except SHOWN_ON_THE_PAGE as problem:
        view.choices = choices_as_typed(form, [m.id for m in view.panel])
        return await _page(request, db, access, view, problem)
    return redirect(request, f"/cases/{access.case.id}", receipt_notice(receipt))


@router.get("/mediators/{person_id}", include_in_schema=False)
async def mediator_page(
    request: Request,
    db: Db,
    viewer: CurrentViewer,
    person_id: PathId,
    case: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    party: PartyQuery = None,
):
    mediator = await mediator_profile(db, viewer, person_id)
    back = None
    draft = draft_params(request.query_params)
    if case is not None:
        back = f"/cases/{case}/ranking"
        back_params = [("party", party)] if party is not None else []
        if back_params or draft:
            back += "?" + urlencode([*back_params, *draft])
    return render(request, "pages/mediator_profile.html", mediator=mediator, back_to_ranking=back, draft_kept=bool(draft))


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
        my_ballot=BallotOut(
            ranked=ballot.ranked,
            eliminated=ballot.eliminated,
            submitted_by_id=ballot.submitted_by_id,
            submitted_at=ballot.submitted_at,
            fingerprint=ballot.fingerprint,
        )
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
    return ReceiptOut(
        ranking_round=receipt.ranking_round,
        revision=receipt.revision,
        unchanged=receipt.unchanged,
        waiting_for_count=len(receipt.waiting_for),
        fingerprint=receipt.fingerprint,
    )


@router.get("/api/v1/mediators/{person_id}", response_model=MediatorOut, responses=documented(401, 404))
async def get_mediator(db: Db, viewer: CurrentViewer, person_id: PathId) -> MediatorOut:
    """A mediator's profile, for anyone on a case where they are proposed, checking for conflicts, or serving."""
    return await mediator_profile(db, viewer, person_id)
