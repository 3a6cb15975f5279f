"""Discussions: the joint room of everyone on the case and private caucus rooms the mediator sets up.

Who is in a room is answered by `room_member_ids` alone; every page, the JSON API, attachments and the
email digest ask it, so a room can never be visible in one place and hidden in another. The joint room
has no member rows: its members are the case's participants at the moment of asking, so people added
to the case later join it without anyone having to remember to.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from temporalio.client import Client
from temporalio.service import RPCError

from core.case_facts import participant_ids, room_member_ids
from core.db.models import Case, DiscussionRoom, Document, Participant, Person, RoomMember, RoomMessage
from features.documents.service import DocumentProblem, sanitise_file_name, store_document
from core.settings import Settings
from core.storage import file_store
from core.stages import FINAL_STAGES

log = logging.getLogger(__name__)

JOINT_ROOM_NAME = "Joint discussion"
MAX_ROOM_NAME = 120
MAX_MESSAGE_LENGTH = 5000
# What the Documents tab files room attachments under.
ATTACHMENT_CATEGORY = "Dialogue"


class DiscussionProblem(Exception):
    """Something the person asked for cannot be done; the message is meant for them."""

    def __init__(self, message: str, status_code: int = 422):
        super().__init__(message)
        self.message = message
        self.status_code = status_code


NO_SUCH_ROOM = "No such discussion room."
CASE_OVER = "This case is over; its discussions can be read but not changed."


@dataclass
class Actor:
    """Who is acting on the case, as far as discussions care: the routes build it from the page's CaseAccess."""

    case: Case
    person_id: int
    is_staff: bool

    @property
    def manages(self) -> bool:
        """The case's mediator and center staff open discussions and set up caucus rooms."""
        return self.is_staff or (self.case.mediator_id is not None and self.case.mediator_id == self.person_id)


@dataclass
class RoomView:
    room: DiscussionRoom
    members: list[Person]
    message_count: int = 0
    last_message_at: datetime | None = None


@dataclass
class MessageView:
    message: RoomMessage
    author_name: str
    document: Document | None = None


@dataclass
class Discussions:
    open: bool
    manages: bool
    rooms: list[RoomView] = field(default_factory=list)


async def can_see_room(db: AsyncSession, room: DiscussionRoom, person_id: int, is_staff: bool) -> bool:
    return is_staff or person_id in await room_member_ids(db, room)


async def visible_room(db: AsyncSession, actor: Actor, room_id: int) -> DiscussionRoom:
    """The room if it belongs to this case and the person may see it; otherwise the same answer as a room that does not exist."""
    room = await db.get(DiscussionRoom, room_id)
    if room is None or room.case_id != actor.case.id or not await can_see_room(db, room, actor.person_id, actor.is_staff):
        raise DiscussionProblem(NO_SUCH_ROOM, 404)
    return room


async def _people(db: AsyncSession, ids: list[int]) -> dict[int, Person]:
    found = (await db.execute(select(Person).where(Person.id.in_(ids or [-1])))).scalars()
    return {p.id: p for p in found}


async def room_view(db: AsyncSession, room: DiscussionRoom) -> RoomView:
    ids = await room_member_ids(db, room)
    people = await _people(db, ids)
    count, last = (await db.execute(select(func.count(RoomMessage.id), func.max(RoomMessage.created_at)).where(RoomMessage.room_id == room.id))).one()
    return RoomView(room=room, members=[people[i] for i in ids if i in people], message_count=count, last_message_at=last)


async def discussions_for(db: AsyncSession, actor: Actor) -> Discussions:
    """The rooms this person may see, joint room first."""
    rooms = (await db.execute(select(DiscussionRoom).where(DiscussionRoom.case_id == actor.case.id).order_by(DiscussionRoom.id))).scalars().all()
    views = []
    for room in sorted(rooms, key=lambda r: (r.kind != "joint", r.id)):
        if await can_see_room(db, room, actor.person_id, actor.is_staff):
            views.append(await room_view(db, room))
    return Discussions(open=actor.case.discussions_open, manages=actor.manages, rooms=views)


def is_over(case: Case) -> bool:
    return case.stage in FINAL_STAGES


def _refuse_if_over(case: Case) -> None:
    if is_over(case):
        raise DiscussionProblem(CASE_OVER, 409)


def _refuse_unless_manager(actor: Actor, what: str) -> None:
    if not actor.manages:
        raise DiscussionProblem(f"Only the case's mediator or center staff can {what}.", 403)


async def joint_room(db: AsyncSession, case_id: int) -> DiscussionRoom | None:
    query = select(DiscussionRoom).where(DiscussionRoom.case_id == case_id, DiscussionRoom.kind == "joint").order_by(DiscussionRoom.id)
    return (await db.execute(query.limit(1))).scalar_one_or_none()


async def open_discussions(db: AsyncSession, actor: Actor) -> DiscussionRoom:
    """Open the Discussions tab and its joint room. Opening twice is harmless: the same joint room comes back."""
    _refuse_unless_manager(actor, "open discussions")
    _refuse_if_over(actor.case)
    room = await joint_room(db, actor.case.id)
    if room is None:
        room = DiscussionRoom(case_id=actor.case.id, name=JOINT_ROOM_NAME, kind="joint", created_by_id=actor.person_id)
        db.add(room)
    actor.case.discussions_open = True
    await db.commit()
    return room


async def create_caucus_room(db: AsyncSession, actor: Actor, name: str, member_ids: list[int]) -> DiscussionRoom:
    """A private room with chosen participants of the case; the mediator is always in it."""
    _refuse_unless_manager(actor, "set up caucus rooms")
    _refuse_if_over(actor.case)
    if not actor.case.discussions_open:
        raise DiscussionProblem("Open discussions first; caucus rooms come after the joint room.", 409)
    name = " ".join((name or "").split())
    if len(name) > MAX_ROOM_NAME:
        raise DiscussionProblem(f"Keep the room name to {MAX_ROOM_NAME} characters.")
    on_case = await participant_ids(db, actor.case.id)
    chosen = list(dict.fromkeys(member_ids))
    strangers = [pid for pid in chosen if pid not in on_case]
    if strangers:
        raise DiscussionProblem("Members of a caucus room must be people on this case.")
    mediator_id = actor.case.mediator_id
    others = [pid for pid in chosen if pid != mediator_id]
    if not others:
        raise DiscussionProblem("Choose at least one person besides the mediator for the caucus room.")
    members = ([mediator_id] if mediator_id is not None else []) + others
    if not name:
        people = await _people(db, others)
        name = ("Caucus with " + ", ".join(people[pid].full_name for pid in others if pid in people))[:MAX_ROOM_NAME]
    room = DiscussionRoom(case_id=actor.case.id, name=name, kind="caucus", created_by_id=actor.person_id)
    db.add(room)
    await db.flush()
    for pid in members:
        db.add(RoomMember(room_id=room.id, person_id=pid))
    await db.commit()
    return room


async def room_messages(db: AsyncSession, room: DiscussionRoom) -> list[MessageView]:
    """Oldest first, as a chat reads."""
    query = (
        select(RoomMessage)
        .where(RoomMessage.room_id == room.id)
        .options(selectinload(RoomMessage.author))
        .order_by(RoomMessage.created_at, RoomMessage.id)
    )
    messages = list((await db.execute(query)).scalars())
    doc_ids = [m.document_id for m in messages if m.document_id]
    documents = {d.id: d for d in (await db.execute(select(Document).where(Document.id.in_(doc_ids or [-1])))).scalars()}
    return [MessageView(message=m, author_name=m.author.full_name, document=documents.get(m.document_id)) for m in messages]


def _has_file(upload) -> bool:
    # A form whose file input was left empty still sends a part, with no file name.
    return upload is not None and bool(getattr(upload, "filename", ""))


async def post_message(
    db: AsyncSession, client: Client, settings: Settings, actor: Actor, room: DiscussionRoom, body: str, upload=None
) -> MessageView:
    """Save the message (and its attachment, shared with exactly the room's members), then tell the room's digest."""
    _refuse_if_over(actor.case)
    body = (body or "").strip()
    attach = _has_file(upload)
    if not body and not attach:
        raise DiscussionProblem("Type a message or attach a file before sending.")
    if len(body) > MAX_MESSAGE_LENGTH:
        raise DiscussionProblem(f"Keep a message to {MAX_MESSAGE_LENGTH} characters; send a longer text as an attached file.")
    document = None
    if attach:
        members = await room_member_ids(db, room)
        try:
            document = await store_document(
                db,
                settings,
                file_store(settings),
                actor.case.id,
                actor.person_id,
                upload,
                ATTACHMENT_CATEGORY,
                sanitise_file_name(upload.filename) or "Attachment",
                f"Attached in the discussion room {room.name}",
                members,
                room_id=room.id,
            )
        except DocumentProblem as problem:
            raise DiscussionProblem(str(problem), problem.status_code) from problem
    message = RoomMessage(room_id=room.id, author_id=actor.person_id, body=body, document_id=document.id if document else None)
    db.add(message)
    await db.commit()
    await signal_digest(client, settings, room.id, message.id)
    author = await db.get(Person, actor.person_id)
    return MessageView(message=message, author_name=author.full_name if author else "", document=document)


def digest_workflow_id(settings: Settings, room_id: int) -> str:
    return f"{settings.workflow_id_prefix}room-digest-{room_id}"


async def signal_digest(client: Client, settings: Settings, room_id: int, message_id: int) -> None:
    """Add the message to the room's pending digest, starting one if none is gathering.

    Only the id travels: message text never enters workflow history. The message is already saved, so an
    unreachable Temporal costs at most this notification, and must not turn a successful post into an error.
    """
    from workflows.discussion_digest import DigestRequest, DiscussionDigestWorkflow

    try:
        await client.start_workflow(
            DiscussionDigestWorkflow.run,
            DigestRequest(room_id=room_id, delay_seconds=int(settings.discussion_digest_delay / timedelta(seconds=1))),
            id=digest_workflow_id(settings, room_id),
            task_queue=settings.task_queue,
            start_signal="message_posted",
            start_signal_args=[message_id],
        )
    except RPCError:
        log.exception("Could not queue the email digest for message %s in room %s", message_id, room_id)
