"""Who is asking: the signed-in person, and what part they take in a case.

A case is visible to the people on it and to center staff; to anyone else it does not exist.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Case, Participant, Person, WebSession


@dataclass
class Viewer:
    person: Person
    web_session: WebSession

    @property
    def id(self) -> int:
        return self.person.id

    @property
    def is_staff(self) -> bool:
        return self.person.is_staff


@dataclass
class CaseAccess:
    case: Case
    viewer: Viewer
    roles: list[Participant]

    def has_role(self, *roles: str) -> bool:
        return any(p.role in roles for p in self.roles)

    @property
    def is_staff(self) -> bool:
        return self.viewer.is_staff

    @property
    def represented_party_ids(self) -> list[int]:
        """The parties this person may act for: themselves if a party, and whom they represent."""
        ids = [p.person_id for p in self.roles if p.role == "party"]
        ids += [p.represents_id for p in self.roles if p.role == "representative" and p.represents_id]
        return ids


async def access_to_case(db: AsyncSession, case_id: int, viewer: Viewer) -> CaseAccess | None:
    """The viewer's access to the case, or None when the case is missing or none of their business."""
    case = await db.get(Case, case_id)
    if case is None:
        return None
    roles = list((await db.execute(select(Participant).where(Participant.case_id == case_id, Participant.person_id == viewer.id))).scalars())
    if not roles and not viewer.is_staff:
        return None
    return CaseAccess(case=case, viewer=viewer, roles=roles)
