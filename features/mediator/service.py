"""The mediator's part of a case: the conflict check, then the fee deposit and closing.

Who may see what is decided from the case's published state (written by its workflow before any Update
answers), so the mediator who just accepted can open the case at once. The pages and the JSON API both call
these; scheduling is done by putting the Mediation session on the case calendar (features/calendar).
"""

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.case_facts import case_titles
from core.case_state import CaseState
from core.db.models import Case, ConflictCheckRequest, Participant, Person
from core.errors import Forbidden, NotFound
from core.stages import Stage
from features.cases.state import case_state, state_after
from features.context import AppContext
from features.lifecycle import run_update
from features.mediator.models import Closure, ConflictAnswer
from workflows.case import CaseWorkflow
from workflows.types import CaseClosure, ConflictDecision, MediatorMilestone

NO_SUCH_CASE = "No such case."
MEDIATOR_OR_STAFF = "Only the case's mediator or center staff can do this."


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
    state: CaseState


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


async def _brief(db: AsyncSession, case: Case, state: CaseState, with_contact: bool) -> CaseBrief:
    titles = await case_titles(db, [case.id])
    return CaseBrief(case=case, title=titles[case.id], parties=await _parties(db, case.id, with_contact), state=state)


async def _case(db: AsyncSession, case_id: int) -> tuple[Case, CaseState]:
    case = await db.get(Case, case_id)
    if case is None:
        raise NotFound(NO_SUCH_CASE)
    return case, await case_state(db, case)


# ---- the conflict check --------------------------------------------------------------------------


def is_asked(state: CaseState, person_id: int) -> bool:
    return state.stage == Stage.CONFLICT_CHECK and state.candidate_mediator_id == person_id


async def conflict_check_brief(db: AsyncSession, person: Person, case_id: int) -> CaseBrief:
    """The case summary for the mediator asked to check for conflicts, without the parties' contact details.

    Nobody else, not even staff, needs it: a mediator who was not selected must not learn about the case."""
    case, state = await _case(db, case_id)
    if not is_asked(state, person.id):
        raise NotFound(NO_SUCH_CASE)
    return await _brief(db, case, state, with_contact=False)


async def no_longer_asked(db: AsyncSession, person: Person, case_id: int) -> bool:
    """A mediator who was asked for this case's conflict check and no longer is: they answered, their time ran out or
    the center withdrew the case. The link in their email then leads to the case link, which says what happened."""
    if await db.get(ConflictCheckRequest, (case_id, person.id)) is None:
        return False
    _, state = await _case(db, case_id)
    return not is_asked(state, person.id)


async def answer_conflict_check(ctx: AppContext, db: AsyncSession, person: Person, case_id: int, answer: ConflictAnswer) -> CaseState:
    """Accept the case, or decline it for a conflict; the state after the answer (accepted: the mediator is on it)."""
    brief = await conflict_check_brief(db, person, case_id)
    decision = ConflictDecision(actor_id=person.id, accept=answer.accept, reason=answer.reason)
    return await state_after(db, brief.case, await run_update(ctx, case_id, CaseWorkflow.decide_conflict, decision, db=db))


# ---- after acceptance ----------------------------------------------------------------------------


async def mediator_brief(db: AsyncSession, person: Person, case_id: int) -> CaseBrief:
    """The case as its accepted mediator (or center staff) manages it, with the parties' contact details."""
    case, state = await _case(db, case_id)
    if state.mediator_id != person.id and not person.is_staff:
        on_case = await db.scalar(select(Participant.id).where(Participant.case_id == case_id, Participant.person_id == person.id).limit(1))
        if on_case is not None:
            raise Forbidden(MEDIATOR_OR_STAFF)
        raise NotFound(NO_SUCH_CASE)
    return await _brief(db, case, state, with_contact=True)


async def record_fee_deposit(ctx: AppContext, db: AsyncSession, person: Person, case_id: int) -> CaseState:
    brief = await mediator_brief(db, person, case_id)
    milestone = MediatorMilestone(actor_id=person.id, is_staff=person.is_staff)
    return await state_after(db, brief.case, await run_update(ctx, case_id, CaseWorkflow.record_fee_deposit, milestone, db=db))


async def close_case(ctx: AppContext, db: AsyncSession, person: Person, case_id: int, closure: Closure) -> CaseState:
    brief = await mediator_brief(db, person, case_id)
    update = CaseClosure(actor_id=person.id, outcome=closure.outcome, is_staff=person.is_staff, note=closure.note)
    return await state_after(db, brief.case, await run_update(ctx, case_id, CaseWorkflow.close_case, update, db=db))
