"""Submit Mediator Ranking: what a party (or its representative) sees of the panel and of their own ballot, and
the one action, `submit_ranking`, behind both the page and the JSON API.

A ballot is only ever read for a party the viewer acts for; other parties' ballots are for staff alone.
"""

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.case_state import CaseState
from core.db.models import Case, MediatorProfile, Participant, Person
from core.errors import Forbidden, Invalid, NotFound
from core.stages import Stage
from features.access import CaseAccess, Viewer
from features.cases.state import ballot_of, case_state
from features.context import AppContext
from features.lifecycle import ActionRejected, run_update
from features.ranking.models import ELIMINATE, PANEL_CHANGED, Ballot, MediatorOut
from workflows.case import CaseWorkflow
from workflows.types import BallotView, RankingReceipt, RankingSubmission

NOT_FOR_YOU = "You can submit a ranking only for yourself or for a party you represent."
NO_SUCH_CASE = "No such case."
# Update ids are stored in workflow history; keep client-chosen parts short and plain.
KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


@dataclass
class PartyChoice:
    id: int
    full_name: str
    is_self: bool
    submitted: bool


@dataclass
class RankingView:
    case_id: int
    party: PartyChoice
    acts_for: list[PartyChoice]
    is_open: bool
    closed_message: str
    state: CaseState
    max_eliminations: int
    panel: list[MediatorOut]
    ballot: BallotView | None
    # Mediator id -> "1".."n" or "eliminate": what the form shows selected.
    choices: dict[int, str] = field(default_factory=dict)

    @property
    def ranked_cards(self) -> list[MediatorOut]:
        ranked = [m for m in self.panel if self.choices.get(m.id, "") != ELIMINATE]
        return sorted(ranked, key=lambda m: (_rank_number(self.choices.get(m.id, "")), self.panel.index(m)))

    @property
    def eliminated_cards(self) -> list[MediatorOut]:
        return [m for m in self.panel if self.choices.get(m.id) == ELIMINATE]

    @property
    def names(self) -> dict[int, str]:
        return {m.id: m.full_name for m in self.panel}


def _rank_number(choice: str) -> int:
    return int(choice) if choice.isdigit() else 10_000


def new_form_nonce() -> str:
    return secrets.token_urlsafe(16)


def acting_party(access: CaseAccess, requested: int | None) -> int:
    """The party this submission or page is for: the one asked for, or the first the viewer acts for."""
    acts_for = list(dict.fromkeys(access.represented_party_ids))
    if not acts_for:
        # Nobody this person acts for is on the case: for them there is no ranking, as there is no such case.
        raise NotFound(NO_SUCH_CASE)
    if requested is None:
        return acts_for[0]
    if requested not in acts_for:
        raise Forbidden(NOT_FOR_YOU)
    return requested


async def mediator_cards(db: AsyncSession, ids: list[int]) -> list[MediatorOut]:
    """Cards in the order of `ids` (the panel's order); a person missing from the directory still shows by name."""
    rows = (
        await db.execute(select(Person, MediatorProfile).outerjoin(MediatorProfile, MediatorProfile.person_id == Person.id).where(Person.id.in_(ids or [-1])))
    ).all()
    found = {person.id: _card(person, profile) for person, profile in rows}
    return [found.get(i) or MediatorOut(id=i, full_name=f"Mediator #{i}") for i in ids]


def _card(person: Person, profile: MediatorProfile | None) -> MediatorOut:
    if profile is None:
        return MediatorOut(id=person.id, full_name=person.full_name)
    return MediatorOut(
        id=person.id,
        full_name=person.full_name,
        bio=profile.bio,
        expertise=profile.expertise,
        region=profile.region,
        languages=profile.languages,
        fee=profile.fee,
    )


def _closed_message(state: CaseState) -> str:
    if state.stage == Stage.INTAKE_REVIEW:
        return "The center has not proposed mediators for this case yet. You will get an email when it is time to rank them."
    if state.stage == Stage.AWAITING_NEW_PANEL:
        return "The center is preparing a new panel of mediators. You will get an email when it is time to rank them."
    return f"Mediator rankings are not open for this case right now (stage: {state.stage_label})."


async def ranking_view(ctx: AppContext, db: AsyncSession, access: CaseAccess, requested_party: int | None) -> RankingView:
    party_id = acting_party(access, requested_party)
    state = await case_state(db, access.case)
    is_open = state.stage == Stage.RANKING
    ballot = await ballot_of(db, state, party_id) if is_open else None
    submitted = {p.person_id: p.submitted for p in state.parties}
    acts_for_ids = list(dict.fromkeys(access.represented_party_ids))
    names = {p.id: p.full_name for p in (await db.execute(select(Person).where(Person.id.in_(acts_for_ids)))).scalars()}
    acts_for = [
        PartyChoice(id=i, full_name=names.get(i, f"Party #{i}"), is_self=i == access.viewer.id, submitted=submitted.get(i, False)) for i in acts_for_ids
    ]
    return RankingView(
        case_id=access.case.id,
        party=next(p for p in acts_for if p.id == party_id),
        acts_for=acts_for,
        is_open=is_open,
        closed_message="" if is_open else _closed_message(state),
        state=state,
        max_eliminations=ctx.settings.max_eliminations,
        panel=await mediator_cards(db, state.panel) if is_open else [],
        ballot=ballot,
        choices=choices_from_ballot(state.panel, ballot),
    )


def choices_from_ballot(panel: list[int], ballot: BallotView | None) -> dict[int, str]:
    """The form's starting point: the party's current ballot, or the panel in its proposed order."""
    if ballot is None:
        return {m: str(n) for n, m in enumerate(panel, start=1)}
    choices = {m: str(n) for n, m in enumerate(ballot.ranked, start=1)}
    choices.update(dict.fromkeys(ballot.eliminated, ELIMINATE))
    return {m: choices.get(m, "") for m in panel}


def choices_as_typed(form, panel: list[int]) -> dict[int, str]:
    """What the person picked on the page, kept as typed so a refused form comes back as they left it."""
    return {m: str(form.get(f"choice_{m}", "")).strip().lower()[:DRAFT_VALUE_LIMIT] for m in panel}


# A draft travels in the address (board → profile → board without JavaScript): a rank or "eliminate" per mediator.
DRAFT_KEY = re.compile(r"^choice_[0-9]{1,10}$")
DRAFT_VALUE_LIMIT = 12
DRAFT_SIZE_LIMIT = 50


def draft_params(params) -> list[tuple[str, str]]:
    """The arrangement carried in a form or an address (`choice_<mediator id>` = a rank or "eliminate"), bounded,
    to be handed on to the next page as it was."""
    found = [(k, str(v).strip().lower()[:DRAFT_VALUE_LIMIT]) for k, v in params.multi_items() if DRAFT_KEY.match(k)]
    return found[:DRAFT_SIZE_LIMIT]


def draft_choices(params, panel: list[int]) -> dict[int, str] | None:
    """The arrangement a person left the board with to read a profile, or None when the address carries none."""
    if not draft_params(params):
        return None
    return choices_as_typed(params, panel)


UNTOUCHED_QUESTION = "You have not changed the order. Submit the panel order as your ranking?"


def is_untouched_first_ballot(view: RankingView, ballot: Ballot) -> bool:
    """A first ballot that is the panel exactly as proposed: most likely a board nobody arranged. It counts only
    once the person says so (a revision is never asked about: it replaces a ballot they did arrange)."""
    return view.ballot is None and not ballot.eliminated and list(ballot.ranked) == [m.id for m in view.panel]


def update_id(case_id: int, viewer: Viewer, party_id: int, key: str, source: str, ranking_round: int, ballot: Ballot) -> str | None:
    """An update id that makes a repeated submission (double click, network retry) count once, and nothing else.

    Temporal answers a repeated update id with the first answer and applies nothing, so the id is scoped to all
    it protects: the viewer and party (one person's key never collides with another's), the ranking round (a key
    reused in a later round is a new ballot), and the ballot itself (the same key with another order is a revision,
    not a repeat)."""
    key = (key or "").strip()
    if not key:
        return None
    if not KEY_PATTERN.match(key):
        message = "The submission key must be 1 to 100 letters, digits, dots, dashes, underscores or colons."
        raise Invalid(message, {"Idempotency-Key": message})
    digest = hashlib.sha256(json.dumps([ballot.ranked, ballot.eliminated]).encode()).hexdigest()[:16]
    return f"ranking-{case_id}-r{ranking_round}-{party_id}-{viewer.id}-{source}-{key}-{digest}"


async def submit_ranking(
    ctx: AppContext, db: AsyncSession, access: CaseAccess, ballot: Ballot, key: str = "", source: str = "api", seen_round: int | None = None
) -> RankingReceipt:
    """Submit (or revise) the ballot for a party the viewer acts for; the workflow's validator has the last word
    (the round open, the ballot complete, the eliminations allowed). `seen_round` is the round the page showed."""
    party = acting_party(access, ballot.party_id)
    ranking_round = access.case.ranking_round
    if seen_round is not None and seen_round != ranking_round:
        raise Invalid(PANEL_CHANGED, {"ranked": PANEL_CHANGED})
    receipt: RankingReceipt = await run_update(
        ctx,
        access.case.id,
        CaseWorkflow.submit_ranking,
        RankingSubmission(actor_id=access.viewer.id, party_id=party, ranked=list(ballot.ranked), eliminated=list(ballot.eliminated)),
        update_id=update_id(access.case.id, access.viewer, party, key, source, ranking_round, ballot),
        db=db,
    )
    if receipt.ranking_round < ranking_round:
        # An answer for an earlier round is a repeat of an old ballot, not this one, which was not applied.
        raise ActionRejected("The ranking round changed while you were ranking; please review the mediators and submit again.")
    return receipt


def receipt_notice(receipt: RankingReceipt) -> str:
    if receipt.unchanged:
        said = "Your ranking was already submitted; nothing changed."
    elif receipt.revision:
        said = "Your ranking was revised."
    else:
        said = "Your ranking was submitted."
    if receipt.fingerprint and not receipt.unchanged:
        said += f" Its fingerprint is {receipt.fingerprint}; a receipt is on its way by email."
    waiting = len(receipt.waiting_for)
    if waiting:
        return f"{said} The center is waiting for {waiting} more part{'y' if waiting == 1 else 'ies'} to rank."
    return f"{said} All parties have ranked; the center will notify everyone of the selected mediator."


async def may_view_mediator(db: AsyncSession, viewer: Viewer, mediator_id: int) -> bool:
    """Staff, the mediator themself, and anyone on a case where this mediator is proposed, checking, or serving."""
    if viewer.is_staff or viewer.id == mediator_id:
        return True
    cases = (
        await db.execute(
            select(Case.panel, Case.candidate_mediator_id, Case.mediator_id).where(
                Case.id.in_(select(Participant.case_id).where(Participant.person_id == viewer.id))
            )
        )
    ).all()
    return any(mediator_id in (panel or []) or mediator_id in (candidate, serving) for panel, candidate, serving in cases)


async def mediator_profile(db: AsyncSession, viewer: Viewer, mediator_id: int) -> MediatorOut:
    """The profile if this person may see it; otherwise the same 404 as for nobody, so the directory does not leak."""
    person = await db.get(Person, mediator_id)
    profile = (await db.execute(select(MediatorProfile).where(MediatorProfile.person_id == mediator_id))).scalar_one_or_none()
    if person is None or profile is None or not await may_view_mediator(db, viewer, mediator_id):
        raise NotFound("No such mediator.")
    return _card(person, profile)
