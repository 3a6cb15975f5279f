"""The mediator's part of a case: the conflict check, then the fee deposit and closing.

Who may see what is decided from the case's published state (written by its workflow before any Update
answers), so the mediator who just accepted can open the case at once. The pages and the JSON API both call
these; scheduling is done by putting the Mediation session on the case calendar (features/calendar).
"""

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.case_facts import case_titles
from core.case_state import CaseState, MediatorDisclosure
from core.db.models import Case, ConflictCheckRequest, Participant, Person
from core.errors import Forbidden, Invalid, NotFound
from core.stages import Stage
from features.cases.state import case_state, state_after
from features.context import AppContext
from features.lifecycle import run_update
from features.mediator.models import Closure, ConflictAnswer
from workflows.case import CaseWorkflow
from workflows.types import CaseClosure, ConflictDecision, MediatorMilestone, Reconfirmation

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
class PersonLine:
    """Someone on the case, by name, for the disclosure question about relationships."""

    person_id: int
    name: str
    role: str


ROLE_WORDS = {"party": "Party", "representative": "Representative", "interested": "Interested person"}
PEOPLE_ROLES = tuple(ROLE_WORDS)
NOT_ON_CASE = "Tick only people on this case."


@dataclass
class CaseBrief:
    """What a mediator reads about a case: the Request to Mediate, who is on it, and where it stands."""

    case: Case
    title: str
    parties: list[PartyLine]
    state: CaseState
    # Everyone on the case but its mediator, for the relationship question.
    people: list[PersonLine] = field(default_factory=list)


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


async def _people(db: AsyncSession, case_id: int) -> list[PersonLine]:
    rows = (
        await db.execute(
            select(Participant.person_id, Person.full_name, Participant.role)
            .join(Person, Person.id == Participant.person_id)
            .where(Participant.case_id == case_id, Participant.role.in_(PEOPLE_ROLES))
            .order_by(Participant.id)
        )
    ).all()
    people: dict[int, PersonLine] = {}
    for person_id, name, role in rows:
        people.setdefault(person_id, PersonLine(person_id=person_id, name=name, role=role))
    return list(people.values())


async def _brief(db: AsyncSession, case: Case, state: CaseState, with_contact: bool) -> CaseBrief:
    titles = await case_titles(db, [case.id])
    return CaseBrief(case=case, title=titles[case.id], parties=await _parties(db, case.id, with_contact), state=state, people=await _people(db, case.id))


def _ticked_on_case(brief: CaseBrief, answer: ConflictAnswer) -> None:
    """The people ticked for the relationship question must be on the case (as the form listed them)."""
    if answer.accept and answer.relationship and set(answer.relationship_with) - {p.person_id for p in brief.people}:
        raise Invalid(NOT_ON_CASE, {"relationship_with": NOT_ON_CASE})


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
    _ticked_on_case(brief, answer)
    decision = ConflictDecision(actor_id=person.id, accept=answer.accept, reason=answer.reason, disclosure=answer.disclosure() if answer.accept else None)
    return await state_after(db, brief.case, await run_update(ctx, case_id, CaseWorkflow.decide_conflict, decision, db=db))


# ---- the continuing duty: a person who joined after acceptance --------------------------------------


@dataclass
class ReconfirmationBrief:
    brief: CaseBrief
    about: PersonLine
    record: MediatorDisclosure


def waiting_reconfirmation(state: CaseState, mediator_id: int, person_id: int) -> MediatorDisclosure | None:
    return next(
        (r for r in state.disclosures if r.status == "awaiting_mediator" and r.mediator_id == mediator_id and r.about_person_id == person_id),
        None,
    )


async def reconfirmation_brief(db: AsyncSession, person: Person, case_id: int, about_id: int) -> ReconfirmationBrief:
    """For the case's mediator: the person who joined, asked about with the same questions as the conflict check."""
    brief = await mediator_brief(db, person, case_id)
    if brief.state.mediator_id != person.id:
        raise Forbidden("Only the case's mediator can confirm again for a person who joined the case.")
    record = waiting_reconfirmation(brief.state, person.id, about_id)
    about = next((p for p in brief.people if p.person_id == about_id), None)
    if record is None or about is None:
        raise NotFound("No re-confirmation is waiting for this person: it was answered already, or they left the case.")
    return ReconfirmationBrief(brief=brief, about=about, record=record)


async def answer_reconfirmation(ctx: AppContext, db: AsyncSession, person: Person, case_id: int, about_id: int, answer: ConflictAnswer) -> CaseState:
    """No conflict with the person who joined (answered like the conflict check: a yes is a disclosure the parties may
    object to), or a conflict that makes the mediator step down (the next mediator in the order is asked)."""
    asked = await reconfirmation_brief(db, person, case_id, about_id)
    _ticked_on_case(asked.brief, answer)
    update = Reconfirmation(
        actor_id=person.id, person_id=about_id, accept=answer.accept, reason=answer.reason, disclosure=answer.disclosure() if answer.accept else None
    )
    return await state_after(db, asked.brief.case, await run_update(ctx, case_id, CaseWorkflow.reconfirm, update, db=db))


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
