"""What crosses the workflow boundary: inputs, update arguments, and the status the Query returns.

Plain dataclasses of JSON-friendly fields, so histories stay readable and replayable.
Durations are whole seconds because they travel through the default data converter.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from core.settings import Settings


@dataclass
class LifecycleTimers:
    ranking_window_seconds: int
    ranking_reminder_offsets_seconds: list[int]
    conflict_check_window_seconds: int
    conflict_check_reminder_after_seconds: int
    panel_size: int
    max_eliminations: int
    # Cases started before retention existed carry no value here and get the center's default of two years.
    retention_seconds: int = 730 * 86400

    @classmethod
    def from_settings(cls, settings: Settings) -> "LifecycleTimers":
        def seconds(d: timedelta) -> int:
            return int(d.total_seconds())

        return cls(
            ranking_window_seconds=seconds(settings.ranking_window),
            ranking_reminder_offsets_seconds=[seconds(o) for o in settings.ranking_reminder_offsets],
            conflict_check_window_seconds=seconds(settings.conflict_check_window),
            conflict_check_reminder_after_seconds=seconds(settings.conflict_check_reminder_after),
            panel_size=settings.panel_size,
            max_eliminations=settings.max_eliminations,
            retention_seconds=seconds(settings.retention_period),
        )


@dataclass
class RosterParty:
    person_id: int
    side: str
    # People who may rank on this party's behalf (attorney, agent, power of attorney).
    representative_ids: list[int] = field(default_factory=list)


@dataclass
class CaseInput:
    case_id: int
    property_address: str
    filed_by_id: int
    parties: list[RosterParty]
    timers: LifecycleTimers


@dataclass
class IntakeDecision:
    accept: bool
    actor_id: int
    # Mediator person ids chosen by staff; empty means "propose from the directory".
    panel: list[int] = field(default_factory=list)
    reason: str = ""


@dataclass
class RankingSubmission:
    actor_id: int
    party_id: int
    ranked: list[int]
    eliminated: list[int] = field(default_factory=list)


@dataclass
class RankingReceipt:
    ranking_round: int
    revision: bool
    unchanged: bool
    waiting_for: list[int]


@dataclass
class DeadlineExtension:
    actor_id: int
    extra_seconds: int


@dataclass
class StaffAction:
    actor_id: int
    reason: str = ""


@dataclass
class ConflictDecision:
    actor_id: int
    accept: bool
    reason: str = ""


@dataclass
class NewPanel:
    actor_id: int
    panel: list[int] = field(default_factory=list)


@dataclass
class MediatorMilestone:
    actor_id: int
    is_staff: bool = False


@dataclass
class CaseClosure:
    actor_id: int
    outcome: str
    is_staff: bool = False
    note: str = ""


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


@dataclass
class TallyResult:
    ranking_round: int
    order: list[int]
    selected: int | None
    # Exact scores as "p/q" strings, survivors only.
    scores: dict[str, str]
    eliminated: list[int]
    ballots_counted: int


@dataclass
class PartyProgress:
    person_id: int
    side: str
    representative_ids: list[int]
    submitted: bool


@dataclass
class CaseStatus:
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


@dataclass
class BallotView:
    party_id: int
    side: str
    submitted_by_id: int
    ranked: list[int]
    eliminated: list[int]
    submitted_at: str
