"""Case Home messages: visible to every participant of the case, deletable by their author or staff."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from core.db.models import Case, Message, Person

MAX_MESSAGE_LENGTH = 5000


class MessageProblem(Exception):
    """Input the author can correct; the message says how."""


async def case_messages(db: AsyncSession, case_id: int) -> list[Message]:
    query = select(Message).where(Message.case_id == case_id).options(selectinload(Message.author)).order_by(Message.created_at.desc(), Message.id.desc())
    return list((await db.execute(query)).scalars())


def can_delete(message: Message, viewer_id: int, is_staff: bool) -> bool:
    return is_staff or message.author_id == viewer_id


async def add_message(db: AsyncSession, case: Case, author: Person, body: str) -> Message:
    text = (body or "").strip()
    if not text:
        raise MessageProblem("Write your message before selecting Add New Message.")
    if len(text) > MAX_MESSAGE_LENGTH:
        raise MessageProblem(f"Keep your message under {MAX_MESSAGE_LENGTH:,} characters (it has {len(text):,}).")
    if case.records_purged_at is not None:
        raise MessageProblem("This case is closed and its records were deleted under the retention policy, so no new messages can be added.")
    message = Message(case_id=case.id, author=author, body=text)
    db.add(message)
    await db.commit()
    return message


async def delete_message(db: AsyncSession, case_id: int, message_id: int, viewer_id: int, is_staff: bool) -> None:
    """LookupError if the message is not on this case; PermissionError if the viewer neither wrote it nor is staff."""
    message = await db.get(Message, message_id)
    if message is None or message.case_id != case_id:
        raise LookupError("No such message on this case.")
    if not can_delete(message, viewer_id, is_staff):
        raise PermissionError("Only the person who posted a message, or center staff, can delete it.")
    await db.delete(message)
    await db.commit()
