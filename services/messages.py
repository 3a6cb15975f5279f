"""Case Home messages: visible to every participant of the case, deletable by their author or staff."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db.models import Message


async def case_messages(db: AsyncSession, case_id: int) -> list[Message]:
    query = select(Message).where(Message.case_id == case_id).options(selectinload(Message.author)).order_by(Message.created_at.desc(), Message.id.desc())
    return list((await db.execute(query)).scalars())
