"""What a case looks like from outside its workflow: the state the workflow publishes to the database as it
goes, which every page and the JSON API read. Plain dataclasses, free of Temporal, so any layer may use them.
"""

from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import TypeAdapter


@dataclass
class TimelineEntry:
    at: str
    event: str
    detail: str = ""


@dataclass
class ConflictAttempt:
    mediator_id: int
    ranking_round: int
    started_at: str
    deadline: str
    # pending, accepted, declined, timed_out, withdrawn; disclosed (the parties' objection window is open), then
    # accepted or objection_upheld; after acceptance, objection_upheld or stepped_down (at a re-confirmation).
    outcome: str = "pending"
    reason: str = ""
    # Why this mediator was asked: top_choice, next_choice (after someone could not serve), panel_order (nobody
    # ranked) or next_in_panel; empty for cases that did not record it.
    asked_because: str = ""


@dataclass
class TallyResult:
    ranking_round: int
    order: list[int]
    selected: int | None
    # Exact scores as "p/q" strings, survivors only.
    scores: dict[str, str]
    eliminated: list[int]
    ballots_counted: int
    # Whose ballots were counted: each one's last ballot of the round (empty for tallies from before it was recorded).
    counted_party_ids: list[int] = field(default_factory=list)


@dataclass
class PartyProgress:
    person_id: int
    side: str
    representative_ids: list[int]
    submitted: bool


@dataclass
class DisclosureResponse:
    """A party's answer to a mediator's disclosure, given by the party or by a representative acting for it."""

    party_id: int
    by_id: int
    objects: bool
    at: str
    reason: str = ""


# What became of a disclosure record: awaiting_mediator (a re-confirmation not answered yet), confirmed (nothing to
# disclose), open (the parties may object until objections_until), objected (a party objected: the center decides),
# accepted (no objection), overruled, upheld (the next mediator is asked), stepped_down (the mediator withdrew at a
# re-confirmation), superseded (the mediator or the person left first), ended (the case ended first).
DISCLOSURE_PENDING = ("awaiting_mediator", "open", "objected")


@dataclass
class MediatorDisclosure:
    """A mediator's answers to the disclosure questions, at the conflict check or again for a person who joined after
    acceptance, and, when they disclosed something, the parties' objection window and how it ended.

    Parties and their representatives read the answers (they are the disclosure's audience); interested persons only
    that there is one; who objected and why is for staff."""

    # Its place in the case's list, from 1: its address (/cases/<id>/disclosures/<number>).
    number: int
    mediator_id: int
    # conflict_check or reconfirmation
    kind: str
    ranking_round: int
    asked_at: str
    # A re-confirmation: who joined the case, and as what (party, representative, interested).
    about_person_id: int | None = None
    about_role: str = ""
    status: str = "open"
    answered_at: str = ""
    financial_interest: str = ""
    relationship: str = ""
    relationship_person_ids: list[int] = field(default_factory=list)
    past_services: str = ""
    other_matters: str = ""
    # A mediator who stepped down at a re-confirmation says why.
    step_down_reason: str = ""
    # The objection window: who may object (the parties; their representatives act for them), and until when.
    objections_until: str | None = None
    may_object_party_ids: list[int] = field(default_factory=list)
    responses: list[DisclosureResponse] = field(default_factory=list)
    decided_by_id: int | None = None
    decision_reason: str = ""
    decided_at: str = ""
    settled_at: str = ""

    @property
    def disclosed(self) -> bool:
        return any(text.strip() for text in (self.financial_interest, self.relationship, self.past_services, self.other_matters))

    @property
    def pending(self) -> bool:
        return self.status in DISCLOSURE_PENDING


@dataclass
class CaseState:
    """The whole of a case as its workflow publishes it: stage, deadlines, who has ranked, the tally and order, the
    conflict-check attempts, the mediators' disclosures and the timeline. Individual ballots are not in it (staff read
    those from the audit).

    `version` only grows: a publication older than the one stored is ignored, so the stored state never goes back."""

    case_id: int
    stage: str
    stage_label: str
    stage_deadline: str | None
    ranking_round: int
    panel: list[int]
    parties: list[PartyProgress]
    tally: TallyResult | None
    tally_history: list[TallyResult]
    candidate_mediator_id: int | None
    mediator_id: int | None
    tried_mediator_ids: list[int]
    conflict_attempts: list[ConflictAttempt]
    fee_deposit_collected: bool
    mediation_scheduled: bool
    outcome: str | None
    note: str
    timeline: list[TimelineEntry]
    retention_due_at: str | None = None
    records_purged: bool = False
    version: int = 0
    # When the case entered its present stage (ISO 8601, UTC).
    stage_since: str | None = None
    # The mediators' disclosures and re-confirmations, oldest first (features/cases/disclosures.py shows each role its part).
    disclosures: list[MediatorDisclosure] = field(default_factory=list)


_ADAPTER: TypeAdapter[CaseState] = TypeAdapter(CaseState)


def state_to_json(state: CaseState) -> dict[str, Any]:
    return asdict(state)


def state_from_json(data: dict[str, Any]) -> CaseState:
    return _ADAPTER.validate_python(data)
