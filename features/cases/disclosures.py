"""A mediator's disclosures as each person on the case may see them, and the one action of the parties on them:
object (saying why) or say they do not object, within the window.

The disclosure is made to the parties: they and their representatives read what the mediator disclosed, and answer
for the parties they act for. Interested persons learn only that there is a disclosure and how it ended. The mediator
reads their own. Who objected, and why, is for the center (the staff console). Everything is read from the case's
published state, so these pages never wait on a worker.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.case_state import CaseState, MediatorDisclosure
from core.db.models import Person
from core.errors import Forbidden, NotFound
from core.inputs import Id, Paragraphs
from core.wording import DISCLOSURE_HEADINGS
from features.access import CaseAccess
from features.cases.models import PersonRef
from features.cases.state import case_state, state_after
from features.context import AppContext
from features.lifecycle import run_update
from workflows.case import CaseWorkflow
from workflows.types import DisclosureReply

NO_SUCH_DISCLOSURE = "No such disclosure on this case."
ONLY_PARTIES = "Only the parties, and their representatives acting for them, can answer the mediator's disclosure."
NOT_FOR_YOU = "You can answer a disclosure only for yourself or for a party you represent."
STATUS_LABELS = {
    "awaiting_mediator": "The mediator is asked to confirm again",
    "confirmed": "Nothing to disclose",
    "open": "Open for objections",
    "objected": "A party objected: the center decides",
    "accepted": "No objection: the disclosure stands",
    "overruled": "Objection overruled: the disclosure stands",
    "upheld": "Objection upheld: the mediator does not serve",
    "stepped_down": "The mediator stepped down",
    "superseded": "No longer needed",
    "ended": "Ended with the case",
}
ROLE_WORDS = {"party": "a party", "representative": "a representative", "interested": "an interested person"}


class DisclosureAnswer(BaseModel):
    """A party's answer to a disclosure: it objects (saying why: the center reads it and decides), or it does not."""

    model_config = ConfigDict(extra="forbid")

    party_id: Id | None = Field(None, description="The party to answer for; defaults to the first party the signed-in person acts for.")
    objects: bool = Field(description="True: object to this mediator; false: no objection.")
    reason: Annotated[str, Paragraphs(2000, "the reason")] = Field("", description="Required when objecting.", validate_default=True)

    @field_validator("reason")
    @classmethod
    def _why(cls, reason: str, info: ValidationInfo) -> str:
        if info.data.get("objects") and not reason:
            raise PydanticCustomError("reason", "Say briefly why you object to this mediator; the center reads it.")
        return reason


class DisclosedAnswerOut(BaseModel):
    question: str = Field(description="Which question the mediator answered yes to")
    details: str
    people: list[str] = Field(default_factory=list, description="For a relationship: the people of the case it concerns")


class PartyAnswerOut(BaseModel):
    party: PersonRef
    objects: bool
    reason: str
    at: str = Field(description="RFC 3339, UTC")


class DisclosureOut(BaseModel):
    """A disclosure as the signed-in person may see it."""

    number: int
    kind: str = Field(description="conflict_check, or reconfirmation (someone joined after acceptance)")
    mediator: PersonRef
    about: PersonRef | None = Field(description="A re-confirmation: the person who joined")
    status: str
    status_label: str
    objections_until: str | None = Field(description="The parties may object until then (RFC 3339, UTC)")
    window_open: bool
    may_object: list[PersonRef] = Field(description="The parties who may object (their representatives answer for them)")
    answers: list[DisclosedAnswerOut] | None = Field(description="What the mediator disclosed; null for interested persons")
    objection_made: bool
    your_answers: list[PartyAnswerOut] = Field(description="The answers of the parties you act for")
    you_may_answer_for: list[PersonRef] = Field(description="Parties you may still answer for")
    decision_reason: str = Field(description="The center's reason, when it decided an objection (not shown to interested persons)")


@dataclass
class DisclosureView:
    record: MediatorDisclosure
    names: dict[int, str]
    # The answers are shown: the parties, their representatives, the mediator who made it, staff.
    full: bool
    acts_for: list[int]
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def number(self) -> int:
        return self.record.number

    @property
    def mediator_name(self) -> str:
        return self.names.get(self.record.mediator_id, "The mediator")

    @property
    def about_name(self) -> str:
        return self.names.get(self.record.about_person_id, "") if self.record.about_person_id is not None else ""

    @property
    def about_role(self) -> str:
        return ROLE_WORDS.get(self.record.about_role, "a participant")

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.record.status, self.record.status)

    @property
    def window_open(self) -> bool:
        until = self.record.objections_until
        return self.record.status in ("open", "objected") and until is not None and self.now < datetime.fromisoformat(until)

    @property
    def answers(self) -> list[DisclosedAnswerOut]:
        r = self.record
        given = {"financial_interest": r.financial_interest, "relationship": r.relationship, "past_services": r.past_services, "other_matters": r.other_matters}
        return [
            DisclosedAnswerOut(
                question=DISCLOSURE_HEADINGS[key],
                details=details,
                people=[self.names.get(p, f"Person {p}") for p in r.relationship_person_ids] if key == "relationship" else [],
            )
            for key, details in given.items()
            if details
        ]

    @property
    def objection_made(self) -> bool:
        return any(r.objects for r in self.record.responses)

    @property
    def your_answers(self) -> list[PartyAnswerOut]:
        return [
            PartyAnswerOut(party=PersonRef(id=r.party_id, full_name=self.names.get(r.party_id, "")), objects=r.objects, reason=r.reason, at=r.at)
            for r in self.record.responses
            if r.party_id in self.acts_for
        ]

    @property
    def may_answer_for(self) -> list[PersonRef]:
        if not self.window_open:
            return []
        answered = {r.party_id for r in self.record.responses}
        return [PersonRef(id=p, full_name=self.names.get(p, "")) for p in self.acts_for if p in self.record.may_object_party_ids and p not in answered]

    @property
    def decision_reason(self) -> str:
        return self.record.decision_reason if self.full else ""

    def out(self) -> DisclosureOut:
        r = self.record
        return DisclosureOut(
            number=r.number,
            kind=r.kind,
            mediator=PersonRef(id=r.mediator_id, full_name=self.mediator_name),
            about=PersonRef(id=r.about_person_id, full_name=self.about_name) if r.about_person_id is not None else None,
            status=r.status,
            status_label=self.status_label,
            objections_until=r.objections_until,
            window_open=self.window_open,
            may_object=[PersonRef(id=p, full_name=self.names.get(p, "")) for p in r.may_object_party_ids],
            answers=self.answers if self.full else None,
            objection_made=self.objection_made,
            your_answers=self.your_answers,
            you_may_answer_for=self.may_answer_for,
            decision_reason=self.decision_reason,
        )


def _reads_answers(access: CaseAccess, record: MediatorDisclosure) -> bool:
    return access.is_staff or access.has_role("party", "representative") or record.mediator_id == access.viewer.id


def shown(state: CaseState) -> list[MediatorDisclosure]:
    """What the people on the case are shown: every disclosure made, and each re-confirmation still waiting for the mediator."""
    return [r for r in state.disclosures if r.disclosed or r.status == "awaiting_mediator"]


async def _names(db: AsyncSession, records: list[MediatorDisclosure]) -> dict[int, str]:
    ids: set[int] = set()
    for r in records:
        ids |= {r.mediator_id, *r.may_object_party_ids, *r.relationship_person_ids, *(x.party_id for x in r.responses)}
        if r.about_person_id is not None:
            ids.add(r.about_person_id)
    if not ids:
        return {}
    return {p.id: p.full_name for p in (await db.execute(select(Person).where(Person.id.in_(ids)))).scalars()}


async def disclosure_views(db: AsyncSession, access: CaseAccess, state: CaseState | None = None) -> list[DisclosureView]:
    state = state or await case_state(db, access.case)
    records = shown(state)
    names = await _names(db, records)
    acts_for = list(dict.fromkeys(access.represented_party_ids))
    return [DisclosureView(record=r, names=names, full=_reads_answers(access, r), acts_for=acts_for) for r in records]


async def disclosure_view(db: AsyncSession, access: CaseAccess, number: int) -> DisclosureView:
    """One disclosure the mediator made, for anyone on the case (404 when there is none by that number)."""
    view = next((v for v in await disclosure_views(db, access) if v.number == number and v.record.disclosed), None)
    if view is None:
        raise NotFound(NO_SUCH_DISCLOSURE)
    return view


def answering_for(access: CaseAccess, requested: int | None) -> int:
    acts_for = list(dict.fromkeys(access.represented_party_ids))
    if not acts_for:
        raise Forbidden(ONLY_PARTIES)
    if requested is None:
        return acts_for[0]
    if requested not in acts_for:
        raise Forbidden(NOT_FOR_YOU)
    return requested


async def answer_disclosure(ctx: AppContext, db: AsyncSession, access: CaseAccess, number: int, answer: DisclosureAnswer) -> CaseState:
    """Object to the mediator's disclosure (with why) or say there is no objection, for a party the viewer acts for;
    the workflow checks the window is open and the party has not answered yet."""
    await disclosure_view(db, access, number)
    party = answering_for(access, answer.party_id)
    reply = DisclosureReply(actor_id=access.viewer.id, party_id=party, number=number, objects=answer.objects, reason=answer.reason if answer.objects else "")
    return await state_after(db, access.case, await run_update(ctx, access.case.id, CaseWorkflow.respond_to_disclosure, reply, db=db))
