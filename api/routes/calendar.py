"""The case Calendar: the page, its add/change forms, iCalendar downloads, and the JSON API over the same service."""

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from api.deps import CaseAccess, CaseInView, csrf_protect, Ctx, Db, PathId
from api.pages import redirect, render
from api.errors import documented
from core.db.models import CalendarEvent
from features.calendar import service
from features.calendar.service import MEETING_TYPES, EventDraft, EventProblem, NotAllowed, as_utc
from features.lifecycle import ActionRejected

router = APIRouter()

ICS_TYPE = "text/calendar; charset=utf-8"


def _ics_response(body: str, file_name: str) -> Response:
    return Response(body, media_type=ICS_TYPE, headers={"Content-Disposition": f'attachment; filename="{file_name}"'})


async def _event_or_404(db: Db, access: CaseAccess, event_id: int) -> CalendarEvent:
    event = await service.find_event(db, access.case.id, event_id)
    if event is None:
        raise HTTPException(status_code=404, detail="No such calendar event.")
    return event


# ---- pages --------------------------------------------------------------------------------------


async def _page(request: Request, db: Db, access: CaseAccess, *, draft: EventDraft | None = None, editing: CalendarEvent | None = None,
                errors: dict[str, str] | None = None, status_code: int = 200):
    calendar = await service.case_calendar(db, access.case, access.viewer.person)
    return render(
        request,
        "pages/calendar.html",
        status_code=status_code,
        case=access.case,
        access=access,
        calendar=calendar,
        draft=draft or EventDraft(),
        editing=editing,
        errors=errors or {},
        meeting_types=MEETING_TYPES,
    )


@router.get("/cases/{case_id}/calendar", include_in_schema=False)
async def calendar_page(request: Request, db: Db, access: CaseInView):
    return await _page(request, db, access)


@router.post("/cases/{case_id}/calendar", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def add_event_form(request: Request, ctx: Ctx, db: Db, access: CaseInView):
    draft = EventDraft.from_form(await request.form())
    return await _save_from_form(request, ctx, db, access, draft, None)


@router.get("/cases/{case_id}/calendar/{event_id}/edit", include_in_schema=False)
async def edit_event_page(request: Request, db: Db, access: CaseInView, event_id: PathId):
    event = await _event_or_404(db, access, event_id)
    if not service.can_edit(access.case, access.viewer.person):
        raise HTTPException(status_code=403, detail="Only the case's mediator or center staff can change calendar events.")
    return await _page(request, db, access, draft=EventDraft.from_event(event), editing=event)


@router.post("/cases/{case_id}/calendar/{event_id}", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def edit_event_form(request: Request, ctx: Ctx, db: Db, access: CaseInView, event_id: PathId):
    event = await _event_or_404(db, access, event_id)
    draft = EventDraft.from_form(await request.form())
    return await _save_from_form(request, ctx, db, access, draft, event)


async def _save_from_form(request: Request, ctx: Ctx, db: Db, access: CaseAccess, draft: EventDraft, event: CalendarEvent | None):
    try:
        saved = await service.save_event(ctx, db, access.case, access.viewer.person, draft, event)
    except NotAllowed as refusal:
        raise HTTPException(status_code=403, detail=str(refusal)) from refusal
    except EventProblem as problem:
        return await _page(request, db, access, draft=draft, editing=event, errors=problem.errors, status_code=422)
    except ActionRejected as refusal:
        return await _page(request, db, access, draft=draft, editing=event, errors={"is_mediation": str(refusal)}, status_code=409)
    done = "The event was updated" if event is not None else "The event was added"
    return redirect(request, f"/cases/{access.case.id}/calendar#event-{saved.id}", f"{done}; the participants were emailed.")


# ---- iCalendar ------------------------------------------------------------------------------------

ICS_RESPONSES = {200: {"content": {"text/calendar": {}}, "description": "An iCalendar (RFC 5545) file"}, **documented(401, 404)}


@router.get("/cases/{case_id}/calendar.ics", tags=["calendar"], summary="The case calendar as iCalendar", response_class=Response, responses=ICS_RESPONSES)
async def case_calendar_ics(ctx: Ctx, db: Db, access: CaseInView) -> Response:
    events = await service.case_events(db, access.case.id)
    body = service.icalendar(ctx, access.case, events, f"Case {access.case.id} · {access.case.property_address}")
    return _ics_response(body, f"case-{access.case.id}.ics")


@router.get("/cases/{case_id}/calendar/{event_id}.ics", tags=["calendar"], summary="One calendar event as iCalendar", response_class=Response,
            responses=ICS_RESPONSES)
async def event_ics(ctx: Ctx, db: Db, access: CaseInView, event_id: PathId) -> Response:
    event = await _event_or_404(db, access, event_id)
    body = service.icalendar(ctx, access.case, [event], f"Case {access.case.id} · {event.title}")
    return _ics_response(body, f"case-{access.case.id}-event-{event.id}.ics")


# ---- JSON -----------------------------------------------------------------------------------------


class EventIn(BaseModel):
    title: str = Field(max_length=200)
    starts_at: datetime = Field(description="ISO 8601; a time without a zone is taken as UTC.")
    ends_at: datetime = Field(description="ISO 8601, after starts_at; a time without a zone is taken as UTC.")
    meeting_type: Literal["Online", "In person", "Phone"] = "Online"
    location: str = Field("", max_length=300, description="The room, or the link of an online meeting.")
    notes: str = Field("", max_length=5000)
    is_mediation: bool = Field(False, description="This is the Mediation session: adding it moves the case to scheduled.")

    def draft(self) -> EventDraft:
        return EventDraft(self.title, self.starts_at, self.ends_at, self.meeting_type, self.location, self.notes, self.is_mediation)


class EventOut(BaseModel):
    id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    meeting_type: str
    location: str
    notes: str
    is_mediation: bool
    sequence: int = Field(description="Incremented on each change, as the iCalendar SEQUENCE.")
    ics_url: str


class CalendarOut(BaseModel):
    events: list[EventOut]
    total_sessions: int
    total_hours: float
    can_edit: bool = Field(description="Whether the viewer (the case's mediator or staff) may add and change events.")
    ics_url: str


def _event_out(case_id: int, event: CalendarEvent) -> EventOut:
    return EventOut(
        id=event.id,
        title=event.title,
        starts_at=as_utc(event.starts_at),
        ends_at=as_utc(event.ends_at),
        meeting_type=event.meeting_type,
        location=event.location,
        notes=event.notes,
        is_mediation=event.is_mediation,
        sequence=event.sequence or 0,
        ics_url=f"/cases/{case_id}/calendar/{event.id}.ics",
    )


async def _save_from_json(ctx: Ctx, db: Db, access: CaseAccess, body: EventIn, event: CalendarEvent | None) -> EventOut:
    try:
        saved = await service.save_event(ctx, db, access.case, access.viewer.person, body.draft(), event)
    except NotAllowed as refusal:
        raise HTTPException(status_code=403, detail=str(refusal)) from refusal
    except EventProblem as problem:
        raise HTTPException(status_code=422, detail=str(problem)) from problem
    return _event_out(access.case.id, saved)


@router.get("/api/v1/cases/{case_id}/calendar", tags=["calendar"], summary="The case calendar with its totals", response_model=CalendarOut,
            responses=documented(401, 404))
async def calendar_json(db: Db, access: CaseInView) -> CalendarOut:
    calendar = await service.case_calendar(db, access.case, access.viewer.person)
    return CalendarOut(
        events=[_event_out(access.case.id, e) for e in calendar.events],
        total_sessions=calendar.totals.sessions,
        total_hours=calendar.totals.hours,
        can_edit=calendar.can_edit,
        ics_url=f"/cases/{access.case.id}/calendar.ics",
    )


@router.post("/api/v1/cases/{case_id}/calendar", tags=["calendar"], summary="Add a calendar event (mediator or staff); participants are emailed",
             response_model=EventOut, status_code=201, dependencies=[Depends(csrf_protect)], responses=documented(401, 403, 404, 409, 422))
async def add_event_json(body: EventIn, ctx: Ctx, db: Db, access: CaseInView) -> EventOut:
    return await _save_from_json(ctx, db, access, body, None)


@router.put("/api/v1/cases/{case_id}/calendar/{event_id}", tags=["calendar"], summary="Change a calendar event (mediator or staff); participants are emailed",
            response_model=EventOut, dependencies=[Depends(csrf_protect)], responses=documented(401, 403, 404, 409, 422))
async def change_event_json(event_id: PathId, body: EventIn, ctx: Ctx, db: Db, access: CaseInView) -> EventOut:
    event = await _event_or_404(db, access, event_id)
    return await _save_from_json(ctx, db, access, body, event)
