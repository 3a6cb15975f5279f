"""Times: stored and computed in UTC everywhere."""

from datetime import datetime, timezone


def as_utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; everything stored here is UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def iso_utc(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None
