"""The case calendar: events the mediator adds, seen by every participant."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CalendarEvent


async def case_events(db: AsyncSession, case_id: int) -> list[CalendarEvent]:
    query = select(CalendarEvent).where(CalendarEvent.case_id == case_id).order_by(CalendarEvent.starts_at, CalendarEvent.id)
    return list((await db.execute(query)).scalars())
