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
    outcome: str = "pending"  # pending, accepted, declined, timed_out, withdrawn
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
class CaseState:
    """The whole of a case as its workflow publishes it: stage, deadlines, who has ranked, the tally and order, the
    conflict-check attempts and the timeline. Individual ballots are not in it (staff read those from the audit).

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


_ADAPTER: TypeAdapter[CaseState] = TypeAdapter(CaseState)


def state_to_json(state: CaseState) -> dict[str, Any]:
    return asdict(state)


def state_from_json(data: dict[str, Any]) -> CaseState:
    return _ADAPTER.validate_python(data)
