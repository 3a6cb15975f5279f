"""What center staff send and read: the actions on a case, the people on it, the mediator directory, the outbox.
One model per action, the same for the console's forms and the JSON API under /api/v1/staff."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from core.case_state import CaseState
from core.inputs import EmailAddress, Id, Line, OneOf, Paragraphs
from core.time import UtcDateTime
from workflows.types import BallotView

PAGE_SIZE = 50
MAX_EXTENSION = {"days": 60, "hours": 60 * 24}
ADDABLE_ROLES = {"party": "Party", "representative": "Representative", "interested": "Interested person"}
SIDES = {"initiating": "Initiating", "responding": "Responding"}
REPRESENTATIVE_KINDS = ("Attorney", "Agent", "Power of attorney")
Panel = Annotated[list[Id], Field(default_factory=list, max_length=50, description="Mediator person ids; empty proposes a panel from the directory.")]


# ---- actions on a case ----------------------------------------------------------------------------


class IntakeReview(BaseModel):
    """Accept the Request to Mediate with a panel (or none: the directory proposes one), or reject it with a reason."""

    model_config = ConfigDict(extra="forbid")

    accept: bool
    panel: Panel
    reason: Annotated[str, Paragraphs(2000, "the reason")] = Field("", description="Required when rejecting; the filer reads it.")


class Extension(BaseModel):
    """More time for the parties to rank: a number of days, or of hours."""

    model_config = ConfigDict(extra="forbid")

    unit: Literal["days", "hours"] = "days"
    amount: int = Field(description="How many days or hours to add to the deadline.")

    @field_validator("amount", mode="before")
    @classmethod
    def _a_number(cls, amount: object) -> object:
        if isinstance(amount, str):
            if not amount.strip().isdigit():
                raise PydanticCustomError("number", "Enter the number of days or hours to extend the ranking round by.")
            return int(amount.strip())
        return amount

    @field_validator("amount")
    @classmethod
    def _within_reason(cls, amount: int, info: ValidationInfo) -> int:
        unit = info.data.get("unit", "days")
        if amount < 1:
            raise PydanticCustomError("too_short", f"Extend the ranking round by at least one {unit.rstrip('s')}.")
        if amount > MAX_EXTENSION[unit]:
            raise PydanticCustomError("too_long", f"Extend the ranking round by at most {MAX_EXTENSION[unit]} {unit} at a time.")
        return amount

    @property
    def seconds(self) -> int:
        return self.amount * (86400 if self.unit == "days" else 3600)


class RoundClosing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Line(500, "the note")] = ""


class NewPanel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    panel: Panel


class ObjectionDecision(BaseModel):
    """The center's decision on a party's objection to a mediator's disclosure, with the reason the parties and the
    mediator read: uphold it (the next mediator in the order is asked) or overrule it (the disclosure stands)."""

    model_config = ConfigDict(extra="forbid")

    uphold: bool
    reason: Annotated[str, Paragraphs(2000, "the reason", required="Give the reason for the decision; the parties and the mediator read it.")] = Field(
        "", description="Required; the parties and the mediator read it.", validate_default=True
    )


class Withdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Paragraphs(2000, "the reason")] = Field("", description="Required; everyone on the case reads it.")


class NewParticipant(BaseModel):
    """A party (with their side), a representative (for whom, and how), or an interested person."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Line(200, "the name", required="Enter the person's full name.")]
    email: Annotated[str, EmailAddress(required="Enter a valid email address for the person.")]
    role: Annotated[str, OneOf(tuple(ADDABLE_ROLES), "Choose whether the person is a party, a representative or an interested person.")]
    side: Literal["", "initiating", "responding"] = Field("", description="For a party: initiating or responding.", validate_default=True)
    represents_id: Id | None = Field(None, description="For a representative: the party (person id) they act for.", validate_default=True)
    kind: Literal["", "Attorney", "Agent", "Power of attorney"] = Field("", description="For a representative: how they act.", validate_default=True)

    @field_validator("side", "kind", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return "" if value is None else value

    # What each role needs, said next to the field that is missing it.
    @field_validator("side")
    @classmethod
    def _party_side(cls, side: str, info: ValidationInfo) -> str:
        if info.data.get("role") == "party" and not side:
            raise PydanticCustomError("side", "Choose the party's side: initiating or responding.")
        return side

    @field_validator("represents_id")
    @classmethod
    def _represented(cls, represents_id: int | None, info: ValidationInfo) -> int | None:
        if info.data.get("role") == "representative" and represents_id is None:
            raise PydanticCustomError("represents", "Choose the party this representative acts for.")
        return represents_id

    @field_validator("kind")
    @classmethod
    def _acts_as(cls, kind: str, info: ValidationInfo) -> str:
        if info.data.get("role") == "representative" and not kind:
            raise PydanticCustomError("kind", f"Choose how the representative acts: {', '.join(REPRESENTATIVE_KINDS)}.")
        return kind


class ActionResult(BaseModel):
    """What a staff action did, in words, and where the case stands now."""

    message: str
    stage: str
    stage_label: str


# ---- the mediator directory -----------------------------------------------------------------------


class DirectoryEntryIn(BaseModel):
    # A client may send back the entry it read (with its person_id): what is not an input is ignored.
    model_config = ConfigDict(extra="ignore")

    name: Annotated[str, Line(200, "the name", required="Enter the mediator's full name.")]
    email: Annotated[str, EmailAddress(required="Enter a valid email address for the mediator.")]
    bio: Annotated[str, Paragraphs(5000, "the bio")] = ""
    expertise: Annotated[str, Line(300, "the expertise")] = ""
    region: Annotated[str, Line(100, "the region")] = ""
    languages: Annotated[str, Line(200, "the languages", required="List at least one language the mediator works in.")] = "English"
    fee: Annotated[str, Line(100, "the fee")] = ""
    in_directory: bool = Field(True, description="Listed, so panels may propose them.")


class ConflictCheckFigures(BaseModel):
    """How a mediator has answered conflict-check requests, over every case (features/staff/board.py)."""

    requests: int = Field(0, description="Conflict checks asked of the mediator, pending and withdrawn included.")
    accepted: int = 0
    declined: int = 0
    timed_out: int = Field(0, description="Not answered before the deadline; the next mediator was asked.")
    pending: int = 0
    median_answer_seconds: float | None = Field(None, description="Median time from request to answer, over accepted and declined checks.")


class DirectoryEntry(BaseModel):
    """A mediator of the center's directory, as staff manage it."""

    model_config = ConfigDict(from_attributes=True)

    person_id: int
    name: str
    email: str
    bio: str
    expertise: str
    region: str
    languages: str
    fee: str
    in_directory: bool
    conflict_checks: ConflictCheckFigures | None = Field(
        None, description="Staff only: the mediator's conflict-check figures (in the directory and one entry)."
    )


# ---- reading: the case list and one case ----------------------------------------------------------


class CaseRow(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    property_address: str
    stage: str
    stage_label: str
    stage_deadline: UtcDateTime | None = Field(description="RFC 3339, UTC")
    mediator_name: str
    filed_at: UtcDateTime = Field(description="RFC 3339, UTC")


class CaseList(BaseModel):
    items: list[CaseRow]
    page: int
    pages: int
    total: int
    stage: str
    q: str
    page_size: int = PAGE_SIZE


class FiledRequest(BaseModel):
    """The Request to Mediate as filed."""

    property_address: str
    dispute_bases: list[str]
    dispute_value: str
    description: str
    filed_by_id: int
    filed_by_name: str
    filed_at: UtcDateTime = Field(description="RFC 3339, UTC")


class ParticipantRow(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    person_id: int
    name: str
    email: str
    role: str
    side: str | None
    represents_id: int | None
    represents_name: str
    representative_kind: str
    activated: bool


class BallotAuditRow(BaseModel):
    """A ballot as submitted, revisions included: the audit trail."""

    model_config = ConfigDict(from_attributes=True)

    ranking_round: int
    party_id: int
    submitted_by_id: int
    side: str
    ranked: list[int]
    eliminated: list[int]
    submitted_at: UtcDateTime = Field(description="RFC 3339, UTC")
    fingerprint: str = Field("", description="The ballot's fingerprint (README: the canonical form); empty for ballots from before fingerprints.")
    counted: bool = Field(False, description="True for the ballot the round's tally counted (each party's last of the round).")


class StaffCase(BaseModel):
    """Everything staff need to act on a case: the request, the people, its state, every ballot."""

    id: int
    title: str
    request: FiledRequest
    participants: list[ParticipantRow]
    status: CaseState = Field(description="The case as its workflow last published it.")
    ballots: list[BallotView] = Field(description="Each party's ballot in the current round; staff only.")
    ballot_audit: list[BallotAuditRow] = Field(description="Every ballot as submitted, revisions included, all rounds.")
    names: dict[int, str] = Field(description="Full names of every person the ids above refer to.")
    temporal_url: str


# ---- the outbox -------------------------------------------------------------------------------------


class EmailSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int | None
    to_email: str
    to_name: str
    subject: str
    created_at: UtcDateTime = Field(description="RFC 3339, UTC")
    sent_at: UtcDateTime | None = Field(description="RFC 3339, UTC")
    status: str
    transport: str


class EmailView(EmailSummary):
    text_body: str
    attempts: int
    attachments: list[str] = Field(default_factory=list, description="The names of the files sent with it (a calendar event's .ics).")

    @field_validator("attachments", mode="before")
    @classmethod
    def _file_names(cls, stored: object) -> object:
        return [a["filename"] for a in stored] if isinstance(stored, list) else []


class Outbox(BaseModel):
    items: list[EmailSummary]
    page: int
    pages: int
    total: int
    page_size: int = PAGE_SIZE
