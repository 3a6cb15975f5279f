"""Discussions: the joint room of everyone on the case and private caucus rooms the mediator sets up.

One function per action, behind both the pages and the JSON API: `discussions_overview`, `open_discussions`,
`create_caucus_room`, `visible_room`, `room_messages`, `post_message`.

Who is in a room is answered by `room_member_ids` (core/case_facts.py) alone; every page, the JSON API,
attachments and the email digest ask it, so a room can never be visible in one place and hidden in another.
Someone outside a room gets the same `NotFound` as for a room that does not exist. The joint room has no member
rows: its members are the case's participants at the moment of asking, so people added to the case later join
it without anyone having to remember to.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from temporalio.client import Client
from temporalio.service import RPCError

from core.case_facts import participant_ids, room_member_ids
from core.db.models import Case, DiscussionRoom, Document, Participant, Person, RoomMember, RoomMessage
from core.errors import Forbidden, Invalid, NotFound, Rejected
from core.settings import Settings
from core.stages import FINAL_STAGES
from core.time import as_utc
from features.access import CaseAccess
from features.context import AppContext
from features.discussions.models import (
    MAX_ROOM_NAME,
    MEMBERS_ON_CASE,
    DiscussionRoomOut,
    DiscussionsOverview,
    NewCaucusRoom,
    NewRoomMessage,
    RoomAttachmentOut,
    RoomMemberOut,
    RoomMessageOut,
)
from features.documents.models import NewDocument
from features.documents.service import IncomingFile, sanitise_file_name, store_upload
from features.staff.participants import ROLE_NAMES

log = logging.getLogger(__name__)

JOINT_ROOM_NAME = "Joint discussion"
# What the Documents tab files room attachments under.
ATTACHMENT_CATEGORY = "Dialogue"
NO_SUCH_ROOM = "No such discussion room."
CASE_OVER = "This case is over; its discussions can be read but not changed."
EMPTY_MESSAGE = "Type a message or attach a file before sending."


@dataclass
class CaucusChoice:
    id: int
    name: str
    roles: list[str]


@dataclass
class CaucusChoices:
    """Whom the mediator may put in a caucus room: everyone on the case but the mediator, who is always in."""

    mediator_name: str
    people: list[CaucusChoice]


def manages(access: CaseAccess) -> bool:
    """The case's mediator and center staff open discussions and set up caucus rooms."""
    mediator_id = access.case.mediator_id
    return access.is_staff or (mediator_id is not None and mediator_id == access.viewer.id)


def case_is_over(case: Case) -> bool:
    return case.stage in FINAL_STAGES


def _refuse_if_over(case: Case) -> None:
    if case_is_over(case):
        raise Rejected(CASE_OVER)


def _refuse_unless_manager(access: CaseAccess, what: str) -> None:
    if not manages(access):
        raise Forbidden(f"Only the case's mediator or center staff can {what}.")


def room_url(case_id: int, room_id: int) -> str:
    return f"/cases/{case_id}/discussions/rooms/{room_id}"


async def _people(db: AsyncSession, ids: list[int]) -> dict[int, Person]:
    found = (await db.execute(select(Person).where(Person.id.in_(ids or [-1])))).scalars()
    return {p.id: p for p in found}


async def _may_see(db: AsyncSession, access: CaseAccess, room: DiscussionRoom) -> bool:
    return access.is_staff or access.viewer.id in await room_member_ids(db, room)


async def _visible_row(db: AsyncSession, access: CaseAccess, room_id: int) -> DiscussionRoom:
    room = await db.get(DiscussionRoom, room_id)
    if room is None or room.case_id != access.case.id or not await _may_see(db, access, room):
        raise NotFound(NO_SUCH_ROOM)
    return room


async def _room_out(db: AsyncSession, room: DiscussionRoom) -> DiscussionRoomOut:
    ids = await room_member_ids(db, room)
    people = await _people(db, ids)
    count, last = (await db.execute(select(func.count(RoomMessage.id), func.max(RoomMessage.created_at)).where(RoomMessage.room_id == room.id))).one()
    return DiscussionRoomOut(
        id=room.id,
        name=room.name,
        kind=room.kind,
        members=[RoomMemberOut.model_validate(people[i]) for i in ids if i in people],
        message_count=count,
        last_message_at=as_utc(last) if last is not None else None,
        url=room_url(room.case_id, room.id),
    )


async def discussions_overview(db: AsyncSession, access: CaseAccess) -> DiscussionsOverview:
    """Whether discussions are open, and the rooms this person may see, joint room first."""
    rooms = (await db.execute(select(DiscussionRoom).where(DiscussionRoom.case_id == access.case.id).order_by(DiscussionRoom.id))).scalars().all()
    seen = [await _room_out(db, room) for room in sorted(rooms, key=lambda r: (r.kind != "joint", r.id)) if await _may_see(db, access, room)]
    return DiscussionsOverview(open=access.case.discussions_open, can_manage=manages(access), rooms=seen)


async def _joint_room(db: AsyncSession, case_id: int) -> DiscussionRoom | None:
    query = select(DiscussionRoom).where(DiscussionRoom.case_id == case_id, DiscussionRoom.kind == "joint").order_by(DiscussionRoom.id)
    return (await db.execute(query.limit(1))).scalar_one_or_none()


async def open_discussions(db: AsyncSession, access: CaseAccess) -> DiscussionRoomOut:
    """Open the Discussions tab and its joint room. Opening twice is harmless: the same joint room comes back."""
    _refuse_unless_manager(access, "open discussions")
    _refuse_if_over(access.case)
    room = await _joint_room(db, access.case.id)
    if room is None:
        room = DiscussionRoom(case_id=access.case.id, name=JOINT_ROOM_NAME, kind="joint", created_by_id=access.viewer.id)
        db.add(room)
    access.case.discussions_open = True
    await db.commit()
    return await _room_out(db, room)


async def create_caucus_room(db: AsyncSession, access: CaseAccess, new: NewCaucusRoom) -> DiscussionRoomOut:
    """A private room with chosen participants of the case; the mediator is always in it."""
    _refuse_unless_manager(access, "set up caucus rooms")
    _refuse_if_over(access.case)
    if not access.case.discussions_open:
        raise Rejected("Open discussions first; caucus rooms come after the joint room.")
    on_case = await participant_ids(db, access.case.id)
    chosen = list(dict.fromkeys(new.member_ids))
    if any(pid not in on_case for pid in chosen):
        raise Invalid(MEMBERS_ON_CASE, {"member_ids": MEMBERS_ON_CASE})
    mediator_id = access.case.mediator_id
    others = [pid for pid in chosen if pid != mediator_id]
    if not others:
        message = "Choose at least one person besides the mediator for the caucus room."
        raise Invalid(message, {"member_ids": message})
    name = new.name
    if not name:
        people = await _people(db, others)
        name = ("Caucus with " + ", ".join(people[pid].full_name for pid in others if pid in people))[:MAX_ROOM_NAME]
    room = DiscussionRoom(case_id=access.case.id, name=name, kind="caucus", created_by_id=access.viewer.id)
    db.add(room)
    await db.flush()
    members = ([mediator_id] if mediator_id is not None else []) + others
    db.add_all(RoomMember(room_id=room.id, person_id=pid) for pid in members)
    await db.commit()
    return await _room_out(db, room)


async def visible_room(db: AsyncSession, access: CaseAccess, room_id: int) -> DiscussionRoomOut:
    """The room, if it belongs to this case and this person may see it."""
    return await _room_out(db, await _visible_row(db, access, room_id))


def _attachment_out(case_id: int, document: Document) -> RoomAttachmentOut:
    return RoomAttachmentOut(
        id=document.id,
        title=document.title,
        file_name=document.file_name,
        size_bytes=document.size_bytes,
        download_url=f"/cases/{case_id}/documents/{document.id}/download",
    )


def _message_out(case_id: int, message: RoomMessage, author_name: str, document: Document | None) -> RoomMessageOut:
    return RoomMessageOut(
        id=message.id,
        author_id=message.author_id,
        author_name=author_name,
        body=message.body,
        created_at=as_utc(message.created_at),
        attachment=_attachment_out(case_id, document) if document is not None else None,
    )


async def room_messages(db: AsyncSession, access: CaseAccess, room_id: int) -> list[RoomMessageOut]:
    """A room's messages, oldest first as a chat reads, for someone who may see the room."""
    room = await _visible_row(db, access, room_id)
    query = select(RoomMessage).where(RoomMessage.room_id == room.id).options(selectinload(RoomMessage.author)).order_by(RoomMessage.created_at, RoomMessage.id)
    messages = list((await db.execute(query)).scalars())
    doc_ids = [m.document_id for m in messages if m.document_id]
    documents = {d.id: d for d in (await db.execute(select(Document).where(Document.id.in_(doc_ids or [-1])))).scalars()}
    return [_message_out(access.case.id, m, m.author.full_name, documents.get(m.document_id) if m.document_id else None) for m in messages]


async def post_message(
    ctx: AppContext, db: AsyncSession, access: CaseAccess, room_id: int, message: NewRoomMessage, attachment: IncomingFile | None = None
) -> RoomMessageOut:
    """Post in a room: the message and its attachment (shared with exactly the room's members, and filed in the
    case's Documents), then tell the room's email digest."""
    room = await _visible_row(db, access, room_id)
    _refuse_if_over(access.case)
    if not message.body and attachment is None:
        raise Invalid(EMPTY_MESSAGE, {"body": EMPTY_MESSAGE})
    # Before anything is saved: a Temporal that cannot be reached at all stops the post, not just its digest.
    client = await ctx.temporal.client()
    document = None
    if attachment is not None:
        details = NewDocument(
            category=ATTACHMENT_CATEGORY,
            title=sanitise_file_name(attachment.filename) or "Attachment",
            description=f"Attached in the discussion room {room.name}",
            share_with=await room_member_ids(db, room),
        )
        document = await store_upload(ctx, db, access.case, access.viewer.id, attachment, details, room_id=room.id, file_field="attachment")
    posted = RoomMessage(room_id=room.id, author_id=access.viewer.id, body=message.body, document_id=document.id if document else None)
    db.add(posted)
    await db.commit()
    await signal_digest(client, ctx.settings, room.id, posted.id)
    return _message_out(access.case.id, posted, access.viewer.person.full_name, document)


async def caucus_choices(db: AsyncSession, access: CaseAccess) -> CaucusChoices:
    rows = (
        await db.execute(
            select(Participant, Person).join(Person, Person.id == Participant.person_id).where(Participant.case_id == access.case.id).order_by(Participant.id)
        )
    ).all()
    mediator_id = access.case.mediator_id
    mediator = await db.get(Person, mediator_id) if mediator_id is not None else None
    choices: dict[int, CaucusChoice] = {}
    for participant, person in rows:
        if person.id == mediator_id:
            continue
        role = ROLE_NAMES.get(participant.role, participant.role)
        if participant.side:
            role = f"{role}, {participant.side}"
        choices.setdefault(person.id, CaucusChoice(id=person.id, name=person.full_name, roles=[])).roles.append(role)
    return CaucusChoices(mediator_name=mediator.full_name if mediator else "", people=list(choices.values()))


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
