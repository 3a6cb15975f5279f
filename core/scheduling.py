"""A scheduling poll as its workflow publishes it, and the rule that orders its times best first.

The mediator proposes a few times; each party, representative and interested person marks each one available, if
need be or unavailable; the mediator picks one. Plain dataclasses free of Temporal, so the workflow, the activity
that writes them to the database and the pages share them.
"""

from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import TypeAdapter

MIN_SLOTS_TO_OPEN = 2
MAX_SLOTS = 8
# The longest a proposed time may last: a mediation session runs a day at most; longer is a mistyped end.
MAX_SLOT_HOURS = 24

AVAILABLE, IF_NEED_BE, UNAVAILABLE = "available", "if_need_be", "unavailable"
ANSWERS = (AVAILABLE, IF_NEED_BE, UNAVAILABLE)
ANSWER_LABELS = {AVAILABLE: "Available", IF_NEED_BE: "If need be", UNAVAILABLE: "Unavailable"}
# Who marks the times: everyone on the case but the mediator (who proposes them) and staff (who manage the poll).
RESPONDENT_ROLES = ("party", "representative", "interested")

# open: answers are taken until answers_due_at. answers_closed: the deadline passed; the mediator picks or proposes
# more. picked: the Mediation event exists and the case is scheduled. cancelled: by the mediator or staff, or because
# the case moved on without it (closed_reason says which).
OPEN, ANSWERS_CLOSED, PICKED, CANCELLED = "open", "answers_closed", "picked", "cancelled"
LIVE_STATUSES = (OPEN, ANSWERS_CLOSED)
STATUS_LABELS = {OPEN: "Open for answers", ANSWERS_CLOSED: "Answers closed: a time is to be picked", PICKED: "Time picked", CANCELLED: "Cancelled"}


@dataclass
class PollSlot:
    # 1, 2, ... in the order proposed; never reused within a poll.
    number: int
    # ISO 8601 in UTC.
    starts_at: str
    ends_at: str


@dataclass
class PollRespondent:
    person_id: int
    # party, representative or interested, as on the case when the poll last heard of them.
    role: str
    # Whether they have marked every time now in the poll: who has not is reminded, and waited on.
    answered: bool = False


@dataclass
class PollAnswer:
    person_id: int
    slot: int
    answer: str
    answered_at: str


@dataclass
class PollState:
    """A poll round of a case: its times, who answers, each answer, and how it ended.

    `version` only grows: a publication older than the one stored is ignored, so the stored poll never goes back."""

    case_id: int
    number: int
    workflow_id: str
    status: str
    mediator_id: int
    proposed_by_id: int
    opened_at: str
    # When answers close (ISO 8601, UTC); moved when more times are proposed.
    answers_due_at: str | None
    slots: list[PollSlot]
    respondents: list[PollRespondent]
    answers: list[PollAnswer]
    picked_slot: int | None = None
    picked_by_id: int | None = None
    event_id: int | None = None
    closed_at: str | None = None
    closed_reason: str = ""
    version: int = 0
    # The reminder still to come to those who have not answered (ISO 8601, UTC), if any.
    reminder_at: str | None = None


_ADAPTER: TypeAdapter[PollState] = TypeAdapter(PollState)


def poll_to_json(state: PollState) -> dict[str, Any]:
    return asdict(state)


def poll_from_json(data: dict[str, Any]) -> PollState:
    return _ADAPTER.validate_python(data)


# ---- best first ---------------------------------------------------------------------------------


@dataclass
class SlotTally:
    """How one time suits the people asked: counts among the parties, and among everyone who answers."""

    slot: PollSlot
    parties_available: int = 0
    parties_if_need_be: int = 0
    parties_unavailable: int = 0
    parties_silent: int = 0
    available: int = 0
    if_need_be: int = 0
    unavailable: int = 0
    answers: dict[int, str] = field(default_factory=dict)

    @property
    def works_for_every_party(self) -> bool:
        """Every party has said they can come (available, or if need be)."""
        return self.parties_unavailable == 0 and self.parties_silent == 0

    def sort_key(self) -> tuple:
        # A time a party cannot make never comes before one they can; then the most parties available, then the
        # most who can if need be; then everyone else on the case the same way; then the earlier time.
        return (
            self.parties_unavailable > 0,
            -self.parties_available,
            -self.parties_if_need_be,
            self.parties_silent,
            -self.available,
            -self.if_need_be,
            self.unavailable,
            self.slot.starts_at,
            self.slot.number,
        )


def tally_slots(state: PollState) -> list[SlotTally]:
    """The poll's times, best first (see `SlotTally.sort_key`)."""
    parties = {r.person_id for r in state.respondents if r.role == "party"}
    asked = {r.person_id for r in state.respondents}
    tallies = {slot.number: SlotTally(slot=slot) for slot in state.slots}
    for marked in state.answers:
        found = tallies.get(marked.slot)
        if found is not None and marked.person_id in asked:
            found.answers[marked.person_id] = marked.answer
    for tally in tallies.values():
        for person_id, answer in tally.answers.items():
            counts_for_party = person_id in parties
            if answer == AVAILABLE:
                tally.available += 1
                tally.parties_available += counts_for_party
            elif answer == IF_NEED_BE:
                tally.if_need_be += 1
                tally.parties_if_need_be += counts_for_party
            else:
                tally.unavailable += 1
                tally.parties_unavailable += counts_for_party
        tally.parties_silent = len(parties - tally.answers.keys())
    return sorted(tallies.values(), key=SlotTally.sort_key)


def has_answered_every_slot(state: PollState, person_id: int) -> bool:
    marked = {a.slot for a in state.answers if a.person_id == person_id}
    return bool(state.slots) and all(slot.number in marked for slot in state.slots)
