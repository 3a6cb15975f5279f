"""The case calendar: events the mediator adds, seen by every participant, and downloadable as iCalendar files.

`save_event` is the one action behind the page's add and change forms and the JSON API: an event is checked,
scheduled in the workflow when it is the Mediation session, stored and announced the same way whichever way it
arrives. Times are kept in UTC and typed in the sender's time zone (see the times section of
features/calendar/models.py); the .ics files give every time in UTC, which every calendar program reads as the same
moment and shows in its owner's zone.
"""

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.types import Notification
from core.case_facts import case_titles
from core.db.models import CalendarEvent, Case, Person
from core.errors import Forbidden, NotFound, Rejected
from core.stages import FINAL_STAGES, Stage
from core.time import zone_for
from features.access import CaseAccess
from features.calendar.models import CalendarEventIn, CalendarOut, EventOut
from features.context import AppContext
from features.lifecycle import ActionRejected, LifecycleUnavailable, run_update
from features.notifications import notify
from notifications.icalendar import event_file as ics_of_event
from notifications.icalendar import icalendar_file
from workflows.case import CaseWorkflow
from workflows.types import MediatorMilestone

log = logging.getLogger(__name__)

NOT_YOURS = "Only the case's mediator or center staff can add or change calendar events."
CASE_OVER = "This case is over; its calendar can no longer change."


# ---- reading ----------------------------------------------------------------------------------------


async def _rows(db: AsyncSession, case_id: int) -> list[CalendarEvent]:
    query = select(CalendarEvent).where(CalendarEvent.case_id == case_id).order_by(CalendarEvent.starts_at, CalendarEvent.id)
    return list((await db.execute(query)).scalars())


async def _row(db: AsyncSession, access: CaseAccess, event_id: int) -> CalendarEvent:
    event = await db.get(CalendarEvent, event_id)
    if event is None or event.case_id != access.case.id:
        raise NotFound("No such calendar event.")
    return event


async def case_events(db: AsyncSession, case_id: int) -> list[EventOut]:
    """The case's events, earliest first."""
    return [EventOut.model_validate(row) for row in await _rows(db, case_id)]


def can_edit(access: CaseAccess) -> bool:
    case = access.case
    return access.is_staff or (case.mediator_id is not None and case.mediator_id == access.viewer.id)


def check_can_edit(access: CaseAccess) -> None:
    if not can_edit(access):
        raise Forbidden(NOT_YOURS)


async def case_calendar(db: AsyncSession, access: CaseAccess) -> CalendarOut:
    events = await case_events(db, access.case.id)
    seconds = sum((e.ends_at - e.starts_at).total_seconds() for e in events)
    return CalendarOut(
        case_id=access.case.id,
        title=(await case_titles(db, [access.case.id]))[access.case.id],
        events=events,
        total_sessions=len(events),
        total_hours=round(seconds / 3600, 2),
        can_edit=can_edit(access),
    )


async def event_to_change(db: AsyncSession, access: CaseAccess, event_id: int) -> EventOut:
    """An event for its change form: only for those who may change it."""
    event = await _row(db, access, event_id)
    check_can_edit(access)
    return EventOut.model_validate(event)


# ---- changing ---------------------------------------------------------------------------------------


async def save_event(ctx: AppContext, db: AsyncSession, access: CaseAccess, values: CalendarEventIn, event_id: int | None = None) -> EventOut:
    """Add an event (no `event_id`) or change one, then email the other participants.

    A Mediation session schedules the case in its workflow first, when it is not scheduled yet: if the workflow
    refuses (no mediator has accepted), nothing is saved and the refusal names the Mediation box."""
    case, person = access.case, access.viewer.person
    event = await _row(db, access, event_id) if event_id is not None else None
    check_can_edit(access)
    if case.stage in {str(s) for s in FINAL_STAGES}:
        raise Rejected(CASE_OVER)
    values = values.placed_in(zone_for(person.time_zone, ctx.settings.center_time_zone))
    if values.is_mediation and not (event is not None and event.is_mediation):
        await _schedule_mediation(ctx, db, case, person)

    if event is None:
        event = CalendarEvent(case_id=case.id, created_by_id=person.id, sequence=0)
        db.add(event)
        change = "added"
    else:
        event.sequence = (event.sequence or 0) + 1
        change = "updated"
    for name, value in values.model_dump().items():
        setattr(event, name, value)
    await db.commit()
    await _announce(ctx, case, event, person, change)
    return EventOut.model_validate(event)


async def _schedule_mediation(ctx: AppContext, db: AsyncSession, case: Case, person: Person) -> None:
    # A second Mediation session, or one moved to another day, leaves the case scheduled as it is.
    if case.mediation_scheduled or case.stage == Stage.SCHEDULED:
        return
    try:
        await run_update(ctx, case.id, CaseWorkflow.record_scheduled, MediatorMilestone(actor_id=person.id, is_staff=person.is_staff), db=db)
    except ActionRejected as refused:
        raise ActionRejected(refused.message, {"is_mediation": refused.message}) from refused


async def _announce(ctx: AppContext, case: Case, event: CalendarEvent, actor: Person, change: str) -> None:
    """Everyone else on the case is emailed the event as it now stands, once per version of it."""
    notification = Notification(
        key=f"calendar/{event.id}/{event.sequence}",
        template="calendar_event",
        case_id=case.id,
        all_participants=True,
        except_ids=[actor.id],
        details={"event_id": str(event.id), "change": change},
    )
    try:
        await notify(ctx, notification)
    except LifecycleUnavailable:
        # The event is saved; the change must not look failed because its emails could not be queued.
        log.exception("could not queue the emails of calendar event %s", event.id)


# ---- iCalendar (RFC 5545): built in notifications/icalendar.py, which calendar emails attach too -------


async def case_calendar_file(ctx: AppContext, db: AsyncSession, access: CaseAccess) -> bytes:
    """The whole case calendar as one iCalendar file."""
    case = access.case
    return icalendar_file(ctx.settings, case, await _rows(db, case.id), f"Case {case.id} · {case.property_address}")


async def event_file(ctx: AppContext, db: AsyncSession, access: CaseAccess, event_id: int) -> bytes:
    """One event as an iCalendar file, to add it to one's own calendar."""
    return ics_of_event(ctx.settings, access.case, await _row(db, access, event_id))
