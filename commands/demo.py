"""Demo data for `mediation-dev`: a staff member, a mediator directory and one case waiting for rankings.

Seeding runs on every start and does only what is missing, so a second start adds nothing and a start
interrupted half-way finishes the job the next time.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowUpdateFailedError

from core.db.models import Case, MediatorProfile, Person
from core.db.session import transaction
from core.settings import Settings
from core.stages import Stage
from core.time import DEFAULT_TIME_ZONE
from features.accounts.security import hash_password
from features.cases.roster import NewCase, PartyContact, file_case
from workflows.case import CaseWorkflow
from workflows.types import IntakeDecision

STAFF_PASSWORD = "mediation-demo-staff"
PARTY_PASSWORD = "mediation-demo-party"
MEDIATOR_PASSWORD = "mediation-demo-mediator"


@dataclass(frozen=True)
class DemoPerson:
    email: str
    full_name: str
    user_type: str
    password: str
    city: str = ""
    phone: str = ""
    # Everyone in the demo lives in California, where the center is (MEDIATION_CENTER_TIME_ZONE's default).
    time_zone: str = DEFAULT_TIME_ZONE


@dataclass(frozen=True)
class DemoMediator:
    person: DemoPerson
    bio: str
    expertise: str
    region: str
    languages: str
    fee: str


STAFF = DemoPerson("staff@example.org", "Dana Whitfield", "Center staff", STAFF_PASSWORD, "Los Angeles", "213-739-8376")
INITIATING = DemoPerson("katy@example.com", "Katy Perry", "Party", PARTY_PASSWORD, "Santa Barbara", "805-555-0142")
RESPONDING = DemoPerson("taylor@example.com", "Taylor Swift", "Party", PARTY_PASSWORD, "Beverly Hills", "310-555-0189")

MEDIATORS = (
    DemoMediator(
        DemoPerson("elena.marquez@example.net", "Elena Marquez", "Mediator", MEDIATOR_PASSWORD, "Pasadena", "626-555-0131"),
        "Former real estate litigator with 22 years in practice. Has mediated more than 600 residential disputes, "
        "most of them over disclosure and repairs after close of escrow.",
        "Failure to disclose, repair disputes, residential purchase agreements",
        "Los Angeles County",
        "English, Spanish",
        "$450 per hour, 4-hour minimum",
    ),
    DemoMediator(
        DemoPerson("robert.chen@example.net", "Robert Chen", "Mediator", MEDIATOR_PASSWORD, "San Francisco", "415-555-0117"),
        "Retired Superior Court judge who sat on the civil bench for 14 years. Known for a patient, evaluative style "
        "and for settling multi-party cases in a single day.",
        "Multi-party disputes, broker commissions, high-value transactions",
        "San Francisco Bay Area",
        "English, Mandarin, Cantonese",
        "$6,000 per full day",
    ),
    DemoMediator(
        DemoPerson("aisha.johnson@example.net", "Aisha Johnson", "Mediator", MEDIATOR_PASSWORD, "Sacramento", "916-555-0164"),
        "Licensed broker for 15 years before becoming a full-time mediator. Brings practical knowledge of listing and escrow practice to every session.",
        "Deposit disputes, escrow cancellations, agent conduct",
        "Sacramento Valley",
        "English",
        "$350 per hour",
    ),
    DemoMediator(
        DemoPerson("david.goldberg@example.net", "David Goldberg", "Mediator", MEDIATOR_PASSWORD, "San Diego", "619-555-0108"),
        "Attorney and certified specialist in real property law. Mediates landlord-tenant and homeowners association "
        "matters and trains volunteer mediators for the center.",
        "Landlord-tenant, homeowners associations, lease disputes",
        "San Diego County",
        "English, Hebrew",
        "$300 per hour",
    ),
    DemoMediator(
        DemoPerson("maria.nguyen@example.net", "Maria Nguyen", "Mediator", MEDIATOR_PASSWORD, "Irvine", "949-555-0176"),
        "Construction defect attorney turned mediator. Comfortable with inspection reports and contractor estimates, "
        "and skilled at keeping emotionally charged sessions on track.",
        "Construction defects, inspections, failure to disclose",
        "Orange County",
        "English, Vietnamese, French",
        "$400 per hour",
    ),
    DemoMediator(
        DemoPerson("james.okafor@example.net", "James Okafor", "Mediator", MEDIATOR_PASSWORD, "Fresno", "559-555-0122"),
        "Real estate appraiser and mediator serving the Central Valley for over a decade, often in agricultural and rural residential property disputes.",
        "Valuation disputes, boundary lines, rural and agricultural property",
        "Central Valley",
        "English, Igbo",
        "$275 per hour",
    ),
)

DEMO_ADDRESS = "1200 Ocean View Drive, Santa Barbara, CA 93109"
DEMO_REQUEST: dict[str, Any] = {
    "property_address": DEMO_ADDRESS,
    "dispute_bases": ["Deposit dispute"],
    "dispute_value": "$75,001 and over",
    "description": (
        "The buyer cancelled within the inspection contingency period and asks for the full earnest money deposit "
        "back; the seller says the cancellation notice came two days late and wants to keep the deposit."
    ),
}


def demo_logins() -> list[DemoPerson]:
    """Everyone who can sign in to the demo, in the order the banner lists them."""
    return [STAFF, INITIATING, RESPONDING, *(m.person for m in MEDIATORS)]


@dataclass
class DemoResult:
    case_id: int
    created: bool
    accepted_now: bool


async def _ensure_person(session: AsyncSession, who: DemoPerson, *, staff: bool = False) -> tuple[Person, bool]:
    person = (await session.execute(select(Person).where(Person.email == who.email))).scalar_one_or_none()
    if person is not None:
        return person, False
    person = Person(
        email=who.email,
        full_name=who.full_name,
        user_type=who.user_type,
        city=who.city,
        state="CA",
        phone=who.phone,
        time_zone=who.time_zone,
        is_staff=staff,
        password_hash=hash_password(who.password),
    )
    session.add(person)
    await session.flush()
    return person, True


async def _ensure_people(session: AsyncSession) -> tuple[Person, Person, bool]:
    staff, created = await _ensure_person(session, STAFF, staff=True)
    for entry in MEDIATORS:
        mediator, _ = await _ensure_person(session, entry.person)
        if await session.get(MediatorProfile, mediator.id) is None:
            session.add(
                MediatorProfile(
                    person_id=mediator.id,
                    bio=entry.bio,
                    expertise=entry.expertise,
                    region=entry.region,
                    languages=entry.languages,
                    fee=entry.fee,
                )
            )
    katy, _ = await _ensure_person(session, INITIATING)
    await _ensure_person(session, RESPONDING)
    return staff, katy, created


async def _demo_case(session: AsyncSession, filer_id: int) -> Case | None:
    return (await session.execute(select(Case).where(Case.filed_by_id == filer_id, Case.property_address == DEMO_ADDRESS).order_by(Case.id))).scalars().first()


async def seed_demo(sessions: async_sessionmaker[AsyncSession], client: Client, settings: Settings) -> DemoResult:
    """Create whatever of the demo is missing; needs a worker on settings.task_queue to move the case along."""
    async with transaction(sessions) as session:
        staff, katy, _ = await _ensure_people(session)
        case = await _demo_case(session, katy.id)
        created = case is None
        if case is None:
            # People and case commit together with the workflow start, so a failed seed leaves nothing half-made.
            case = await file_case(
                session,
                client,
                settings,
                NewCase(
                    **DEMO_REQUEST,
                    filer_id=katy.id,
                    parties=[
                        PartyContact(INITIATING.full_name, INITIATING.email, "initiating"),
                        PartyContact(RESPONDING.full_name, RESPONDING.email, "responding"),
                    ],
                ),
            )
        case_id, staff_id = case.id, staff.id

    accepted_now = False
    if case.stage == Stage.INTAKE_REVIEW:
        try:
            # The answer comes once the panel is proposed and ranking is open, so the first page shows the ranking step.
            await client.get_workflow_handle(settings.workflow_id(case_id)).execute_update(
                CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=staff_id), id=f"demo-intake-{case_id}"
            )
            accepted_now = True
        except WorkflowUpdateFailedError:
            pass  # someone reviewed it meanwhile; their decision stands
    return DemoResult(case_id=case_id, created=created, accepted_now=accepted_now)
