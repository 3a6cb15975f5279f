"""Facts about a case that several layers need and must answer alike: its title, who is on it, who is in a room.

The pages, the JSON API and the worker's email activities all ask these, so a room can never be visible in
one place and hidden in another, and a case is called the same thing in every email and page.
"""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import DiscussionRoom, Participant, Person, RoomMember


async def case_titles(db: AsyncSession, case_ids: list[int]) -> dict[int, str]:
    """'Katy Perry vs Taylor Swift' for each case: initiating parties vs responding parties."""
    rows = (
        await db.execute(
            select(Participant.case_id, Participant.side, Person.full_name)
            .join(Person, Person.id == Participant.person_id)
            .where(Participant.case_id.in_(case_ids or [-1]), Participant.role == "party")
            .order_by(Participant.id)
        )
    ).all()
    sides: dict[int, dict[str, list[str]]] = {cid: {"initiating": [], "responding": []} for cid in case_ids}
    for case_id, side, name in rows:
        sides[case_id].setdefault(side or "initiating", []).append(name)
    titles = {}
    for case_id, names in sides.items():
        left, right = ", ".join(names["initiating"]), ", ".join(names["responding"])
        titles[case_id] = f"{left} vs {right}" if left and right else left or right or "New case"
    return titles


async def participant_ids(db: AsyncSession, case_id: int) -> list[int]:
    rows = await db.execute(select(Participant.person_id).where(Participant.case_id == case_id).order_by(Participant.id))
    return list(dict.fromkeys(pid for (pid,) in rows))


async def room_member_ids(db: AsyncSession, room: DiscussionRoom) -> list[int]:
    """The one answer to "who is in this room": everyone on the case for the joint room; for a caucus, its chosen
    members who are still on the case (someone removed from the case leaves its rooms too)."""
    everyone = await participant_ids(db, room.case_id)
    if room.kind == "joint":
        return everyone
    chosen = set((await db.execute(select(RoomMember.person_id).where(RoomMember.room_id == room.id))).scalars())
    return [pid for pid in everyone if pid in chosen]
