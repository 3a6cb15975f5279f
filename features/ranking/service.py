"""Submit Mediator Ranking: what a party (or its representative) sees of the panel and their own ballot, and
turning the page's form or the API's body into a ranking submission for the case workflow.

A ballot is only ever read for a party the viewer acts for; other parties' ballots never leave the workflow here.
"""

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from features.context import AppContext
from features.access import CaseAccess, Viewer
from core.inputs import is_id
from core.db.models import Case, MediatorProfile, Participant, Person
from features.cases.state import ballot_of, case_state
from features.lifecycle import ActionRejected, run_update
from workflows.case import CaseWorkflow
from core.case_state import CaseState
from workflows.types import BallotView, RankingReceipt, RankingSubmission
from core.stages import Stage

ELIMINATE = "eliminate"
NOT_FOR_YOU = "You can submit a ranking only for yourself or for a party you represent."
# Update ids are stored in workflow history; keep client-chosen parts short and plain.
KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


class NotAParty(Exception):
    """The viewer acts for no party of this case: the ranking does not exist for them (404)."""


class NotYourParty(Exception):
    """The viewer acts for some party of the case, but not the one asked for (403)."""

    def __init__(self) -> None:
        super().__init__(NOT_FOR_YOU)


class BallotProblem(Exception):
    """The submitted form cannot be read as a ballot; the message says what to fix."""


@dataclass
class MediatorCard:
    id: int
    full_name: str
    bio: str = ""
    expertise: str = ""
    region: str = ""
    languages: str = ""
    fee: str = ""


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
    stage: str
    stage_label: str
    ranking_round: int
    deadline: str | None
    max_eliminations: int
    panel: list[MediatorCard]
    ballot: BallotView | None
    status: CaseState
    # Mediator id -> "1".."n" or "eliminate": what the form shows selected.
    choices: dict[int, str] = field(default_factory=dict)

    @property
    def ranked_cards(self) -> list[MediatorCard]:
        ranked = [m for m in self.panel if self.choices.get(m.id, "") != ELIMINATE]
        return sorted(ranked, key=lambda m: (_rank_number(self.choices.get(m.id, "")), self.panel.index(m)))

    @property
    def eliminated_cards(self) -> list[MediatorCard]:
        return [m for m in self.panel if self.choices.get(m.id) == ELIMINATE]


def _rank_number(choice: str) -> int:
    return int(choice) if choice.isdigit() else 10_000


def new_form_nonce() -> str:
    return secrets.token_urlsafe(16)


def acting_party(access: CaseAccess, requested: int | None) -> int:
    """The party this submission or page is for: the one asked for, or the first the viewer acts for."""
    acts_for = list(dict.fromkeys(access.represented_party_ids))
    if not acts_for:
        raise NotAParty()
    if requested is None:
        return acts_for[0]
    if requested not in acts_for:
        raise NotYourParty()
    return requested


async def mediator_cards(db: AsyncSession, ids: list[int]) -> list[MediatorCard]:
    """Cards in the order of `ids` (the panel's order); a person missing from the directory still shows by name."""
    rows = (
        await db.execute(
            select(Person, MediatorProfile).outerjoin(MediatorProfile, MediatorProfile.person_id == Person.id).where(Person.id.in_(ids or [-1]))
        )
    ).all()
    found = {person.id: _card(person, profile) for person, profile in rows}
    return [found.get(i) or MediatorCard(id=i, full_name=f"Mediator #{i}") for i in ids]


def _card(person: Person, profile: MediatorProfile | None) -> MediatorCard:
    if profile is None:
        return MediatorCard(id=person.id, full_name=person.full_name)
    return MediatorCard(
        id=person.id,
        full_name=person.full_name,
        bio=profile.bio,
        expertise=profile.expertise,
        region=profile.region,
        languages=profile.languages,
        fee=profile.fee,
    )


def _closed_message(status: CaseState) -> str:
    if status.stage == Stage.INTAKE_REVIEW:
        return "The center has not proposed mediators for this case yet. You will get an email when it is time to rank them."
    if status.stage == Stage.AWAITING_NEW_PANEL:
        return "The center is preparing a new panel of mediators. You will get an email when it is time to rank them."
    return f"Mediator rankings are not open for this case right now (stage: {status.stage_label})."


async def ranking_view(ctx: AppContext, db: AsyncSession, access: CaseAccess, requested_party: int | None) -> RankingView:
    party_id = acting_party(access, requested_party)
    status = await case_state(db, access.case)
    is_open = status.stage == Stage.RANKING
    ballot = await ballot_of(db, status, party_id) if is_open else None
    submitted = {p.person_id: p.submitted for p in status.parties}
    acts_for_ids = list(dict.fromkeys(access.represented_party_ids))
    names = {p.id: p.full_name for p in (await db.execute(select(Person).where(Person.id.in_(acts_for_ids)))).scalars()}
    acts_for = [
        PartyChoice(id=i, full_name=names.get(i, f"Party #{i}"), is_self=i == access.viewer.id, submitted=submitted.get(i, False)) for i in acts_for_ids
    ]
    panel = await mediator_cards(db, status.panel) if is_open else []
    return RankingView(
        case_id=access.case.id,
        party=next(p for p in acts_for if p.id == party_id),
        acts_for=acts_for,
        is_open=is_open,
        closed_message="" if is_open else _closed_message(status),
        stage=status.stage,
        stage_label=status.stage_label,
        ranking_round=status.ranking_round,
        deadline=status.stage_deadline,
        max_eliminations=ctx.settings.max_eliminations,
        panel=panel,
        ballot=ballot,
        status=status,
        choices=choices_from_ballot(status.panel, ballot),
    )


def choices_from_ballot(panel: list[int], ballot: BallotView | None) -> dict[int, str]:
    """The form's starting point: the party's current ballot, or the panel in its proposed order."""
    if ballot is None:
        return {m: str(n) for n, m in enumerate(panel, start=1)}
    choices = {m: str(n) for n, m in enumerate(ballot.ranked, start=1)}
    choices.update({m: ELIMINATE for m in ballot.eliminated})
    return {m: choices.get(m, "") for m in panel}


def _ids(values: list[str], what: str) -> list[int]:
    ids = []
    for value in values:
        for part in str(value).replace(",", " ").split():
            if not part.isdigit() or not is_id(int(part)):
                raise BallotProblem(f"{what} must list mediator numbers; {part!r} is not one.")
            ids.append(int(part))
    return ids


def choices_from_form(form, panel: list[int]) -> dict[int, str]:
    """What the person picked, kept as typed so a refused form comes back as they left it."""
    if form.getlist("ranked") or form.getlist("eliminated"):
        ranked, eliminated = _ids(form.getlist("ranked"), "Ranked"), _ids(form.getlist("eliminated"), "Eliminated")
        choices = {m: str(n) for n, m in enumerate(ranked, start=1)}
        choices.update({m: ELIMINATE for m in eliminated})
        return {m: choices.get(m, "") for m in panel}
    return {m: str(form.get(f"choice_{m}", "")).strip().lower() for m in panel}


PANEL_CHANGED = "The panel has changed since this page was opened; please review the mediators below and submit again."


def ballot_from_form(form, view: RankingView) -> tuple[list[int], list[int]]:
    """Read either representation the page can send: ordered `ranked`/`eliminated` fields, or one
    `choice_<mediator id>` select per mediator (rank 1..n or "eliminate"), which is what works without JavaScript.

    How many eliminations are allowed is left to the workflow: it holds the rule the case was filed under."""
    submitted_round = str(form.get("ranking_round", "")).strip()
    if submitted_round and submitted_round != str(view.ranking_round):
        raise BallotProblem(PANEL_CHANGED)
    panel = view.panel
    names = {m.id: m.full_name for m in panel}
    if form.getlist("ranked") or form.getlist("eliminated"):
        ranked, eliminated = _ids(form.getlist("ranked"), "Ranked"), _ids(form.getlist("eliminated"), "Eliminated")
        if any(i not in names for i in ranked + eliminated):
            raise BallotProblem(PANEL_CHANGED)
        return ranked, eliminated

    stray = [k for k in form.keys() if k.startswith("choice_") and not (k[7:].isdigit() and int(k[7:]) in names)]
    if stray:
        raise BallotProblem(PANEL_CHANGED)
    by_rank: dict[int, list[int]] = {}
    eliminated: list[int] = []
    unchosen: list[str] = []
    for mediator in panel:
        choice = str(form.get(f"choice_{mediator.id}", "")).strip().lower()
        if choice == ELIMINATE:
            eliminated.append(mediator.id)
        elif choice.isdigit() and 1 <= int(choice) <= len(panel):
            by_rank.setdefault(int(choice), []).append(mediator.id)
        else:
            unchosen.append(mediator.full_name)
    if unchosen:
        raise BallotProblem(f"Choose a rank, or Eliminate, for every mediator; not chosen: {', '.join(unchosen)}.")
    shared = {rank: ids for rank, ids in by_rank.items() if len(ids) > 1}
    if shared:
        rank, ids = min(shared.items())
        raise BallotProblem(f"Each rank can be given to only one mediator; rank {rank} was given to {' and '.join(names[i] for i in ids)}.")
    expected = list(range(1, len(by_rank) + 1))
    if sorted(by_rank) != expected:
        missing = [n for n in expected if n not in by_rank]
        raise BallotProblem(
            f"Ranks must run 1 to {len(by_rank)} without gaps; nobody was given rank {', '.join(str(n) for n in missing)}."
        )
    return [by_rank[n][0] for n in expected], eliminated


def update_id(case_id: int, viewer: Viewer, party_id: int, key: str, source: str, ranking_round: int, ranked: list[int], eliminated: list[int]) -> str | None:
    """An update id that makes a repeated submission (double click, network retry) count once, and nothing else.

    Temporal answers a repeated update id with the first answer and applies nothing, so the id is scoped to all
    it protects: the viewer and party (one person's key never collides with another's), the ranking round (a key
    reused in a later round is a new ballot), and the ballot itself (the same key with another order is a revision,
    not a repeat)."""
    key = (key or "").strip()
    if not key:
        return None
    if not KEY_PATTERN.match(key):
        raise BallotProblem("The submission key must be 1 to 100 letters, digits, dots, dashes, underscores or colons.")
    ballot = hashlib.sha256(json.dumps([ranked, eliminated]).encode()).hexdigest()[:16]
    return f"ranking-{case_id}-r{ranking_round}-{party_id}-{viewer.id}-{source}-{key}-{ballot}"


async def submit_ranking(
    ctx: AppContext, access: CaseAccess, party_id: int | None, ranked: list[int], eliminated: list[int], key: str, source: str
) -> RankingReceipt:
    """Submit (or revise) the ballot for a party the viewer acts for; the workflow validator has the last word."""
    party = acting_party(access, party_id)
    ranking_round = access.case.ranking_round
    receipt = await run_update(ctx, access.case.id,
        CaseWorkflow.submit_ranking,
        RankingSubmission(actor_id=access.viewer.id, party_id=party, ranked=list(ranked), eliminated=list(eliminated)),
        update_id=update_id(access.case.id, access.viewer, party, key, source, ranking_round, list(ranked), list(eliminated)),
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


async def mediator_profile(db: AsyncSession, viewer: Viewer, mediator_id: int) -> MediatorCard | None:
    """The profile if this person may see it; None (shown as 404) otherwise, so the directory does not leak."""
    person = await db.get(Person, mediator_id)
    if person is None or not await may_view_mediator(db, viewer, mediator_id):
        return None
    profile = (await db.execute(select(MediatorProfile).where(MediatorProfile.person_id == mediator_id))).scalar_one_or_none()
    if profile is None:
        return None
    return _card(person, profile)
