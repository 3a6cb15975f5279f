"""What goes into and comes out of a case's scheduling poll, for the page and the JSON API alike.

Times are typed in the sender's time zone (a time without an offset) or sent with an offset, as on the Calendar
(see features/calendar/models.py), and answered in UTC.
"""

from datetime import datetime
from functools import partial
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from core.errors import Invalid
from core.inputs import MAX_ID, Line, OneOf, Paragraphs
from core.scheduling import ANSWERS, MAX_SLOTS
from core.time import NoSuchLocalTime, UtcDateTime, from_wall_clock
from features.calendar.models import TIME_DESCRIPTION, MeetingType, read_time

SLOT_ENDS_BEFORE_START = "The time must end after it starts."
SLOT_START_MISSING = "Enter the start of this time (date and time)."
SLOT_END_MISSING = "Enter the end of this time (date and time)."
NO_POLL = "Say which poll this is for: its number (reload the page if the form came from one)."
CHOOSE_SLOT = "Choose one of the proposed times."
MARK_SLOT = "Mark this time available, if need be or unavailable."

SlotStart = Annotated[datetime, BeforeValidator(partial(read_time, missing=SLOT_START_MISSING))]
SlotEnd = Annotated[datetime, BeforeValidator(partial(read_time, missing=SLOT_END_MISSING))]
Answer = Annotated[str, OneOf(ANSWERS, MARK_SLOT)]


def _number(message: str, value: int) -> int:
    if not 1 <= value <= MAX_ID:
        raise PydanticCustomError("number", message)
    return value


def _unchosen_is_zero(value: object) -> object:
    # A form's radio left unchosen sends nothing, a JSON client may send null: both are "not chosen", said in words.
    return 0 if value in (None, "") else value


PollNumber = Annotated[
    int,
    BeforeValidator(_unchosen_is_zero),
    AfterValidator(partial(_number, NO_POLL)),
    Field(0, validate_default=True, description="The poll's `number`, as GET .../scheduling gives it."),
]
SlotNumber = Annotated[
    int,
    BeforeValidator(_unchosen_is_zero),
    AfterValidator(partial(_number, CHOOSE_SLOT)),
    Field(0, validate_default=True, description="A time's `number` in the poll."),
]


# ---- input ----------------------------------------------------------------------------------------


class SlotIn(BaseModel):
    """One proposed time: when it starts and when it ends."""

    model_config = ConfigDict(extra="forbid")

    starts_at: SlotStart = Field(description=TIME_DESCRIPTION)
    ends_at: SlotEnd = Field(description=f"After starts_at. {TIME_DESCRIPTION}")

    @model_validator(mode="before")
    @classmethod
    def _times_are_asked_for(cls, data: object) -> object:
        if isinstance(data, dict):
            data = {"starts_at": "", "ends_at": "", **data}
        return data

    @field_validator("ends_at")
    @classmethod
    def _ends_after_start(cls, ends_at: datetime, info: ValidationInfo) -> datetime:
        starts_at = info.data.get("starts_at")
        if starts_at is not None and (starts_at.tzinfo is None) == (ends_at.tzinfo is None) and ends_at <= starts_at:
            raise PydanticCustomError("ends_before_start", SLOT_ENDS_BEFORE_START)
        return ends_at


class ProposalIn(BaseModel):
    """Times the mediator (or staff) propose: a new poll of at least 2, or more times for an open poll (`poll`)."""

    model_config = ConfigDict(extra="forbid")

    slots: list[SlotIn] = Field(default_factory=list, description=f"2 to {MAX_SLOTS} times for a new poll; at least 1 more for an open one.")
    poll: int | None = Field(None, description="The open poll to add these times to; leave it out to open a new poll.")

    @field_validator("slots")
    @classmethod
    def _some_but_not_too_many(cls, slots: list[SlotIn]) -> list[SlotIn]:
        if not slots:
            raise PydanticCustomError("slots", "Enter at least one time: its start and its end.")
        if len(slots) > MAX_SLOTS:
            raise PydanticCustomError("slots", f"Propose at most {MAX_SLOTS} times (there are {len(slots)}).")
        return slots

    @field_validator("poll")
    @classmethod
    def _a_poll_number(cls, poll: int | None) -> int | None:
        return None if poll is None else _number(NO_POLL, poll)

    def placed_in(self, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
        """Each time as UTC moments, wall-clock times read in `zone` (the sender's); mistakes named by field."""
        placed: list[tuple[datetime, datetime]] = []
        problems: dict[str, str] = {}
        for index, slot in enumerate(self.slots):
            moments: dict[str, datetime] = {}
            for name, moment, missing in (("starts_at", slot.starts_at, SLOT_START_MISSING), ("ends_at", slot.ends_at, SLOT_END_MISSING)):
                if moment.tzinfo is not None:
                    moments[name] = moment
                    continue
                try:
                    moments[name] = from_wall_clock(moment, zone)
                except NoSuchLocalTime as gap:
                    problems.setdefault(f"slots.{index}.{name}", f"{gap} Choose a time outside that hour.")
                except OverflowError:
                    problems.setdefault(f"slots.{index}.{name}", missing)
            if len(moments) == 2:
                if moments["ends_at"] <= moments["starts_at"]:
                    problems.setdefault(f"slots.{index}.ends_at", SLOT_ENDS_BEFORE_START)
                placed.append((moments["starts_at"], moments["ends_at"]))
        if problems:
            raise Invalid("; ".join(problems.values()), problems)
        return placed


class SlotAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slot: SlotNumber
    answer: Answer = Field("", validate_default=True, description="available, if_need_be or unavailable.")


class AnswersIn(BaseModel):
    """Your availability for every time of the poll; sent again to change it until answers close."""

    model_config = ConfigDict(extra="forbid")

    poll: PollNumber
    answers: list[SlotAnswerIn] = Field(default_factory=list, description="One answer for each time of the poll.")


class PickIn(BaseModel):
    """The time that becomes the Mediation session, and where it takes place."""

    model_config = ConfigDict(extra="forbid")

    poll: PollNumber
    slot: SlotNumber
    meeting_type: MeetingType = "Online"
    location: Annotated[str, Line(300, "the room or link")] = Field("", description="The room, or the link of an online meeting.")
    notes: Annotated[str, Paragraphs(5000, "the notes")] = ""


class CancelIn(BaseModel):
    """Withdraw the proposed times (those asked are told there is no need to answer)."""

    model_config = ConfigDict(extra="forbid")

    poll: PollNumber
    reason: Annotated[str, Line(500, "the reason")] = Field("", description="Shown to those asked; optional.")


# ---- output -------------------------------------------------------------------------------------


class SlotOut(BaseModel):
    number: int
    starts_at: UtcDateTime
    ends_at: UtcDateTime


class SlotTallyOut(SlotOut):
    """A time with how it suits the people asked: the mediator's and staff's view of the poll."""

    available: int
    if_need_be: int
    unavailable: int
    parties_available: int
    parties_if_need_be: int
    parties_unavailable: int
    parties_silent: int = Field(description="Parties who have not marked this time.")
    works_for_every_party: bool
    answers: dict[int, str] = Field(description="Each person's answer, by person id.")


class RespondentOut(BaseModel):
    person_id: int
    name: str
    role: str
    answered: bool = Field(description="Has marked every time of the poll.")


class MyAnswerOut(BaseModel):
    slot: int
    answer: str


class PollOut(BaseModel):
    number: int
    status: str = Field(description="open, answers_closed, picked or cancelled.")
    status_label: str
    opened_at: UtcDateTime
    answers_due_at: UtcDateTime | None = Field(description="When answers close.")
    slots: list[SlotOut] = Field(description="In the order proposed.")
    my_answers: list[MyAnswerOut] = Field(description="The viewer's own answers.")
    can_answer: bool = Field(description="Whether the viewer may mark the times now.")
    can_manage: bool = Field(description="Whether the viewer (the case's mediator or staff) may add times, pick one or cancel.")
    best_first: list[SlotTallyOut] | None = Field(description="Every time with its answers, best first; for the mediator and staff only.")
    respondents: list[RespondentOut] | None = Field(description="Who is asked and who has answered; for the mediator and staff only.")
    picked_slot: int | None
    event_id: int | None = Field(description="The Mediation event the picked time became.")
    closed_at: UtcDateTime | None
    closed_reason: str

    @property
    def picked(self) -> SlotOut | None:
        return next((s for s in self.slots if s.number == self.picked_slot), None)

    @property
    def silent(self) -> list[RespondentOut]:
        return [r for r in self.respondents or [] if not r.answered]

    @property
    def suits_every_party(self) -> bool:
        return bool(self.best_first and self.best_first[0].works_for_every_party)

    def my_answer(self, slot: int) -> str:
        return next((a.answer for a in self.my_answers if a.slot == slot), "")

    @property
    def room(self) -> int:
        return MAX_SLOTS - len(self.slots)


class SchedulingOut(BaseModel):
    case_id: int
    poll: PollOut | None = Field(description="The case's latest poll, whatever became of it; null before any times were proposed.")
    can_propose: bool = Field(description="Whether the viewer may propose times now (a new poll, or more times for the open one).")
    ics_url: str | None = Field(None, description="The .ics of the Mediation session the picked time became.")
