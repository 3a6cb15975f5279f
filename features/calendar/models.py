"""What goes into and comes out of the case Calendar, for the page and the JSON API alike.

Times are stored and answered in UTC, and read and shown in the time zone of whoever types or reads them (their
profile's, or the center's). Every conversion between what people type or see and what is stored is in the "times"
section below.
"""

from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WrapValidator,
    computed_field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from core.errors import Invalid
from core.inputs import Line, Paragraphs
from core.time import NoSuchLocalTime, as_utc, from_wall_clock, in_zone

MEETING_TYPES = ("Online", "In person", "Phone")
ENDS_BEFORE_START = "The meeting must end after it starts."
START_MISSING = "Enter the meeting start time (date and time)."
END_MISSING = "Enter the meeting end time (date and time)."

# ---- times --------------------------------------------------------------------------------------

# What a datetime-local input sends and shows.
FORM_TIME_FORMAT = "%Y-%m-%dT%H:%M"
TIME_DESCRIPTION = (
    "RFC 3339 with its offset (2026-12-04T09:00:00-08:00, or Z for UTC). A time without an offset (2026-12-04T09:00) is read "
    "in the time zone of whoever sends it: their profile's, or the center's."
)


def read_time(value: object, missing: str) -> datetime:
    """A time typed in a datetime-local input ("2024-08-24T13:00") or sent as ISO 8601 / RFC 3339. With an offset it is
    kept in UTC; without one it stays a wall-clock time until `CalendarEventIn.placed_in` reads it in a zone."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        # Not a time at all, or one at the very end of the calendar that UTC cannot hold.
        raise PydanticCustomError("time", missing) from None


def calendar_time(moment: datetime) -> datetime:
    """A stored time as the calendar keeps and answers it: UTC (SQLite hands times back without their zone)."""
    return as_utc(moment)


def form_time(moment: datetime, zone: ZoneInfo) -> str:
    """A stored time as a datetime-local input shows it to someone in `zone`."""
    return in_zone(moment, zone).strftime(FORM_TIME_FORMAT)


def _placed(moment: datetime, zone: ZoneInfo, field: str, missing: str) -> datetime:
    if moment.tzinfo is not None:
        return moment
    try:
        return from_wall_clock(moment, zone)
    except NoSuchLocalTime as gap:
        raise Invalid(str(gap), {field: f"{gap} Choose a time outside that hour."}) from None
    except OverflowError:
        raise Invalid(missing, {field: missing}) from None


StartTime = Annotated[datetime, BeforeValidator(partial(read_time, missing=START_MISSING))]
EndTime = Annotated[datetime, BeforeValidator(partial(read_time, missing=END_MISSING))]
CalendarTime = Annotated[datetime, AfterValidator(calendar_time), Field(description="RFC 3339, UTC")]


# ---- input ----------------------------------------------------------------------------------------


def _choose_meeting_type(value, handler):
    try:
        return handler(value)
    except ValueError:
        raise PydanticCustomError("meeting_type", "Choose the meeting type: Online, In person or Phone.") from None


MeetingType = Annotated[Literal["Online", "In person", "Phone"], WrapValidator(_choose_meeting_type)]


class CalendarEventIn(BaseModel):
    """An event the case's mediator or staff add or change: the Mediation session itself when `is_mediation`."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Line(200, "the title", required="Give the meeting a title.")]
    starts_at: StartTime = Field(description=TIME_DESCRIPTION)
    ends_at: EndTime = Field(description=f"After starts_at. {TIME_DESCRIPTION}")
    meeting_type: MeetingType = "Online"
    location: Annotated[str, Line(300, "the room or link")] = Field("", description="The room, or the link of an online meeting.")
    notes: Annotated[str, Paragraphs(5000, "the notes")] = ""
    is_mediation: bool = Field(False, description="This is the Mediation session: adding it moves the case to scheduled.")

    @model_validator(mode="before")
    @classmethod
    def _times_are_asked_for(cls, data: object) -> object:
        # A time left out gets the same words as one left blank, rather than a bare "Field required".
        if isinstance(data, dict):
            data = {"starts_at": "", "ends_at": "", **data}
        return data

    @field_validator("ends_at")
    @classmethod
    def _ends_after_start(cls, ends_at: datetime, info: ValidationInfo) -> datetime:
        starts_at = info.data.get("starts_at")
        # Two wall-clock times, or two with offsets, compare here with the other mistakes; `placed_in` checks again.
        if starts_at is not None and (starts_at.tzinfo is None) == (ends_at.tzinfo is None) and ends_at <= starts_at:
            raise PydanticCustomError("ends_before_start", ENDS_BEFORE_START)
        return ends_at

    def placed_in(self, zone: ZoneInfo) -> "CalendarEventIn":
        """The event with both times as UTC moments, wall-clock times read in `zone` (the sender's)."""
        starts_at = _placed(self.starts_at, zone, "starts_at", START_MISSING)
        ends_at = _placed(self.ends_at, zone, "ends_at", END_MISSING)
        if ends_at <= starts_at:
            raise Invalid(ENDS_BEFORE_START, {"ends_at": ENDS_BEFORE_START})
        return self.model_copy(update={"starts_at": starts_at, "ends_at": ends_at})


# ---- output -------------------------------------------------------------------------------------


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int
    title: str
    starts_at: CalendarTime
    ends_at: CalendarTime
    meeting_type: str
    location: str
    notes: str
    is_mediation: bool
    sequence: int = Field(description="Incremented on each change, as the iCalendar SEQUENCE.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ics_url(self) -> str:
        return f"/cases/{self.case_id}/calendar/{self.id}.ics"

    def form_values(self, zone: ZoneInfo) -> dict[str, object]:
        """The event as the change form shows it to someone in `zone`."""
        return {**self.model_dump(), "starts_at": form_time(self.starts_at, zone), "ends_at": form_time(self.ends_at, zone)}


class CalendarOut(BaseModel):
    case_id: int
    title: str = Field(description="The case: initiating parties vs responding parties.")
    events: list[EventOut]
    total_sessions: int
    total_hours: float
    can_edit: bool = Field(description="Whether the viewer (the case's mediator or staff) may add and change events.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ics_url(self) -> str:
        return f"/cases/{self.case_id}/calendar.ics"

    @property
    def hours_label(self) -> str:
        return f"{self.total_hours:.2f}".rstrip("0").rstrip(".")
