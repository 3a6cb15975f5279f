"""What participants see of a case besides Case Home: the Request to Mediate as filed (Intake Details)
and who takes part (Users), with contact details unless a person asked for them to be hidden."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from features.access import CaseAccess
from core.db.models import Participant, Person

ROLE_LABELS = {"party": "Party", "representative": "Representative", "interested": "Interested person", "mediator": "Mediator", "staff": "Center staff"}
SIDE_LABELS = {"initiating": "Initiating", "responding": "Responding"}
# Parties first, then whoever acts for them, then the voluntary participants, then the neutral.
ROLE_ORDER = {"party": 0, "representative": 1, "interested": 2, "mediator": 3, "staff": 4}
SIDE_ORDER = {"initiating": 0, "responding": 1}
INTAKE_ROLES = ("party", "representative", "mediator")


@dataclass
class Intake:
    case_id: int
    property_address: str
    dispute_bases: list[str]
    dispute_value: str
    description: str
    filed_by_id: int
    filed_by_name: str
    filed_at: datetime


@dataclass
class Contact:
    email: str
    phone: str
    organization: str
    city: str
    state: str


@dataclass
class CaseUser:
    participant_id: int
    person_id: int
    name: str
    role: str
    role_label: str
    side: str | None
    side_label: str
    represents_id: int | None
    represents_name: str
    representative_kind: str
    contact_hidden: bool
    # None when the person asked for their contact details to be hidden and the viewer is another participant.
    contact: Contact | None


def can_see_intake(access: CaseAccess) -> bool:
    """The handbook: the Request to Mediate is visible to parties, their representatives (and the mediator); interested persons do not see it."""
    return access.is_staff or access.has_role(*INTAKE_ROLES)


async def intake_details(db: AsyncSession, access: CaseAccess) -> Intake:
    if not can_see_intake(access):
        raise PermissionError("Intake Details are shown to the parties, their representatives and the mediator.")
    case = access.case
    filer = await db.get(Person, case.filed_by_id)
    return Intake(
        case_id=case.id,
        property_address=case.property_address,
        dispute_bases=list(case.dispute_bases or []),
        dispute_value=case.dispute_value,
        description=case.description,
        filed_by_id=case.filed_by_id,
        filed_by_name=filer.full_name if filer else "",
        filed_at=case.filed_at,
    )


def _contact(person: Person) -> Contact:
    return Contact(email=person.email, phone=person.phone, organization=person.organization, city=person.city, state=person.state)


async def case_users(db: AsyncSession, access: CaseAccess) -> list[CaseUser]:
    rows = (
        await db.execute(
            select(Participant)
            .where(Participant.case_id == access.case.id)
            .options(selectinload(Participant.person), selectinload(Participant.represents))
            .order_by(Participant.id)
        )
    ).scalars().all()
    party_sides = {p.person_id: p.side for p in rows if p.role == "party"}
    users = []
    for p in rows:
        # A representative stands on the side of the party they act for.
        side = p.side if p.role == "party" else party_sides.get(p.represents_id) if p.role == "representative" else None
        shown = not p.person.contact_hidden or access.is_staff or p.person_id == access.viewer.id
        users.append(
            CaseUser(
                participant_id=p.id,
                person_id=p.person_id,
                name=p.person.full_name,
                role=p.role,
                role_label=ROLE_LABELS.get(p.role, p.role),
                side=side,
                side_label=SIDE_LABELS.get(side or "", ""),
                represents_id=p.represents_id if p.role == "representative" else None,
                represents_name=p.represents.full_name if p.role == "representative" and p.represents else "",
                representative_kind=p.representative_kind if p.role == "representative" else "",
                contact_hidden=p.person.contact_hidden,
                contact=_contact(p.person) if shown else None,
            )
        )
    users.sort(key=lambda u: (ROLE_ORDER.get(u.role, 9), SIDE_ORDER.get(u.side or "", 2), u.participant_id))
    return users
