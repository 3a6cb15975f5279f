"""What goes into and comes out of a case's own pages: filing a Request to Mediate, My Cases, Case Home and its
messages, Intake Details and Users. One model per action, the same for the page and the JSON API."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.inputs import EmailAddress, Line, OneOf, Paragraphs
from core.time import UtcDateTime

DISPUTE_BASES = (
    "Deposit dispute",
    "Failure to disclose a known defect",
    "Landlord-tenant dispute",
    "Homeowners association dispute",
    "Other",
)
DISPUTE_VALUES = (
    "Up to $12,500",
    "$12,501 to $25,000",
    "$25,001 to $50,000",
    "$50,001 to $75,000",
    "$75,001 and over",
)
FILER_ROLES = {"party": "", "agent": "Agent", "attorney": "Attorney", "power_of_attorney": "Power of attorney"}
MAX_OTHER_PARTIES = 8

DisputeBasis = Annotated[str, OneOf(DISPUTE_BASES, "Choose the basis of the dispute from the list.")]
DisputeValue = Annotated[str, OneOf(DISPUTE_VALUES, "Choose the estimated value of the dispute.")]


class OtherParty(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: Annotated[str, Line(200, "the name", required="Give the party's full name.")]
    email: Annotated[str, EmailAddress(required="Give the party's email.")]
    side: Literal["initiating", "responding"] = "responding"


class RequestToMediate(BaseModel):
    """The Request to Mediate as the filer fills it in. Who the filer is, and that every party has their own email,
    are checked when it is filed (they need the filer)."""

    model_config = ConfigDict(extra="forbid")

    property_address: Annotated[str, Line(300, "the property address", required="Enter the address of the subject property.")]
    dispute_bases: list[DisputeBasis] = Field(max_length=len(DISPUTE_BASES), description="Select all that apply.")
    dispute_value: DisputeValue
    description: Annotated[str, Paragraphs(5000, "the description")] = ""
    filer_role: Literal["party", "agent", "attorney", "power_of_attorney"] = "party"
    party_name: Annotated[str, Line(200, "the party's name")] = Field("", description="When filing for a party: their name")
    party_email: Annotated[str, EmailAddress(required=None)] = Field("", description="When filing for a party: their email")
    others: list[OtherParty] = Field(max_length=MAX_OTHER_PARTIES, description="The other parties; at least one responding")

    @field_validator("others")
    @classmethod
    def _someone_else(cls, others: list[OtherParty]) -> list[OtherParty]:
        if not others:
            raise ValueError("Name at least one other party, with their email.")
        return others

    @field_validator("dispute_bases")
    @classmethod
    def _some_basis(cls, bases: list[str]) -> list[str]:
        if not bases:
            raise ValueError("Select at least one basis of the dispute.")
        return list(dict.fromkeys(bases))


class NewMessage(BaseModel):
    """A Case Home message: visible to everyone on the case."""

    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, Paragraphs(5000, "your message", required="Write your message before selecting Add New Message.")] = Field(
        description="Visible to all case participants."
    )


class CaseItem(BaseModel):
    """A case as My Cases lists it."""

    id: int
    title: str = Field(description="Initiating parties vs responding parties")
    property_address: str
    stage: str
    stage_label: str
    stage_deadline: UtcDateTime | None = Field(description="RFC 3339, UTC")
    conflict_check_requested: bool = Field(description="You are the mediator asked to do this case's conflict check")
    conflict_check_ended: Literal["declined", "timed_out", "withdrawn", "disclosed", "objection_upheld", "stepped_down"] | None = Field(
        None,
        description="You were asked for this case's conflict check and are not on it: how your request ended (disclosed: your disclosure is "
        "with the parties until their window closes)",
    )
    what_happened: str = Field("", description="That ending, as a sentence for you")


class CasePage(BaseModel):
    """One page of My Cases: "Showing N out of M"."""

    items: list[CaseItem]
    total: int
    page: int
    pages: int
    page_size: int


class NextStepOut(BaseModel):
    text: str
    link: str = Field(description="The page where the step is done, if any")


class PersonRef(BaseModel):
    id: int
    full_name: str


class WelcomeOut(BaseModel):
    """The center's welcome at the start of every case's messages. It is part of the page, not a stored message, so
    nobody can delete it."""

    title: str
    body: str
    author_name: str = Field(description="The center")
    created_at: UtcDateTime = Field(description="When the case was filed; RFC 3339, UTC")


class CaseHomeOut(BaseModel):
    """Case Home: where the case stands, and what the signed-in person has to do next."""

    id: int
    title: str
    property_address: str
    stage: str
    stage_label: str
    stage_deadline: str | None = Field(description="RFC 3339, UTC")
    mediator: PersonRef | None
    selected_mediator: PersonRef | None = Field(
        None, description="During the conflict check: the mediator selected, who has until stage_deadline to confirm acceptance"
    )
    next_steps: list[NextStepOut]
    fee_deposit_collected: bool
    mediation_scheduled: bool
    outcome: str | None
    changes_paused: bool = Field(description="True while no worker serves the cases: reading works, actions answer 503")
    welcome: WelcomeOut


class MessageOut(BaseModel):
    id: int
    author_id: int
    author_name: str
    body: str
    created_at: UtcDateTime = Field(description="RFC 3339, UTC")
    can_delete: bool = Field(description="Whether the signed-in person may delete it: its author, or center staff.")


class IntakeOut(BaseModel):
    """Intake Details: the Request to Mediate as filed (not shown to interested persons)."""

    model_config = ConfigDict(from_attributes=True)

    case_id: int
    property_address: str
    dispute_bases: list[str] = Field(description="Basis for the dispute")
    dispute_value: str = Field(description="Estimation of Dispute Value")
    description: str
    filed_by_id: int
    filed_by_name: str
    filed_at: UtcDateTime = Field(description="RFC 3339, UTC")


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    email: str
    phone: str
    organization: str
    city: str
    state: str


class CaseUserOut(BaseModel):
    """Someone taking part in the case, as the Users tab shows them."""

    model_config = ConfigDict(from_attributes=True)

    participant_id: int
    person_id: int
    name: str
    role: str = Field(description="party, representative, interested, mediator or staff")
    role_label: str
    side: str | None = Field(description="initiating or responding; a representative's is the side of the party they act for")
    side_label: str
    represents_id: int | None
    represents_name: str
    representative_kind: str = Field(description="Attorney, Agent or Power of attorney, for a representative")
    contact_hidden: bool
    contact: ContactOut | None = Field(description="Null when the person asked for their contact details to be hidden (staff still get them).")
