"""Calendar events as iCalendar files (RFC 5545): what the case Calendar offers for download and what calendar
emails carry attached. Every time is given in UTC, which every calendar program reads as the same moment and shows
in its owner's zone."""

import re
from urllib.parse import urlsplit

from icalendar import Calendar, Event, vText

from core.db.models import CalendarEvent, Case
from core.settings import Settings
from core.time import as_utc

ICS_TYPE = "text/calendar; charset=utf-8"


def _vevent(settings: Settings, case: Case, event: CalendarEvent) -> Event:
    base_url = settings.public_base_url.rstrip("/")
    description = event.notes
    if event.is_mediation:
        description = ("This is the Mediation session.\n\n" + description).strip()
    description = (description + f"\n\nCase {case.id}: {base_url}/cases/{case.id}/calendar").strip()
    changed = as_utc(event.updated_at or event.created_at)
    vevent = Event()
    vevent.add("uid", f"case-{case.id}-event-{event.id}@{urlsplit(settings.public_base_url).hostname or 'mediation.local'}")
    vevent.add("dtstamp", changed)
    vevent.add("created", as_utc(event.created_at))
    vevent.add("last-modified", changed)
    vevent.add("dtstart", as_utc(event.starts_at))
    vevent.add("dtend", as_utc(event.ends_at))
    vevent.add("sequence", event.sequence or 0)
    vevent.add("summary", event.title)
    if event.location:
        vevent.add("location", event.location)
    if re.fullmatch(r"https?://[!-~]+", event.location):
        # Only a bare link is a valid URI value; anything else stays in LOCATION alone.
        vevent.add("url", event.location)
    vevent.add("description", description)
    vevent.add("categories", [event.meeting_type])
    vevent.add("status", "CONFIRMED")
    vevent.add("transp", "OPAQUE")
    return vevent


def icalendar_file(settings: Settings, case: Case, events: list[CalendarEvent], name: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.center_name}//Case calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", vText(name))
    for event in events:
        calendar.add_component(_vevent(settings, case, event))
    return calendar.to_ical()


def event_file(settings: Settings, case: Case, event: CalendarEvent) -> bytes:
    """One event, to add it to a calendar program."""
    return icalendar_file(settings, case, [event], f"Case {case.id} · {event.title}")


def event_file_name(case: Case, event: CalendarEvent) -> str:
    return f"case-{case.id}-event-{event.id}.ics"
