"""Who or what each case is waiting on, the stages it went through and when its conflict checks were answered, all
derived from the state its workflow publishes (core/case_state.py).

Pure functions, free of the database and of Temporal: the publishing activity stores what they say next to the
state (so the staff board filters, sorts and counts with indexes), and the migration that introduced the board
backfilled older cases with the same functions. A new kind of wait (objections, a scheduling poll: a stage of its
own, or a step inside one) is a line in `WAITS` and one in `KINDS`; the board, its filter, the CSV and the JSON
follow.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from core.case_state import CaseState


@dataclass(frozen=True)
class Kind:
    """How the board names a kind of wait: its filter label, and the thing each person waited on owes."""

    label: str
    # "Taylor Swift's ranking"; with several people, "Katy Perry's and Taylor Swift's rankings".
    noun: str
    plural: str
    # Said when the kind names nobody: the center itself is waited on, or the wait is over any moment now.
    nobody: str


KINDS: dict[str, Kind] = {
    "intake_review": Kind("Intake review", "intake review", "intake reviews", "Center staff's intake review"),
    "ranking": Kind("Rankings", "ranking", "rankings", "The tally of the rankings"),
    "conflict_check": Kind("Conflict check", "conflict check", "conflict checks", "The next mediator's conflict check"),
    "new_panel": Kind("A new panel", "new panel", "new panels", "Center staff's new panel"),
    "mediator_steps": Kind("Mediator's next steps", "next steps", "next steps", "The mediator's next steps"),
    # A mediator's disclosure in its objection window: the parties who have not answered it; after an objection, staff.
    "objections": Kind(
        "Objections to a disclosure", "answer to the mediator's disclosure", "answers to the mediator's disclosure", "Center staff's decision on an objection"
    ),
    # Someone joined after acceptance: the mediator confirms again that there is no conflict with them.
    "reconfirmation": Kind("Mediator's re-confirmation", "re-confirmation", "re-confirmations", "The mediator's re-confirmation"),
    # A step inside `accepted`: the mediator's scheduling poll is open (activities/board.py::current_wait finds it).
    "scheduling_poll": Kind("Scheduling poll", "answer to the scheduling poll", "answers to the scheduling poll", "The mediator's choice of a time"),
}


def _unranked(state: CaseState) -> list[int]:
    return [p.person_id for p in state.parties if not p.submitted]


def _one(person_id: int | None) -> list[int]:
    return [person_id] if person_id is not None else []


def _disclosure(state: CaseState) -> tuple[str, list[int], str | None] | None:
    """A disclosure or re-confirmation still pending: who it waits on, and since when (None when none is)."""
    pending = [d for d in state.disclosures if d.pending]
    if not pending:
        return None
    latest = pending[-1]
    if latest.status == "awaiting_mediator":
        return "reconfirmation", [latest.mediator_id], latest.asked_at or None
    if latest.status == "open":
        answered = {r.party_id for r in latest.responses}
        return "objections", [p for p in latest.may_object_party_ids if p not in answered], latest.answered_at or None
    # objected: the center decides.
    return "objections", [], latest.answered_at or None


def _after_acceptance(state: CaseState) -> tuple[str, list[int], str | None]:
    return _disclosure(state) or ("mediator_steps", _one(state.mediator_id), None)


# Per stage: the kind of wait, who is waited on, and since when if not since the stage began. A stage not listed
# (rejected, closed, withdrawn) waits on nobody: the case is over and leaves the board.
WAITS: dict[str, Callable[[CaseState], tuple[str, list[int], str | None]]] = {
    "intake_review": lambda s: ("intake_review", [], None),
    "ranking": lambda s: ("ranking", _unranked(s), None),
    "conflict_check": lambda s: ("conflict_check", _one(s.candidate_mediator_id), None),
    "disclosure_review": lambda s: _disclosure(s) or ("objections", [], None),
    "awaiting_new_panel": lambda s: ("new_panel", [], None),
    "accepted": _after_acceptance,
    "scheduled": _after_acceptance,
}


@dataclass(frozen=True)
class WaitingOn:
    kind: str
    people: tuple[int, ...]
    # ISO 8601, UTC: since when the case has waited on this (for now, always since it entered its stage).
    since: str | None


def waiting_on(state: CaseState) -> WaitingOn | None:
    """What the case waits for now, or None once it is over."""
    rule = WAITS.get(state.stage)
    if rule is None:
        return None
    kind, people, since = rule(state)
    return WaitingOn(kind=kind, people=tuple(dict.fromkeys(people)), since=since or state.stage_since)


def describe(kind: str, names: list[str]) -> str:
    """'Taylor Swift's ranking', 'Mediator 1's conflict check', 'Center staff's intake review'."""
    known = KINDS.get(kind)
    if known is None:
        return kind.replace("_", " ").capitalize()
    if not names:
        return known.nobody
    owners = [f"{name}'s" for name in names]
    joined = owners[0] if len(owners) == 1 else f"{', '.join(owners[:-1])} and {owners[-1]}"
    return f"{joined} {known.noun if len(names) == 1 else known.plural}"


# ---- the stages a case went through ---------------------------------------------------------------


# The timeline entry the workflow writes at the moment it enters each stage (same workflow time as `stage_since`).
STAGE_ENTERED_BY = {
    "filed": "intake_review",
    "intake_rejected": "rejected",
    "ranking_opened": "ranking",
    "conflict_check_started": "conflict_check",
    "new_panel_needed": "awaiting_new_panel",
    "mediator_accepted": "accepted",
    "mediation_scheduled": "scheduled",
    "closed": "closed",
    "withdrawn": "withdrawn",
}


@dataclass(frozen=True)
class StagePeriod:
    stage: str
    entered_at: str
    # None while the case is still in it.
    left_at: str | None = None


def stage_periods(state: CaseState) -> list[StagePeriod]:
    """Each stay in a stage, oldest first, read from the timeline; each conflict-check attempt is a stay of its own.

    The published stage and `stage_since` have the last word, so a stage whose entry is not in `STAGE_ENTERED_BY`
    still gets its period from the moment the case is published in it (a stage the case is already in goes on)."""
    periods: list[StagePeriod] = []

    def enter(stage: str, at: str) -> None:
        if periods and periods[-1].left_at is None:
            periods[-1] = StagePeriod(periods[-1].stage, periods[-1].entered_at, at)
        periods.append(StagePeriod(stage, at))

    for entry in state.timeline:
        stage = STAGE_ENTERED_BY.get(entry.event)
        if stage is not None:
            enter(stage, entry.at)
    if state.stage_since is None:
        return periods
    last = periods[-1] if periods else None
    if last is None or (last.stage != state.stage and _moment(state.stage_since) > _moment(last.entered_at)):
        enter(state.stage, state.stage_since)
    elif last.stage != state.stage and last.entered_at == state.stage_since:
        periods[-1] = StagePeriod(state.stage, last.entered_at)
    return periods


# ---- when each conflict check was answered --------------------------------------------------------


# What ends an attempt, in the timeline: an answer, silence until the deadline, or the case withdrawn.
ATTEMPT_ENDED_BY = {"mediator_accepted", "conflict_declined", "conflict_check_expired", "withdrawn"}
ANSWERS = ("accepted", "declined")


def attempt_end_times(state: CaseState) -> list[str | None]:
    """For each conflict-check attempt (same order as `state.conflict_attempts`), when it got its outcome: the
    timeline entry of the decision, the expiry or the withdrawal; None while it is pending (or if the timeline does
    not say). The n-th attempt is the one the n-th "conflict_check_started" entry opened."""
    ends: list[str | None] = []
    open_attempt: int | None = None
    for entry in state.timeline:
        if entry.event == "conflict_check_started":
            ends.append(None)
            open_attempt = len(ends) - 1
        elif entry.event in ATTEMPT_ENDED_BY and open_attempt is not None:
            ends[open_attempt] = entry.at
            open_attempt = None
    attempts = state.conflict_attempts
    if len(ends) != len(attempts):
        return [None] * len(attempts)
    return [end if attempt.outcome != "pending" else None for end, attempt in zip(ends, attempts, strict=True)]


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def seconds_between(start: str | datetime, end: str | datetime) -> float:
    first = _moment(start) if isinstance(start, str) else start
    last = _moment(end) if isinstance(end, str) else end
    return max(0.0, (last - first).total_seconds())


def human_duration(seconds: float | None) -> str:
    """'3 days 4 hours', '5 hours 12 minutes', '40 minutes', 'under a minute': how long, as staff say it."""
    if seconds is None:
        return ""
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)

    def unit(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    if days:
        return unit(days, "day") + (f" {unit(hours, 'hour')}" if hours else "")
    if hours:
        return unit(hours, "hour") + (f" {unit(minutes, 'minute')}" if minutes else "")
    if minutes:
        return unit(minutes, "minute")
    return "under a minute"
