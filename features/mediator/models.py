"""What the mediator sends and reads: the conflict-check answer, the closing, and the case as they see it."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from core.inputs import OneOf, Paragraphs
from core.stages import OUTCOMES

OUTCOME_LABELS = {"settled": "Settled", "not_settled": "Not settled", "withdrawn": "Withdrawn"}


class ConflictAnswer(BaseModel):
    """Accept the case (no conflict), or decline it with the nature of the conflict (the workflow requires it)."""

    model_config = ConfigDict(extra="forbid")

    accept: bool
    reason: Annotated[str, Paragraphs(2000, "the reason")] = Field("", description="Required when declining: the nature of the conflict")


class Closure(BaseModel):
    """The outcome of the mediation, told to everyone on the case."""

    model_config = ConfigDict(extra="forbid")

    outcome: Annotated[str, OneOf(OUTCOMES, "Choose the outcome: settled, not settled or withdrawn.")] = Field(description="settled, not_settled or withdrawn")
    note: Annotated[str, Paragraphs(5000, "the note")] = ""


class ConflictCheckParty(BaseModel):
    name: str
    side: str
    representatives: list[str]


class ConflictCheckCase(BaseModel):
    id: int
    title: str
    property_address: str
    dispute_bases: list[str]
    dispute_value: str
    description: str
    parties: list[ConflictCheckParty]
    deadline: str | None = Field(description="Answer by then (RFC 3339, UTC), or the center asks the next mediator")


class MediatorState(BaseModel):
    """Where the case stands after the mediator's action."""

    case_id: int
    stage: str
    stage_label: str
    mediator_id: int | None
    candidate_mediator_id: int | None
    fee_deposit_collected: bool
    mediation_scheduled: bool
    outcome: str | None
