"""The case calendar: events the mediator adds, seen by every participant.

Pages and the JSON API both call `save_event`, so an event is validated, scheduled in the workflow,
stored and announced the same way whichever way it arrives. Times are kept and shown in UTC.
"""

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from features.context import AppContext
from core.db.models import Case, CalendarEvent, Participant, Person
from notifications.sender import OutgoingEmail
from features.accounts.emails import deliver_stored_email
from core.case_facts import case_titles
from features.lifecycle import run_update
from workflows.case import CaseWorkflow
from workflows.types import MediatorMilestone
from core.stages import FINAL_STAGES, Stage

log = logging.getLogger(__name__)

MEETING_TYPES = ("Online", "In person", "Phone")
MAX_TITLE = 200
MAX_LOCATION = 300
MAX_NOTES = 5000


class NotAllowed(Exception):
    """This person sees the calendar but may not change it (shown as 403)."""


class EventProblem(Exception):
    """The event cannot be saved as given; each message says what to change (shown with the form, 422)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass
class EventDraft:
    """An event as typed in the form or sent as JSON. Times may still be text from a datetime-local input."""

    title: str = ""
    starts_at: datetime | str | None = None
    ends_at: datetime | str | None = None
    meeting_type: str = "Online"
    location: str = ""
    notes: str = ""
    is_mediation: bool = False

    @classmethod
    def from_form(cls, form) -> "EventDraft":
        return cls(
            title=str(form.get("title", "")),
            starts_at=str(form.get("starts_at", "")),
            ends_at=str(form.get("ends_at", "")),
            meeting_type=str(form.get("meeting_type", "")),
            location=str(form.get("location", "")),
            notes=str(form.get("notes", "")),
            is_mediation=form.get("is_mediation") in ("on", "true", "1", "yes"),
        )

    @classmethod
    def from_event(cls, event: CalendarEvent) -> "EventDraft":
        return cls(event.title, as_utc(event.starts_at), as_utc(event.ends_at), event.meeting_type, event.location, event.notes, event.is_mediation)

    def input_value(self, name: str) -> str:
        """What a datetime-local input shows: YYYY-MM-DDTHH:MM in UTC, or the text as typed if it did not parse."""
        value = getattr(self, name)
        if isinstance(value, datetime):
            return as_utc(value).strftime("%Y-%m-%dT%H:%M")
        return value or ""


@dataclass
class CleanEvent:
    title: str
    starts_at: datetime
    ends_at: datetime
    meeting_type: str
    location: str
    notes: str
    is_mediation: bool


@dataclass
class CalendarTotals:
    sessions: int
    hours: float

    @property
    def hours_label(self) -> str:
        return f"{self.hours:.2f}".rstrip("0").rstrip(".")


@dataclass
class CaseCalendar:
    case: Case
    events: list[CalendarEvent]
    totals: CalendarTotals
    can_edit: bool
    title: str = ""


def as_utc(moment: datetime) -> datetime:
    # SQLite hands datetimes back without their zone; everything stored here is UTC.
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _moment(value: datetime | str | None) -> datetime | None:
    if isinstance(value, datetime):
        return as_utc(value)
    text = (value or "").strip()
    if not text:
        return None
    try:
        return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def clean(draft: EventDraft) -> CleanEvent:
    errors: dict[str, str] = {}
    title = draft.title.strip()
    if not title:
        errors["title"] = "Give the meeting a title."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"Keep the title under {MAX_TITLE} characters."
    starts_at, ends_at = _moment(draft.starts_at), _moment(draft.ends_at)
    if starts_at is None:
        errors["starts_at"] = "Enter the meeting start time (date and time, UTC)."
    if ends_at is None:
        errors["ends_at"] = "Enter the meeting end time (date and time, UTC)."
    if starts_at and ends_at and ends_at <= starts_at:
        errors["ends_at"] = "The meeting must end after it starts."
    if draft.meeting_type not in MEETING_TYPES:
        errors["meeting_type"] = "Choose the meeting type: Online, In person or Phone."
    location = draft.location.strip()
    if len(location) > MAX_LOCATION:
        errors["location"] = f"Keep the room or link under {MAX_LOCATION} characters."
    notes = draft.notes.strip()
    if len(notes) > MAX_NOTES:
        errors["notes"] = f"Keep the notes under {MAX_NOTES:,} characters."
    if errors:
        raise EventProblem(errors)
    assert starts_at and ends_at
    return CleanEvent(title, starts_at, ends_at, draft.meeting_type, location, notes, draft.is_mediation)


# ---- reading ----------------------------------------------------------------------------------------


async def case_events(db: AsyncSession, case_id: int) -> list[CalendarEvent]:
    query = select(CalendarEvent).where(CalendarEvent.case_id == case_id).order_by(CalendarEvent.starts_at, CalendarEvent.id)
    return list((await db.execute(query)).scalars())


def totals(events: list[CalendarEvent]) -> CalendarTotals:
    seconds = sum((as_utc(e.ends_at) - as_utc(e.starts_at)).total_seconds() for e in events)
    return CalendarTotals(sessions=len(events), hours=round(seconds / 3600, 2))


def can_edit(case: Case, person: Person) -> bool:
    return person.is_staff or (case.mediator_id is not None and case.mediator_id == person.id)


async def case_calendar(db: AsyncSession, case: Case, person: Person) -> CaseCalendar:
    events = await case_events(db, case.id)
    titles = await case_titles(db, [case.id])
    return CaseCalendar(case=case, events=events, totals=totals(events), can_edit=can_edit(case, person), title=titles[case.id])


async def find_event(db: AsyncSession, case_id: int, event_id: int) -> CalendarEvent | None:
    event = await db.get(CalendarEvent, event_id)
    return event if event is not None and event.case_id == case_id else None


# ---- changing ---------------------------------------------------------------------------------------


async def save_event(ctx: AppContext, db: AsyncSession, case: Case, person: Person, draft: EventDraft, event: CalendarEvent | None = None) -> CalendarEvent:
    """Add an event (event=None) or change one, then email the other participants.

    Raises NotAllowed, EventProblem, or ActionRejected when the case cannot be scheduled yet.
    """
    if not can_edit(case, person):
        raise NotAllowed("Only the case's mediator or center staff can add or change calendar events.")
    if case.stage in {str(s) for s in FINAL_STAGES}:
        raise NotAllowed("This case is over; its calendar can no longer change.")
    values = clean(draft)
    if values.is_mediation and not (event is not None and event.is_mediation):
        # Before anything is written: if the workflow refuses, the event is not saved either.
        await _schedule_mediation(ctx, case, person)

    if event is None:
        event = CalendarEvent(case_id=case.id, created_by_id=person.id, sequence=0)
        db.add(event)
        change = "added"
    else:
        event.sequence = (event.sequence or 0) + 1
        change = "updated"
    event.title, event.starts_at, event.ends_at = values.title, values.starts_at, values.ends_at
    event.meeting_type, event.location, event.notes, event.is_mediation = values.meeting_type, values.location, values.notes, values.is_mediation
    await db.commit()
    await _announce(ctx, db, case, event, person, change)
    return event


async def _schedule_mediation(ctx: AppContext, case: Case, person: Person) -> None:
    # A second Mediation session, or one moved to another day, leaves the case scheduled as it is.
    if case.mediation_scheduled or case.stage == Stage.SCHEDULED:
        return
    await run_update(ctx, case.id, CaseWorkflow.record_scheduled, MediatorMilestone(actor_id=person.id, is_staff=person.is_staff))


async def _announce(ctx: AppContext, db: AsyncSession, case: Case, event: CalendarEvent, actor: Person, change: str) -> None:
    recipients = (
        await db.execute(
            select(Person).where(Person.id.in_(select(Participant.person_id).where(Participant.case_id == case.id)), Person.id != actor.id).order_by(Person.id)
        )
    ).scalars()
    title = (await case_titles(db, [case.id]))[case.id]
    base_url = ctx.settings.public_base_url.rstrip("/")
    for person in recipients:
        rendered = ctx.emails.render(
            "calendar_event",
            recipient_name=person.full_name,
            case=case,
            case_title=title,
            event=event,
            starts_at=as_utc(event.starts_at),
            ends_at=as_utc(event.ends_at),
            change=change,
            calendar_link=f"{base_url}/cases/{case.id}/calendar",
            ics_link=f"{base_url}/cases/{case.id}/calendar/{event.id}.ics",
        )
        key = f"calendar/{event.id}/{event.sequence}/{person.id}"
        await queue_email(ctx, OutgoingEmail(key, person.email, person.full_name, rendered.subject, rendered.text, rendered.html, case.id))


async def queue_email(ctx: AppContext, email: OutgoingEmail) -> None:
    """Keep the email in the ledger and hand it to the same delivery workflow as account emails."""
    if not await ctx.mailer.store(email):
        return
    try:
        await deliver_stored_email(await ctx.temporal.client(), ctx.settings, email.idempotency_key)
    except WorkflowAlreadyStartedError:
        return
    except RPCError:
        # The event is saved and the email waits in the ledger (staff see it in the outbox); the change must not look failed.
        log.exception("could not start delivery of %s", email.idempotency_key)


# ---- iCalendar (RFC 5545) ---------------------------------------------------------------------------


def _ics_text(value: str) -> str:
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _ics_time(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> str:
    """Split a content line into chunks of at most 75 octets, never inside a UTF-8 character."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    chunks: list[str] = []
    limit = 75
    current = ""
    size = 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            chunks.append(current)
            # Continuation lines start with one space, which counts toward their 75 octets.
            current, size, limit = "", 0, 74
        current += char
        size += width
    chunks.append(current)
    return "\r\n ".join(chunks)


def _uid_domain(ctx: AppContext) -> str:
    return urlsplit(ctx.settings.public_base_url).hostname or "mediation.local"


def _vevent(ctx: AppContext, case: Case, event: CalendarEvent) -> list[str]:
    base_url = ctx.settings.public_base_url.rstrip("/")
    description = event.notes
    if event.is_mediation:
        description = ("This is the Mediation session.\n\n" + description).strip()
    description = (description + f"\n\nCase {case.id}: {base_url}/cases/{case.id}/calendar").strip()
    lines = [
        "BEGIN:VEVENT",
        f"UID:case-{case.id}-event-{event.id}@{_uid_domain(ctx)}",
        f"DTSTAMP:{_ics_time(event.updated_at or event.created_at)}",
        f"CREATED:{_ics_time(event.created_at)}",
        f"LAST-MODIFIED:{_ics_time(event.updated_at or event.created_at)}",
        f"DTSTART:{_ics_time(event.starts_at)}",
        f"DTEND:{_ics_time(event.ends_at)}",
        f"SEQUENCE:{event.sequence or 0}",
        f"SUMMARY:{_ics_text(event.title)}",
    ]
    if event.location:
        lines.append(f"LOCATION:{_ics_text(event.location)}")
    if re.fullmatch(r"https?://[!-~]+", event.location):
        # Only a bare link is a valid URI value; anything else stays in LOCATION alone.
        lines.append(f"URL:{event.location}")
    lines += [
        f"DESCRIPTION:{_ics_text(description)}",
        f"CATEGORIES:{_ics_text(event.meeting_type)}",
        "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
        "END:VEVENT",
    ]
    return lines


def icalendar(ctx: AppContext, case: Case, events: list[CalendarEvent], name: str) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//{_ics_text(ctx.settings.center_name)}//Case calendar//EN",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{_ics_text(name)}",
    ]
    for event in events:
        lines += _vevent(ctx, case, event)
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)
