"""The mediator's part of a case: the conflict check, then the fee deposit, scheduling and closing.

Who may see what is decided here from the workflow's status (the source of truth), not from the
database mirror, which an activity writes a moment later. The pages and the JSON API both call these.
"""

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from features.context import AppContext
from core.db.models import Case, Participant, Person
from core.case_facts import case_titles
from features.cases.state import case_state, state_after
from features.lifecycle import run_update
from workflows.case import CaseWorkflow
from core.case_state import CaseState
from workflows.types import CaseClosure, ConflictDecision, MediatorMilestone
from core.stages import OUTCOMES, Stage

MAX_REASON = 2000
MAX_NOTE = 5000
OUTCOME_LABELS = {"settled": "Settled", "not_settled": "Not settled", "withdrawn": "Withdrawn"}


class CaseHidden(Exception):
    """This person must not learn that the case exists (shown as 404)."""


class NotAllowed(Exception):
    """This person is on the case but may not do this (shown as 403)."""


class InvalidAction(Exception):
    """The input cannot be acted on; the message says what to change (shown as 422)."""


@dataclass
class PartyLine:
    person_id: int
    name: str
    side: str
    representatives: list[str] = field(default_factory=list)
    email: str = ""


@dataclass
class CaseBrief:
    """What a mediator reads about a case: the Request to Mediate, who is on it, and where it stands."""

    case: Case
    title: str
    parties: list[PartyLine]
    status: CaseState


async def _parties(db: AsyncSession, case_id: int, with_contact: bool) -> list[PartyLine]:
    rows = (
        await db.execute(
            select(Participant, Person).join(Person, Person.id == Participant.person_id).where(Participant.case_id == case_id).order_by(Participant.id)
        )
    ).all()
    parties = {
        person.id: PartyLine(
            person_id=person.id,
            name=person.full_name,
            side=participant.side or "initiating",
            email=person.email if with_contact and not person.contact_hidden else "",
        )
        for participant, person in rows
        if participant.role == "party"
    }
    for participant, person in rows:
        if participant.role == "representative" and participant.represents_id in parties:
            kind = f" ({participant.representative_kind})" if participant.representative_kind else ""
            parties[participant.represents_id].representatives.append(f"{person.full_name}{kind}")
    return list(parties.values())


async def _brief(db: AsyncSession, case: Case, status: CaseState, with_contact: bool) -> CaseBrief:
    titles = await case_titles(db, [case.id])
    return CaseBrief(case=case, title=titles[case.id], parties=await _parties(db, case.id, with_contact), status=status)


async def _case_and_status(ctx: AppContext, db: AsyncSession, case_id: int) -> tuple[Case, CaseState]:
    case = await db.get(Case, case_id)
    if case is None:
        raise CaseHidden()
    return case, await case_state(db, case)


# ---- the conflict check --------------------------------------------------------------------------


def is_asked(status: CaseState, person_id: int) -> bool:
    return status.stage == Stage.CONFLICT_CHECK and status.candidate_mediator_id == person_id


async def _asked(ctx: AppContext, db: AsyncSession, case_id: int, person: Person) -> tuple[Case, CaseState]:
    # Nobody else, not even staff, needs this: a mediator who was not selected must not learn about the case.
    case, status = await _case_and_status(ctx, db, case_id)
    if not is_asked(status, person.id):
        raise CaseHidden()
    return case, status


async def conflict_check_brief(ctx: AppContext, db: AsyncSession, case_id: int, person: Person) -> CaseBrief:
    """The case summary for the mediator asked to check for conflicts."""
    case, status = await _asked(ctx, db, case_id, person)
    return await _brief(db, case, status, with_contact=False)


async def answer_conflict_check(ctx: AppContext, db: AsyncSession, case_id: int, person: Person, accept: bool, reason: str) -> CaseState:
    """Accept the case, or decline it for a conflict (with the reason). Returns the status after the answer."""
    await _asked(ctx, db, case_id, person)
    reason = reason.strip()
    if not accept and not reason:
        raise InvalidAction("Say briefly why you must decline (the nature of the conflict).")
    if len(reason) > MAX_REASON:
        raise InvalidAction(f"Keep the reason under {MAX_REASON:,} characters.")
    case = await db.get(Case, case_id)
    answer = await run_update(ctx, case_id, CaseWorkflow.decide_conflict, ConflictDecision(actor_id=person.id, accept=accept, reason=reason))
    return await state_after(db, case, answer)


async def is_participant(db: AsyncSession, case_id: int, person_id: int) -> bool:
    found = await db.scalar(select(Participant.id).where(Participant.case_id == case_id, Participant.person_id == person_id).limit(1))
    return found is not None


# ---- after acceptance ----------------------------------------------------------------------------


async def mediator_brief(ctx: AppContext, db: AsyncSession, case_id: int, person: Person) -> CaseBrief:
    """The case as its accepted mediator (or center staff) manages it."""
    case, status = await _case_and_status(ctx, db, case_id)
    if status.mediator_id != person.id and not person.is_staff:
        if await is_participant(db, case_id, person.id):
            raise NotAllowed("Only the case's mediator or center staff can do this.")
        raise CaseHidden()
    return await _brief(db, case, status, with_contact=True)


async def record_fee_deposit(ctx: AppContext, db: AsyncSession, case_id: int, person: Person) -> CaseState:
    return await _milestone(ctx, db, case_id, person, CaseWorkflow.record_fee_deposit)


async def record_scheduled(ctx: AppContext, db: AsyncSession, case_id: int, person: Person) -> CaseState:
    return await _milestone(ctx, db, case_id, person, CaseWorkflow.record_scheduled)


async def _milestone(ctx: AppContext, db: AsyncSession, case_id: int, person: Person, update) -> CaseState:
    brief = await mediator_brief(ctx, db, case_id, person)
    answer = await run_update(ctx, case_id, update, MediatorMilestone(actor_id=person.id, is_staff=person.is_staff))
    return await state_after(db, brief.case, answer)


async def close_case(ctx: AppContext, db: AsyncSession, case_id: int, person: Person, outcome: str, note: str) -> CaseState:
    brief = await mediator_brief(ctx, db, case_id, person)
    note = note.strip()
    if outcome not in OUTCOMES:
        raise InvalidAction("Choose the outcome: settled, not settled or withdrawn.")
    if len(note) > MAX_NOTE:
        raise InvalidAction(f"Keep the note under {MAX_NOTE:,} characters.")
    answer = await run_update(ctx, case_id, CaseWorkflow.close_case, CaseClosure(actor_id=person.id, outcome=outcome, is_staff=person.is_staff, note=note))
    return await state_after(db, brief.case, answer)
