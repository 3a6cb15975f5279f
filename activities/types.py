"""What the case workflow hands its activities: plain dataclasses, so histories stay readable and replayable."""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypedDict

from temporalio.common import RetryPolicy


class ActivityOptions(TypedDict, total=False):
    """How long an activity may run and how it is retried: passed as `**options` to execute_activity."""

    start_to_close_timeout: timedelta
    retry_policy: RetryPolicy


@dataclass
class StageRecord:
    case_id: int
    stage: str
    stage_deadline: str | None
    ranking_round: int
    panel: list[int]
    candidate_mediator_id: int | None
    mediator_id: int | None
    fee_deposit_collected: bool
    mediation_scheduled: bool
    outcome: str | None
    note: str


@dataclass
class BallotAudit:
    case_id: int
    ranking_round: int
    party_id: int
    submitted_by_id: int
    side: str
    ranked: list[int]
    eliminated: list[int]
    submitted_at: str
    submission_key: str
    # The ballot's fingerprint (workflows/ballot_fingerprint.py); empty for ballots recorded before fingerprints.
    fingerprint: str = ""


@dataclass
class PanelRequest:
    case_id: int
    size: int
    exclude: list[int]


@dataclass
class RetentionRecord:
    case_id: int
    due_at: str


@dataclass
class Notification:
    """One email event: the one notification activity renders it for each recipient and sends it once to each."""

    key: str
    template: str
    case_id: int
    recipient_ids: list[int] = field(default_factory=list)
    # Everyone on the case (read from the database when sent), in addition to recipient_ids.
    all_participants: bool = False
    to_center: bool = False
    details: dict[str, str] = field(default_factory=dict)
    # People left out of all_participants (who made the change need not be told of it).
    except_ids: list[int] = field(default_factory=list)
    # An email already rendered and kept in the ledger under this key (it holds a secret, such as a password link).
    stored_key: str = ""
