"""Discussions: the joint room and private caucus rooms, as pages and as JSON under /api/v1, both doors to
features/discussions."""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.deps import CaseAccess, CaseInView, Ctx, Db, PathId, csrf_protect
from api.errors import documented, status_of
from api.forms import SHOWN_ON_THE_PAGE, body_input, form_data, form_input, submit, uploaded_file
from api.pages import redirect, render
from core.case_facts import case_titles
from core.errors import DomainError
from features.discussions.models import (
    MAX_MESSAGE_LENGTH,
    DiscussionRoomOut,
    DiscussionsOverview,
    NewCaucusRoom,
    NewRoomMessage,
    RoomMessageOut,
)
from features.discussions.service import (
    CASE_OVER,
    case_is_over,
    caucus_choices,
    create_caucus_room,
    discussions_overview,
    open_discussions,
    post_message,
    room_messages,
    visible_room,
)

router = APIRouter(tags=["discussions"])


async def _page(request: Request, db, access: CaseAccess, problem: DomainError | None = None, typed: dict | None = None) -> Response:
    overview = await discussions_overview(db, access)
    return render(
        request,
        "pages/discussions.html",
        status_code=status_of(problem) if problem else 200,
        case=access.case,
        access=access,
        title=(await case_titles(db, [access.case.id]))[access.case.id],
        discussions=overview,
        choices=await caucus_choices(db, access) if overview.can_manage else None,
        over=case_is_over(access.case),
        case_over=CASE_OVER,
        problem=problem,
        errors=problem.fields if problem else {},
        form={"name": "", "member_ids": [], **(typed or {})},
    )


@router.get("/cases/{case_id}/discussions", include_in_schema=False)
async def discussions_page(request: Request, db: Db, access: CaseInView):
    return await _page(request, db, access)


@router.post("/cases/{case_id}/discussions/open", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def open_discussions_form(request: Request, db: Db, access: CaseInView):
    try:
        joint = await open_discussions(db, access)
    except SHOWN_ON_THE_PAGE as problem:
        return await _page(request, db, access, problem)
    return redirect(request, joint.url, "Discussions are open. Everyone on the case can read and post in the joint discussion.")


@router.post("/cases/{case_id}/discussions/rooms", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def create_caucus_form(request: Request, db: Db, access: CaseInView):
    async def page(problem: DomainError) -> Response:
        return await _page(request, db, access, problem, form_data(await request.form(), NewCaucusRoom))

    return await submit(
        request,
        NewCaucusRoom,
        lambda room: create_caucus_room(db, access, room),
        page,
        lambda room: (room.url, f"Caucus room \u201c{room.name}\u201d created. Only its members can see it."),
    )


async def _room_page(request: Request, db, access: CaseAccess, room_id: int, problem: DomainError | None = None, typed: dict | None = None) -> Response:
    room = await visible_room(db, access, room_id)
    return render(
        request,
        "pages/discussion_room.html",
        status_code=status_of(problem) if problem else 200,
        case=access.case,
        access=access,
        title=(await case_titles(db, [access.case.id]))[access.case.id],
        room=room,
        messages=await room_messages(db, access, room_id),
        problem=problem,
        errors=problem.fields if problem else {},
        body=(typed or {}).get("body", ""),
        over=case_is_over(access.case),
        case_over=CASE_OVER,
        max_length=MAX_MESSAGE_LENGTH,
    )


@router.get("/cases/{case_id}/discussions/rooms/{room_id}", include_in_schema=False)
async def room_page(request: Request, db: Db, access: CaseInView, room_id: PathId):
    return await _room_page(request, db, access, room_id)


@router.post("/cases/{case_id}/discussions/rooms/{room_id}/messages", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def post_message_form(request: Request, ctx: Ctx, db: Db, access: CaseInView, room_id: PathId):
    try:
        await post_message(ctx, db, access, room_id, await form_input(request, NewRoomMessage), await uploaded_file(request, "attachment"))
    except SHOWN_ON_THE_PAGE as problem:
        return await _room_page(request, db, access, room_id, problem, form_data(await request.form(), NewRoomMessage))
    return redirect(request, f"/cases/{access.case.id}/discussions/rooms/{room_id}#latest")


# ---- JSON API ---------------------------------------------------------------------------------

# The route reads either body itself (a JSON message, or a form with a file beside it), so OpenAPI is told both
# shapes here, from the one model the page uses too.
_MESSAGE = NewRoomMessage.model_json_schema()
MESSAGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _MESSAGE},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        **_MESSAGE["properties"],
                        "attachment": {
                            "type": "string",
                            "format": "binary",
                            "description": "A file filed in the case's Documents for the room's members; with it, the body may be empty.",
                        },
                    },
                }
            },
        },
    }
}


@router.get("/api/v1/cases/{case_id}/discussions", summary="Discussion rooms you can see", response_model=DiscussionsOverview, responses=documented(401, 404))
async def api_discussions(db: Db, access: CaseInView) -> DiscussionsOverview:
    """Whether discussions are open, and the rooms you are a member of (staff: every room), joint room first."""
    return await discussions_overview(db, access)


@router.post(
    "/api/v1/cases/{case_id}/discussions/open",
    summary="Open discussions and the joint room (the mediator or staff)",
    response_model=DiscussionsOverview,
    dependencies=[Depends(csrf_protect)],
    responses=documented(401, 403, 404, 409),
)
async def api_open_discussions(db: Db, access: CaseInView) -> DiscussionsOverview:
    """Open discussions with a joint room for everyone on the case; opening again changes nothing."""
    await open_discussions(db, access)
    return await discussions_overview(db, access)


@router.post(
    "/api/v1/cases/{case_id}/discussions/rooms",
    summary="Create a private caucus room (the mediator or staff)",
    response_model=DiscussionRoomOut,
    status_code=201,
    dependencies=[Depends(csrf_protect)],
    responses=documented(401, 403, 404, 409, 422),
)
async def api_create_caucus(body: NewCaucusRoom, db: Db, access: CaseInView) -> DiscussionRoomOut:
    """A room only its members (and staff) can see; the mediator is always one of them."""
    return await create_caucus_room(db, access, body)


@router.get(
    "/api/v1/cases/{case_id}/discussions/rooms/{room_id}/messages",
    summary="A room's messages, oldest first",
    response_model=list[RoomMessageOut],
    responses=documented(401, 404),
)
async def api_room_messages(room_id: PathId, db: Db, access: CaseInView) -> list[RoomMessageOut]:
    """Every message of a room you are a member of, with its attachment if it has one."""
    return await room_messages(db, access, room_id)


@router.post(
    "/api/v1/cases/{case_id}/discussions/rooms/{room_id}/messages",
    summary="Post a message in a room, with an attachment if sent as multipart/form-data",
    response_model=RoomMessageOut,
    status_code=201,
    dependencies=[Depends(csrf_protect)],
    openapi_extra=MESSAGE_BODY,
    responses=documented(401, 403, 404, 409, 413, 415, 422, 503),
)
async def api_post_message(request: Request, room_id: PathId, ctx: Ctx, db: Db, access: CaseInView) -> RoomMessageOut:
    """Post as JSON `{"body": ...}`, or as a form with `body` and an `attachment` file; the room's members are emailed a digest."""
    message = await body_input(request, NewRoomMessage, "application/json", "multipart/form-data")
    return await post_message(ctx, db, access, room_id, message, await uploaded_file(request, "attachment"))
