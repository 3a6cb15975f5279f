"""Creating a case with its parties and starting its workflow, and the roster the workflow holds for it."""

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from core.db.models import Case, Participant, Person
from core.settings import Settings
from workflows.case import CaseWorkflow
from workflows.types import CaseInput, LifecycleTimers, RosterParty


@dataclass
class PartyContact:
    full_name: str
    email: str
    side: str


@dataclass
class NewCase:
    """A case to create with its parties: what filing (and the demo and test seeds) hand to `file_case`."""

    property_address: str
    dispute_bases: list[str]
    dispute_value: str
    description: str
    filer_id: int
    # The filer is an initiating party, or files as agent/attorney for the first initiating party listed.
    filer_represents_first_party: bool = False
    filer_representative_kind: str = ""
    parties: list[PartyContact] = field(default_factory=list)


async def person_for_email(session: AsyncSession, email: str, full_name: str, user_type: str = "Party") -> Person:
    """The person with this email, created (without a password, to be activated) if the center does not know them."""
    email = email.strip().lower()
    person = (await session.execute(select(Person).where(Person.email == email))).scalar_one_or_none()
    if person is None:
        person = Person(email=email, full_name=full_name.strip(), user_type=user_type)
        session.add(person)
        await session.flush()
    return person


async def roster_for(session: AsyncSession, case_id: int) -> list[RosterParty]:
    rows = (await session.execute(select(Participant).where(Participant.case_id == case_id).order_by(Participant.id))).scalars().all()
    return roster_of(list(rows))


def roster_of(rows: list[Participant]) -> list[RosterParty]:
    """The parties (and who may rank for each) that these participant rows make, as the workflow holds them."""
    parties = {p.person_id: RosterParty(person_id=p.person_id, side=p.side or "initiating") for p in rows if p.role == "party"}
    for p in rows:
        if p.role == "representative" and p.represents_id in parties:
            parties[p.represents_id].representative_ids.append(p.person_id)
    return list(parties.values())


async def file_case(session: AsyncSession, client: Client, settings: Settings, request: NewCase) -> Case:
    """Create the case and its participants and start its workflow; the caller's transaction commits both or neither."""
    case = Case(
        property_address=request.property_address.strip(),
        dispute_bases=list(request.dispute_bases),
        dispute_value=request.dispute_value,
        description=request.description.strip(),
        filed_by_id=request.filer_id,
    )
    session.add(case)
    await session.flush()
    filer_is_party = not request.filer_represents_first_party
    if filer_is_party:
        session.add(Participant(case_id=case.id, person_id=request.filer_id, role="party", side="initiating"))
    first_initiating: int | None = None
    for contact in request.parties:
        person = await person_for_email(session, contact.email, contact.full_name)
        if person.id == request.filer_id and filer_is_party:
            continue
        session.add(Participant(case_id=case.id, person_id=person.id, role="party", side=contact.side))
        if contact.side == "initiating" and first_initiating is None:
            first_initiating = person.id
    if request.filer_represents_first_party and first_initiating is not None:
        session.add(
            Participant(
                case_id=case.id,
                person_id=request.filer_id,
                role="representative",
                represents_id=first_initiating,
                representative_kind=request.filer_representative_kind or "Agent",
            )
        )
    await session.flush()
    await client.start_workflow(
        CaseWorkflow.run,
        CaseInput(
            case_id=case.id,
            property_address=case.property_address,
            filed_by_id=request.filer_id,
            parties=await roster_for(session, case.id),
            timers=LifecycleTimers.from_settings(settings),
        ),
        id=settings.workflow_id(case.id),
        task_queue=settings.task_queue,
    )
    return case
