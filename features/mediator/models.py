"""What the mediator sends and reads: the conflict-check answer, the closing, and the case as they see it."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from core.inputs import Id, OneOf, Paragraphs
from core.stages import OUTCOMES
from workflows.types import DisclosureAnswers

OUTCOME_LABELS = {"settled": "Settled", "not_settled": "Not settled", "withdrawn": "Withdrawn"}
Details = Annotated[str, Paragraphs(2000, "the details")]
# What to say when a question is answered yes without saying what: next to that question's details.
DETAILS_NEEDED = {
    "financial_interest": "Say what the interest in the outcome is.",
    "relationship": "Say who the relationship is with and what it is (or was).",
    "past_services": "Say what services you provided, to whom and when.",
    "other_matters": "Say what else the parties should know.",
}


class ConflictAnswer(BaseModel):
    """Accept the case, answering the disclosure questions (California Rules of Court 3.855, the Uniform Mediation Act),
    or decline it with the nature of the conflict (the workflow requires it). Each question answered yes needs its
    details; a yes to any of them is a disclosure, which the parties may object to before the mediator is theirs.
    Answering no to all four (the default) accepts at once. The same answer serves the re-confirmation asked when
    someone joins the case after acceptance, where declining means stepping down."""

    model_config = ConfigDict(extra="forbid")

    accept: bool
    reason: Annotated[str, Paragraphs(2000, "the reason")] = Field("", description="Required when declining: the nature of the conflict")
    financial_interest: bool = Field(False, description="Any financial or personal interest in the outcome.")
    financial_interest_details: Details = Field("", validate_default=True)
    relationship: bool = Field(False, description="Any existing or past relationship with a party, representative or interested person of the case.")
    relationship_details: Details = Field("", validate_default=True)
    relationship_with: list[Id] = Field(default_factory=list, max_length=100, description="Person ids of the case's people the relationship is with.")
    past_services: bool = Field(False, description="Past services to any of them.")
    past_services_details: Details = Field("", validate_default=True)
    other_matters: bool = Field(False, description="Anything else a reasonable person would want to know.")
    other_matters_details: Details = Field("", validate_default=True)

    @field_validator("financial_interest_details", "relationship_details", "past_services_details", "other_matters_details")
    @classmethod
    def _details_of_a_yes(cls, details: str, info: ValidationInfo) -> str:
        question = (info.field_name or "").removesuffix("_details")
        if info.data.get("accept") and info.data.get(question) and not details:
            raise PydanticCustomError("details", DETAILS_NEEDED[question])
        return details

    def disclosure(self) -> DisclosureAnswers:
        """The answers as the workflow keeps them: each yes's details (a no's details are not kept)."""
        return DisclosureAnswers(
            financial_interest=self.financial_interest_details if self.financial_interest else "",
            relationship=self.relationship_details if self.relationship else "",
            relationship_person_ids=list(dict.fromkeys(self.relationship_with)) if self.relationship else [],
            past_services=self.past_services_details if self.past_services else "",
            other_matters=self.other_matters_details if self.other_matters else "",
        )


class Closure(BaseModel):
    """The outcome of the mediation, told to everyone on the case."""

    model_config = ConfigDict(extra="forbid")

    outcome: Annotated[str, OneOf(OUTCOMES, "Choose the outcome: settled, not settled or withdrawn.")] = Field(description="settled, not_settled or withdrawn")
    note: Annotated[str, Paragraphs(5000, "the note")] = ""


class ConflictCheckParty(BaseModel):
    name: str
    side: str
    representatives: list[str]


class CasePerson(BaseModel):
    """Someone on the case the mediator answers the relationship question about (their id is what `relationship_with` takes)."""

    id: int
    name: str
    role: str = Field(description="party, representative or interested")


class ConflictCheckCase(BaseModel):
    id: int
    title: str
    property_address: str
    dispute_bases: list[str]
    dispute_value: str
    description: str
    parties: list[ConflictCheckParty]
    people: list[CasePerson] = Field(description="Everyone on the case, for the relationship question.")
    deadline: str | None = Field(description="Answer by then (RFC 3339, UTC), or the center asks the next mediator")


class Reconfirmation(BaseModel):
    """A person joined the case after the mediator accepted it: who, and everyone on the case, for the same questions."""

    case_id: int
    title: str
    person: CasePerson
    people: list[CasePerson]


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
