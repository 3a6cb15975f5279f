"""Times: stored and computed in UTC everywhere."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def as_utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; everything stored here is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso_utc(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


# A moment in a JSON answer: always with its offset (RFC 3339), whatever the database handed back.
UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]
