"""Discussions: the joint room and private caucus rooms, as pages and as JSON under /api/v1.

Both front doors call the same functions of services/discussions.py, which also decides who is in a room:
someone outside a room gets the same 404 as for a room that does not exist.
"""

from datetime import datetime, timezone
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import CaseAccess, CaseInView, csrf_protect, Ctx, Db, PathId
from api.pages import redirect, render
from api.errors import documented
from api.routes.documents import upload_size_guard
from core.inputs import Id, is_id
from core.db.models import DiscussionRoom, Participant, Person
from features.discussions import service
from core.case_facts import case_titles
from features.discussions.service import Actor, DiscussionProblem, MessageView, RoomView
from features.staff.participants import ROLE_NAMES

router = APIRouter()


def actor_for(access: CaseAccess) -> Actor:
    return Actor(case=access.case, person_id=access.viewer.id, is_staff=access.is_staff)


def room_url(case_id: int, room_id: int) -> str:
    return f"/cases/{case_id}/discussions/rooms/{room_id}"


def download_url(case_id: int, document_id: int) -> str:
    return f"/cases/{case_id}/documents/{document_id}/download"


async def caucus_choices(db: AsyncSession, access: CaseAccess) -> list[dict]:
    """People the mediator may put in a caucus room: everyone on the case but the mediator, who is always in."""
    rows = (
        await db.execute(
            select(Participant, Person)
            .join(Person, Person.id == Participant.person_id)
            .where(Participant.case_id == access.case.id)
            .order_by(Participant.id)
        )
    ).all()
    choices: dict[int, dict] = {}
    for participant, person in rows:
        if person.id == access.case.mediator_id:
            continue
        role = ROLE_NAMES.get(participant.role, participant.role)
        if participant.side:
            role = f"{role}, {participant.side}"
        entry = choices.setdefault(person.id, {"id": person.id, "name": person.full_name, "roles": []})
        entry["roles"].append(role)
    return list(choices.values())


# ---- pages ------------------------------------------------------------------------------------


async def discussions_page(
    request: Request, db: AsyncSession, access: CaseInView, status_code: int = 200, error: str = "", form: dict | None = None
):
    actor = actor_for(access)
    found = await service.discussions_for(db, actor)
    mediator = await db.get(Person, access.case.mediator_id) if access.case.mediator_id else None
    return render(
        request,
        "pages/discussions.html",
        status_code=status_code,
        case=access.case,
        access=access,
        title=(await case_titles(db, [access.case.id]))[access.case.id],
        discussions=found,
        choices=await caucus_choices(db, access) if found.manages else [],
        mediator=mediator,
        over=service.is_over(access.case),
        case_over=service.CASE_OVER,
        error=error,
        form=form or {"name": "", "member_ids": []},
    )


@router.get("/cases/{case_id}/discussions", include_in_schema=False)
async def discussions_tab(request: Request, db: Db, access: CaseInView):
    return await discussions_page(request, db, access)


@router.post("/cases/{case_id}/discussions/open", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def open_discussions_form(request: Request, db: Db, access: CaseInView):
    try:
        room = await service.open_discussions(db, actor_for(access))
    except DiscussionProblem as problem:
        return await discussions_page(request, db, access, status_code=problem.status_code, error=problem.message)
    return redirect(request, room_url(access.case.id, room.id), "Discussions are open. Everyone on the case can read and post in the joint discussion.")


def _ids(values: list) -> list[int]:
    return [int(v) for v in values if str(v).isdigit() and is_id(int(v))]


@router.post("/cases/{case_id}/discussions/rooms", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def create_caucus_form(request: Request, db: Db, access: CaseInView):
    form = await request.form()
    name = str(form.get("name", ""))
    member_ids = _ids(form.getlist("member_ids"))
    try:
        room = await service.create_caucus_room(db, actor_for(access), name, member_ids)
    except DiscussionProblem as problem:
        return await discussions_page(
            request, db, access, status_code=problem.status_code, error=problem.message, form={"name": name, "member_ids": member_ids}
        )
    return redirect(request, room_url(access.case.id, room.id), f"Caucus room \u201c{room.name}\u201d created. Only its members can see it.")


async def room_or_404(db: AsyncSession, access: CaseAccess, room_id: int) -> DiscussionRoom:
    try:
        return await service.visible_room(db, actor_for(access), room_id)
    except DiscussionProblem as problem:
        raise HTTPException(status_code=problem.status_code, detail=problem.message) from problem


async def room_page(request: Request, db: AsyncSession, access: CaseAccess, room: DiscussionRoom, status_code: int = 200, error: str = "", body: str = ""):
    return render(
        request,
        "pages/discussion_room.html",
        status_code=status_code,
        case=access.case,
        access=access,
        title=(await case_titles(db, [access.case.id]))[access.case.id],
        room=await service.room_view(db, room),
        messages=await service.room_messages(db, room),
        error=error,
        body=body,
        over=service.is_over(access.case),
        case_over=service.CASE_OVER,
        max_length=service.MAX_MESSAGE_LENGTH,
    )


@router.get("/cases/{case_id}/discussions/rooms/{room_id}", include_in_schema=False)
async def room_tab(request: Request, db: Db, access: CaseInView, room_id: PathId):
    return await room_page(request, db, access, await room_or_404(db, access, room_id))


@router.post(
    "/cases/{case_id}/discussions/rooms/{room_id}/messages",
    include_in_schema=False,
    dependencies=[Depends(upload_size_guard), Depends(csrf_protect)],
)
async def post_message_form(request: Request, ctx: Ctx, db: Db, access: CaseInView, room_id: PathId):
    room = await room_or_404(db, access, room_id)
    form = await request.form()
    body = str(form.get("body", ""))
    upload = form.get("attachment")
    if isinstance(upload, str):
        upload = None
    try:
        await service.post_message(db, await ctx.temporal.client(), ctx.settings, actor_for(access), room, body, upload)
    except DiscussionProblem as problem:
        return await room_page(request, db, access, room, status_code=problem.status_code, error=problem.message, body=body)
    return redirect(request, room_url(access.case.id, room.id) + "#latest")


# ---- JSON API ---------------------------------------------------------------------------------


class RoomMemberOut(BaseModel):
    id: int
    full_name: str


class DiscussionRoomOut(BaseModel):
    id: int
    name: str
    kind: Literal["joint", "caucus"]
    members: list[RoomMemberOut]
    message_count: int
    last_message_at: datetime | None
    url: str = Field(description="The room's page.")


class DiscussionsOverview(BaseModel):
    open: bool = Field(description="False until the mediator opens discussions.")
    can_manage: bool = Field(description="Whether you may open discussions and set up caucus rooms (the mediator and staff).")
    rooms: list[DiscussionRoomOut] = Field(description="Only the rooms you are a member of (staff: all rooms).")


class NewCaucusRoom(BaseModel):
    name: str = Field("", max_length=service.MAX_ROOM_NAME, description="Empty gives a name from the members.")
    member_ids: list[Id] = Field(description="People on the case; the mediator is always added.", max_length=200)


class RoomAttachmentOut(BaseModel):
    id: int
    title: str
    file_name: str
    size_bytes: int
    download_url: str


class RoomMessageOut(BaseModel):
    id: int
    author_id: int
    author_name: str
    body: str
    created_at: datetime
    attachment: RoomAttachmentOut | None


class NewRoomMessage(BaseModel):
    body: str = Field(min_length=1, max_length=service.MAX_MESSAGE_LENGTH)


def utc(moment: datetime | None) -> datetime | None:
    # SQLite hands datetimes back without their zone; they were stored in UTC.
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def room_out(case_id: int, view: RoomView) -> DiscussionRoomOut:
    return DiscussionRoomOut(
        id=view.room.id,
        name=view.room.name,
        kind=view.room.kind,
        members=[RoomMemberOut(id=p.id, full_name=p.full_name) for p in view.members],
        message_count=view.message_count,
        last_message_at=utc(view.last_message_at),
        url=room_url(case_id, view.room.id),
    )


def message_out(case_id: int, view: MessageView) -> RoomMessageOut:
    document = view.document
    return RoomMessageOut(
        id=view.message.id,
        author_id=view.message.author_id,
        author_name=view.author_name,
        body=view.message.body,
        created_at=utc(view.message.created_at),
        attachment=RoomAttachmentOut(
            id=document.id, title=document.title, file_name=document.file_name, size_bytes=document.size_bytes, download_url=download_url(case_id, document.id)
        )
        if document
        else None,
    )


async def overview(db: AsyncSession, access: CaseAccess) -> DiscussionsOverview:
    found = await service.discussions_for(db, actor_for(access))
    return DiscussionsOverview(open=found.open, can_manage=found.manages, rooms=[room_out(access.case.id, r) for r in found.rooms])


def as_http(problem: DiscussionProblem) -> HTTPException:
    return HTTPException(status_code=problem.status_code, detail=problem.message)


@router.get(
    "/api/v1/cases/{case_id}/discussions",
    tags=["discussions"],
    summary="Discussion rooms you can see",
    response_model=DiscussionsOverview,
    responses=documented(401, 404),
)
async def api_discussions(db: Db, access: CaseInView) -> DiscussionsOverview:
    return await overview(db, access)


@router.post(
    "/api/v1/cases/{case_id}/discussions/open",
    tags=["discussions"],
    summary="Open discussions and the joint room (the mediator or staff)",
    response_model=DiscussionsOverview,
    dependencies=[Depends(csrf_protect)],
    responses=documented(401, 403, 404, 409),
)
async def api_open_discussions(db: Db, access: CaseInView) -> DiscussionsOverview:
    try:
        await service.open_discussions(db, actor_for(access))
    except DiscussionProblem as problem:
        raise as_http(problem) from problem
    return await overview(db, access)


@router.post(
    "/api/v1/cases/{case_id}/discussions/rooms",
    tags=["discussions"],
    summary="Create a private caucus room (the mediator or staff)",
    response_model=DiscussionRoomOut,
    status_code=201,
    dependencies=[Depends(csrf_protect)],
    responses=documented(401, 403, 404, 409, 422),
)
async def api_create_caucus(body: NewCaucusRoom, db: Db, access: CaseInView) -> DiscussionRoomOut:
    try:
        room = await service.create_caucus_room(db, actor_for(access), body.name, body.member_ids)
    except DiscussionProblem as problem:
        raise as_http(problem) from problem
    return room_out(access.case.id, await service.room_view(db, room))


async def api_room(db: AsyncSession, access: CaseAccess, room_id: int) -> DiscussionRoom:
    try:
        return await service.visible_room(db, actor_for(access), room_id)
    except DiscussionProblem as problem:
        raise as_http(problem) from problem


@router.get(
    "/api/v1/cases/{case_id}/discussions/rooms/{room_id}/messages",
    tags=["discussions"],
    summary="A room's messages, oldest first",
    response_model=list[RoomMessageOut],
    responses=documented(401, 404),
)
async def api_room_messages(room_id: PathId, db: Db, access: CaseInView) -> list[RoomMessageOut]:
    room = await api_room(db, access, room_id)
    return [message_out(access.case.id, m) for m in await service.room_messages(db, room)]


@router.post(
    "/api/v1/cases/{case_id}/discussions/rooms/{room_id}/messages",
    tags=["discussions"],
    summary="Post a message in a room (attach files from the room page)",
    response_model=RoomMessageOut,
    status_code=201,
    dependencies=[Depends(csrf_protect)],
    responses=documented(401, 403, 404, 409, 422),
)
async def api_post_message(room_id: PathId, body: NewRoomMessage, ctx: Ctx, db: Db, access: CaseInView) -> RoomMessageOut:
    room = await api_room(db, access, room_id)
    try:
        posted = await service.post_message(db, await ctx.temporal.client(), ctx.settings, actor_for(access), room, body.body)
    except DiscussionProblem as problem:
        raise as_http(problem) from problem
    return message_out(access.case.id, posted)
