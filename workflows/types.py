"""What crosses the workflow boundary: inputs, update arguments, and the status the Query returns.

Plain dataclasses of JSON-friendly fields, so histories stay readable and replayable.
Durations are whole seconds because they travel through the default data converter.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from core.case_state import CaseState
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
    # Reminders this long before the deadline in force. Cases started before it existed have none here and keep
    # their reminders at `ranking_reminder_offsets_seconds` from the round's start.
    ranking_reminders_before_deadline_seconds: list[int] = field(default_factory=list)
    # How long the parties may object to a mediator's disclosure. Cases started before disclosures get two days.
    disclosure_objection_window_seconds: int = 2 * 86400

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
            ranking_reminders_before_deadline_seconds=[seconds(b) for b in settings.ranking_reminders_before_deadline],
            disclosure_objection_window_seconds=seconds(settings.disclosure_objection_window),
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
    # The case as it stands once the ballot is counted (None for cases started before the state was published).
    state: CaseState | None = None
    # The fingerprint of the party's ballot as it now counts (workflows/ballot_fingerprint.py).
    fingerprint: str = ""


@dataclass
class DeadlineExtension:
    actor_id: int
    extra_seconds: int


@dataclass
class StaffAction:
    actor_id: int
    reason: str = ""


@dataclass
class DisclosureAnswers:
    """The mediator's answers to the disclosure questions (California Rules of Court 3.855, the Uniform Mediation Act):
    each answer's details, empty when the answer is no."""

    # A financial or personal interest in the outcome.
    financial_interest: str = ""
    # An existing or past relationship with a party, representative or interested person of the case (ticked by name).
    relationship: str = ""
    relationship_person_ids: list[int] = field(default_factory=list)
    # Past services to any of them.
    past_services: str = ""
    # Anything else a reasonable person would want to know.
    other_matters: str = ""

    def discloses(self) -> bool:
        return any(text.strip() for text in (self.financial_interest, self.relationship, self.past_services, self.other_matters))


@dataclass
class ConflictDecision:
    actor_id: int
    accept: bool
    reason: str = ""
    # The answers to the disclosure questions; None from a client (or a case) from before them. Accepting with
    # something disclosed opens the parties' objection window instead of accepting at once.
    disclosure: DisclosureAnswers | None = None


@dataclass
class Reconfirmation:
    """The mediator's answer, after acceptance, for a person who joined the case: the same questions again, or a
    conflict that makes them step down (accept False, with the reason)."""

    actor_id: int
    person_id: int
    accept: bool = True
    reason: str = ""
    disclosure: DisclosureAnswers | None = None


@dataclass
class DisclosureReply:
    """A party's answer to a disclosure (given by the party or a representative acting for it): objects, with why, or not."""

    actor_id: int
    party_id: int
    number: int
    objects: bool
    reason: str = ""


@dataclass
class ObjectionRuling:
    """The center's decision on an objection to a disclosure: upheld (the next mediator is asked) or overruled."""

    actor_id: int
    number: int
    uphold: bool
    reason: str = ""


@dataclass
class RosterChange:
    """The parties after staff add or remove a person, and who that person is: once a mediator serves, they confirm
    again that they have no conflict with whoever joins (a party, a representative or an interested person)."""

    parties: list[RosterParty]
    actor_id: int = 0
    added_person_id: int | None = None
    added_role: str = ""
    removed_person_id: int | None = None


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
class BallotView:
    party_id: int
    side: str
    submitted_by_id: int
    ranked: list[int]
    eliminated: list[int]
    submitted_at: str
    # The fingerprint of the ballot as counted (workflows/ballot_fingerprint.py); empty for ballots from before.
    fingerprint: str = ""
