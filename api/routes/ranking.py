"""Submit Mediator Ranking (page and JSON API) and mediator profiles."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from pydantic import BaseModel, Field

from api.deps import CaseAccess, CaseInView, csrf_protect, Ctx, CurrentViewer, Db, PathId
from api.pages import redirect, render
from core.inputs import MAX_ID, Id, is_id
from core.case_facts import case_titles
from features.lifecycle import ActionRejected
from features.ranking.service import (
    BallotProblem,
    MediatorCard,
    NotAParty,
    NotYourParty,
    RankingView,
    ballot_from_form,
    choices_from_form,
    mediator_profile,
    new_form_nonce,
    ranking_view,
    receipt_notice,
    submit_ranking,
)

router = APIRouter(tags=["ranking"])


async def _view(ctx, db, access: CaseAccess, party: int | None) -> RankingView:
    try:
        return await ranking_view(ctx, db, access, party)
    except NotAParty:
        raise HTTPException(status_code=404, detail="No such case.") from None
    except NotYourParty as error:
        raise HTTPException(status_code=403, detail=str(error)) from None


async def _page(request: Request, db, access: CaseAccess, view: RankingView, status_code: int = 200, error: str = ""):
    titles = await case_titles(db, [access.case.id])
    options = [str(n) for n in range(1, len(view.panel) + 1)]
    return render(
        request,
        "pages/ranking.html",
        status_code=status_code,
        case=access.case,
        title=titles[access.case.id],
        status=view.status,
        access=access,
        view=view,
        options=options,
        nonce=new_form_nonce(),
        error=error,
    )


def _party_param(value) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    if not text.isdigit() or not is_id(int(text)):
        raise HTTPException(status_code=422, detail="party must be the number of a party on this case.")
    return int(text)


@router.get("/cases/{case_id}/ranking", include_in_schema=False)
async def ranking_page(request: Request, ctx: Ctx, db: Db, access: CaseInView):
    view = await _view(ctx, db, access, _party_param(request.query_params.get("party")))
    return await _page(request, db, access, view)


@router.post("/cases/{case_id}/ranking", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def ranking_form(request: Request, ctx: Ctx, db: Db, access: CaseInView):
    form = await request.form()
    view = await _view(ctx, db, access, _party_param(form.get("party_id")))
    if not view.is_open:
        return await _page(request, db, access, view, status_code=409, error=view.closed_message)
    try:
        ranked, eliminated = ballot_from_form(form, view)
        receipt = await submit_ranking(ctx, access, view.party.id, ranked, eliminated, key=str(form.get("nonce", "")), source="form")
    except (BallotProblem, ActionRejected) as problem:
        view.choices = choices_from_form(form, [m.id for m in view.panel])
        return await _page(request, db, access, view, status_code=422 if isinstance(problem, BallotProblem) else 409, error=str(problem))
    return redirect(f"/cases/{access.case.id}", receipt_notice(receipt))


@router.get("/mediators/{person_id}", include_in_schema=False)
async def mediator_page(request: Request, db: Db, viewer: CurrentViewer, person_id: PathId):
    card = await mediator_profile(db, viewer, person_id)
    if card is None:
        raise HTTPException(status_code=404, detail="No such mediator.")
    back = request.query_params.get("case", "")
    return render(request, "pages/mediator_profile.html", mediator=card, back_case=int(back) if back.isdigit() and is_id(int(back)) else None)


# ---- JSON API ----------------------------------------------------------------------------------


class MediatorOut(BaseModel):
    id: int
    full_name: str
    bio: str
    expertise: str
    region: str
    languages: str
    fee: str

    @classmethod
    def of(cls, card: MediatorCard) -> "MediatorOut":
        return cls(**card.__dict__)


class PartyOut(BaseModel):
    id: int
    full_name: str
    is_self: bool = Field(description="True when this party is the signed-in person; false when they act as a representative.")
    submitted: bool


class BallotOut(BaseModel):
    ranked: list[int] = Field(description="Mediator ids in order of preference.")
    eliminated: list[int]
    submitted_by_id: int
    submitted_at: str


class RankingOut(BaseModel):
    case_id: int
    party_id: int = Field(description="The party this ranking is for.")
    acts_for: list[PartyOut] = Field(description="Every party the signed-in person may rank for.")
    open: bool
    message: str = Field(description="Why ranking is not open, when it is not.")
    stage: str
    ranking_round: int
    deadline: str | None
    max_eliminations: int
    panel: list[MediatorOut]
    my_ballot: BallotOut | None = Field(description="This party's current ballot, if submitted this round.")


class RankingIn(BaseModel):
    party_id: Id | None = Field(None, description="The party to rank for; defaults to the first party the signed-in person acts for.")
    ranked: list[Id] = Field(description="Mediator ids in order of preference.", max_length=50)
    eliminated: list[Id] = Field(default_factory=list, max_length=50)


class ReceiptOut(BaseModel):
    ranking_round: int
    revision: bool = Field(description="True when this replaced an earlier ballot of this round.")
    unchanged: bool = Field(description="True when the ballot was identical to the one already submitted.")
    waiting_for_count: int = Field(description="How many parties have not ranked yet.")


@router.get("/api/v1/cases/{case_id}/ranking", response_model=RankingOut)
async def ranking_json(ctx: Ctx, db: Db, access: CaseInView, party: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> RankingOut:
    view = await _view(ctx, db, access, party)
    ballot = view.ballot
    return RankingOut(
        case_id=view.case_id,
        party_id=view.party.id,
        acts_for=[PartyOut(**p.__dict__) for p in view.acts_for],
        open=view.is_open,
        message=view.closed_message,
        stage=view.stage,
        ranking_round=view.ranking_round,
        deadline=view.deadline,
        max_eliminations=view.max_eliminations,
        panel=[MediatorOut.of(m) for m in view.panel],
        my_ballot=BallotOut(ranked=ballot.ranked, eliminated=ballot.eliminated, submitted_by_id=ballot.submitted_by_id, submitted_at=ballot.submitted_at)
        if ballot
        else None,
    )


@router.put("/api/v1/cases/{case_id}/ranking", response_model=ReceiptOut, dependencies=[Depends(csrf_protect)])
async def submit_ranking_json(
    body: RankingIn,
    ctx: Ctx,
    access: CaseInView,
    idempotency_key: Annotated[str | None, Header(description="Repeat a request with the same key and it counts once.")] = None,
) -> ReceiptOut:
    try:
        receipt = await submit_ranking(ctx, access, body.party_id, body.ranked, body.eliminated, key=idempotency_key or "", source="api")
    except NotAParty:
        raise HTTPException(status_code=404, detail="No such case.") from None
    except NotYourParty as error:
        raise HTTPException(status_code=403, detail=str(error)) from None
    except BallotProblem as problem:
        raise HTTPException(status_code=422, detail=str(problem)) from None
    return ReceiptOut(
        ranking_round=receipt.ranking_round, revision=receipt.revision, unchanged=receipt.unchanged, waiting_for_count=len(receipt.waiting_for)
    )


@router.get("/api/v1/mediators/{person_id}", response_model=MediatorOut)
async def mediator_json(db: Db, viewer: CurrentViewer, person_id: PathId) -> MediatorOut:
    card = await mediator_profile(db, viewer, person_id)
    if card is None:
        raise HTTPException(status_code=404, detail="No such mediator.")
    return MediatorOut.of(card)
