"""Times: stored and computed in UTC everywhere; read and shown in a person's own time zone.

A zone is an IANA name ("America/Los_Angeles") read with `zoneinfo` (from the system's zone files, or the `tzdata`
package where a system has none), never an offset kept by hand: the offset of a moment depends on daylight saving
time on that day.
"""

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo, available_timezones

from pydantic import AfterValidator

DEFAULT_TIME_ZONE = "America/Los_Angeles"
# Offered first wherever a person picks a zone: where the center's people mostly live.
COMMON_TIME_ZONES: tuple[tuple[str, str], ...] = (
    ("America/Los_Angeles", "Pacific Time"),
    ("America/Denver", "Mountain Time"),
    ("America/Phoenix", "Arizona (Mountain Time, no daylight saving)"),
    ("America/Chicago", "Central Time"),
    ("America/New_York", "Eastern Time"),
    ("America/Anchorage", "Alaska Time"),
    ("Pacific/Honolulu", "Hawaii Time"),
)
# Names the zone files hold that are not places a person lives in.
_NOT_ZONES = {"localtime", "Factory", "posixrules"}
# The regions of the full list a person picks from; the rest are older aliases, still accepted when typed.
_REGIONS = ("Africa/", "America/", "Antarctica/", "Arctic/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/", "Pacific/")


def as_utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; everything stored here is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso_utc(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


# A moment in a JSON answer: always with its offset (RFC 3339), whatever the database handed back.
UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]


# ---- zones --------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _known() -> dict[str, str]:
    # Lower-cased name -> the name as IANA spells it, so "america/new_york" is understood too.
    return {name.lower(): name for name in available_timezones() - _NOT_ZONES}


def known_time_zone(name: str) -> str | None:
    """The IANA name as spelled in the zone database, or None when there is no such zone."""
    return _known().get(name.strip().lower())


def unknown_time_zone(name: str) -> str:
    return f"“{name}” is not a time zone we know. Choose one from the list, or give an IANA name such as America/Los_Angeles or America/New_York."


@lru_cache(maxsize=1)
def time_zone_choices() -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """The zones a person may pick, in groups of (name, label): the common US ones first, then the world's by name."""
    common = {name for name, _ in COMMON_TIME_ZONES}
    rest = sorted(name for name in _known().values() if name.startswith(_REGIONS) and name not in common)
    return (
        ("United States", tuple((name, f"{label} ({name})") for name, label in COMMON_TIME_ZONES)),
        ("All time zones", (("UTC", "UTC"), *((name, name.replace("_", " ")) for name in rest))),
    )


def zone_for(person_zone: str | None, center_zone: str) -> ZoneInfo:
    """The zone a person reads and types times in: their own, or the center's when they have chosen none."""
    name = known_time_zone(person_zone) if person_zone else None
    return ZoneInfo(name or known_time_zone(center_zone) or DEFAULT_TIME_ZONE)


# ---- showing ------------------------------------------------------------------------------------


def in_zone(value: datetime | str, zone: ZoneInfo) -> datetime:
    """A stored moment as a clock in `zone` reads it."""
    moment = as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)
    try:
        return moment.astimezone(zone)
    except OverflowError:
        # A moment at the very edge of the calendar (year 1 or 9999) that the zone's offset would push past it.
        return moment


def zone_abbreviation(local: datetime) -> str:
    """What the zone is called at that moment ("PST", "PDT"); zones without a letter name read "UTC-03:00"."""
    name = local.tzname() or ""
    if name.isalpha():
        return name
    offset = local.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def long_time(value: datetime | str | None, zone: ZoneInfo) -> str:
    """ "December 4, 2026 at 9:00 AM PST": for sentences, in emails and pages."""
    if not value:
        return ""
    local = in_zone(value, zone)
    return f"{local.strftime('%B %-d, %Y at %-I:%M %p')} {zone_abbreviation(local)}"


def short_time(value: datetime | str | None, zone: ZoneInfo) -> str:
    """ "Dec 4, 2026 9:00 AM PST": for tables and lists."""
    if not value:
        return ""
    local = in_zone(value, zone)
    return f"{local.strftime('%b %-d, %Y %-I:%M %p')} {zone_abbreviation(local)}"


def time_range(start: datetime | str, end: datetime | str, zone: ZoneInfo) -> str:
    """ "Tuesday, December 8, 2026, 9:00 AM – 12:00 PM PST": a stretch of time as a clock in `zone` reads it (both
    ends in full when it runs past midnight there)."""
    first, last = in_zone(start, zone), in_zone(end, zone)
    if first.date() != last.date():
        return f"{long_time(start, zone)} to {long_time(end, zone)}"
    opening = first.strftime("%-I:%M %p")
    if zone_abbreviation(first) != zone_abbreviation(last):
        # The clocks change within it.
        opening += f" {zone_abbreviation(first)}"
    return f"{first.strftime('%A, %B %-d, %Y')}, {opening} – {last.strftime('%-I:%M %p')} {zone_abbreviation(last)}"


def local_day(value: datetime | str | None, zone: ZoneInfo) -> str:
    """ "12/04/2026": the day it was in the zone."""
    if not value:
        return ""
    return in_zone(value, zone).strftime("%m/%d/%Y")


# ---- reading ------------------------------------------------------------------------------------


class NoSuchLocalTime(ValueError):
    """A wall-clock time the zone skips (the hour lost when daylight saving time begins)."""


def from_wall_clock(local: datetime, zone: ZoneInfo) -> datetime:
    """A time as read off a clock in `zone` ("2026-12-04T09:00"), as the UTC moment it names.

    When clocks go back, an hour happens twice: the first of the two (still daylight time) is meant, as most
    calendar programs read it. When clocks go forward, an hour never happens: that is refused rather than moved."""
    placed = local.replace(tzinfo=zone, fold=0)
    moment = placed.astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None, fold=0):
        raise NoSuchLocalTime(
            f"{local.strftime('%-I:%M %p on %B %-d, %Y')} does not exist in {zone.key}: the clocks skip that hour when daylight saving time begins."
        )
    return moment
