"""The case Calendar: the page, its add and change forms, iCalendar downloads, and the JSON API, all doors to
features/calendar."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.deps import CaseAccess, CaseInView, Ctx, Db, PathId, csrf_protect
from api.errors import documented, status_of
from api.forms import submit
from api.pages import render, viewer_zone
from core.errors import DomainError
from features.calendar.models import MEETING_TYPES, CalendarEventIn, CalendarOut, EventOut
from features.calendar.service import case_calendar, case_calendar_file, check_can_edit, event_file, event_to_change, save_event

router = APIRouter(tags=["calendar"])
CSRF = [Depends(csrf_protect)]

ICS_TYPE = "text/calendar; charset=utf-8"
ICS_RESPONSES = {200: {"content": {"text/calendar": {}}, "description": "An iCalendar (RFC 5545) file"}, **documented(401, 404)}
BLANK_EVENT = {"title": "", "starts_at": "", "ends_at": "", "meeting_type": "Online", "location": "", "notes": "", "is_mediation": False}


async def calendar_editor(access: CaseInView) -> CaseAccess:
    # Before the form or body is read: someone who may not change the calendar is told so, not what to fix.
    check_can_edit(access)
    return access


CalendarEditor = Annotated[CaseAccess, Depends(calendar_editor)]


def _ics(body: bytes, file_name: str) -> Response:
    return Response(body, media_type=ICS_TYPE, headers={"Content-Disposition": f'attachment; filename="{file_name}"'})


# ---- pages --------------------------------------------------------------------------------------


async def _page(request: Request, db: Db, access: CaseAccess, editing: EventOut | None = None, problem: DomainError | None = None) -> Response:
    if problem is not None:
        # The form comes back as it was sent, with what to change next to each field.
        form = await request.form()
        draft: dict[str, object] = {name: str(form.get(name, "")) for name in CalendarEventIn.model_fields} | {"is_mediation": "is_mediation" in form}
    else:
        draft = editing.form_values(viewer_zone(request)) if editing else BLANK_EVENT
    return render(
        request,
        "pages/calendar.html",
        status_code=status_of(problem) if problem else 200,
        case=access.case,
        access=access,
        calendar=await case_calendar(db, access),
        draft=draft,
        editing=editing,
        errors=(problem.fields or {"form": problem.message}) if problem else {},
        meeting_types=MEETING_TYPES,
    )


def _saved(access: CaseAccess, done: str):
    return lambda event: (f"/cases/{access.case.id}/calendar#event-{event.id}", f"{done}; the participants were emailed.")


@router.get("/cases/{case_id}/calendar", include_in_schema=False)
async def calendar_page(request: Request, db: Db, access: CaseInView):
    return await _page(request, db, access)


@router.post("/cases/{case_id}/calendar", include_in_schema=False, dependencies=CSRF)
async def add_event_form(request: Request, ctx: Ctx, db: Db, access: CalendarEditor):
    async def action(values: CalendarEventIn) -> EventOut:
        return await save_event(ctx, db, access, values)

    async def page(problem: DomainError) -> Response:
        return await _page(request, db, access, problem=problem)

    return await submit(request, CalendarEventIn, action, page, _saved(access, "The event was added"))


@router.get("/cases/{case_id}/calendar/{event_id}/edit", include_in_schema=False)
async def edit_event_page(request: Request, db: Db, access: CalendarEditor, event_id: PathId):
    return await _page(request, db, access, editing=await event_to_change(db, access, event_id))


@router.post("/cases/{case_id}/calendar/{event_id}", include_in_schema=False, dependencies=CSRF)
async def edit_event_form(request: Request, ctx: Ctx, db: Db, access: CalendarEditor, event_id: PathId):
    editing = await event_to_change(db, access, event_id)

    async def action(values: CalendarEventIn) -> EventOut:
        return await save_event(ctx, db, access, values, event_id)

    async def page(problem: DomainError) -> Response:
        return await _page(request, db, access, editing, problem)

    return await submit(request, CalendarEventIn, action, page, _saved(access, "The event was updated"))


# ---- iCalendar ------------------------------------------------------------------------------------


@router.get("/cases/{case_id}/calendar.ics", summary="The case calendar as iCalendar", response_class=Response, responses=ICS_RESPONSES)
async def case_calendar_ics(ctx: Ctx, db: Db, access: CaseInView) -> Response:
    """Every event of the case, to subscribe to or import into a calendar program."""
    return _ics(await case_calendar_file(ctx, db, access), f"case-{access.case.id}.ics")


@router.get("/cases/{case_id}/calendar/{event_id}.ics", summary="One calendar event as iCalendar", response_class=Response, responses=ICS_RESPONSES)
async def event_ics(ctx: Ctx, db: Db, access: CaseInView, event_id: PathId) -> Response:
    """One event, to add it to a calendar program."""
    return _ics(await event_file(ctx, db, access, event_id), f"case-{access.case.id}-event-{event_id}.ics")


# ---- JSON -----------------------------------------------------------------------------------------


@router.get("/api/v1/cases/{case_id}/calendar", summary="The case calendar with its totals", response_model=CalendarOut, responses=documented(401, 404))
async def calendar_json(db: Db, access: CaseInView) -> CalendarOut:
    """The case's events, earliest first, with the total sessions and hours."""
    return await case_calendar(db, access)


@router.post(
    "/api/v1/cases/{case_id}/calendar",
    summary="Add a calendar event (mediator or staff); participants are emailed",
    response_model=EventOut,
    status_code=201,
    dependencies=CSRF,
    responses=documented(401, 403, 404, 409, 422, 503),
)
async def add_event_json(body: CalendarEventIn, ctx: Ctx, db: Db, access: CalendarEditor) -> EventOut:
    """Add an event; the Mediation session (`is_mediation`) schedules the case, which needs an accepted mediator (409 before)."""
    return await save_event(ctx, db, access, body)


@router.put(
    "/api/v1/cases/{case_id}/calendar/{event_id}",
    summary="Change a calendar event (mediator or staff); participants are emailed",
    response_model=EventOut,
    dependencies=CSRF,
    responses=documented(401, 403, 404, 409, 422, 503),
)
async def change_event_json(event_id: PathId, body: CalendarEventIn, ctx: Ctx, db: Db, access: CalendarEditor) -> EventOut:
    """Change an event; its iCalendar SEQUENCE goes up, so calendar programs replace their copy."""
    return await save_event(ctx, db, access, body, event_id)
