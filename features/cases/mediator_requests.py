"""A mediator asked for a case's conflict check who is not on the case: the check waiting for them, or what ended it.

Such a mediator is not a participant, so the case's pages are not theirs; but the case is in their email and was
in My Cases, so its link and its card say what happened (they declined, their time ran out, the center withdrew the
case) instead of "No such case". They see the case's number, title and address, nothing of what it holds.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.case_facts import case_titles
from core.case_state import CaseState, ConflictAttempt
from core.db.models import Case, ConflictCheckRequest, Participant
from core.stages import Stage
from core.time import as_utc
from features.access import Viewer
from features.cases.state import case_state

# How a request that ended without the mediator on the case is told to them, in My Cases and on the case link.
WHAT_HAPPENED = {
    "declined": "You declined this case for a conflict, so the center asked the next mediator. Nothing more is needed from you.",
    "timed_out": "Your answer to the conflict check did not arrive by {deadline}, so the case was offered to the next mediator. Nothing more is needed from you.",
    "withdrawn": "The center withdrew this case while your conflict check was open. Nothing more is needed from you.",
    "disclosed": "You accepted this case with a disclosure, which the parties may object to until {until}. Without an objection you become "
    "their mediator; if a party objects, the center decides. We will email you the outcome.",
    "objection_upheld": "The center upheld a party's objection to your disclosure, so the case was passed to the next mediator. Nothing more is needed from you.",
    "stepped_down": "You stepped down from this case for a conflict, so the center asked the next mediator. Nothing more is needed from you.",
}
ENDED_HEADINGS = {
    "declined": "You declined this case",
    "timed_out": "Your conflict check has closed",
    "withdrawn": "This case was withdrawn",
    "disclosed": "Your disclosure is with the parties",
    "objection_upheld": "An objection to your disclosure was upheld",
    "stepped_down": "You stepped down from this case",
}


@dataclass
class MediatorRequest:
    case: Case
    title: str
    # The conflict check is waiting for this mediator's answer.
    open: bool
    # Their last request, as the case's published state records it (a case on the older mirror records none).
    attempt: ConflictAttempt | None
    state: CaseState | None = None

    @property
    def heading(self) -> str:
        return ENDED_HEADINGS.get(self.attempt.outcome, "Conflict check") if self.attempt else "Conflict check"

    @property
    def what_happened(self) -> str:
        return what_happened(self.attempt, self.state) if self.attempt else ""


def last_attempt(state: CaseState, mediator_id: int) -> ConflictAttempt | None:
    return next((a for a in reversed(state.conflict_attempts) if a.mediator_id == mediator_id), None)


def _utc_words(moment: str | None, otherwise: str) -> str:
    return as_utc(datetime.fromisoformat(moment)).strftime("%B %-d, %Y at %-I:%M %p UTC") if moment else otherwise


def what_happened(attempt: ConflictAttempt, state: CaseState | None = None) -> str:
    text = WHAT_HAPPENED.get(attempt.outcome, "")
    # A disclosure under review: the parties' window, from the mediator's last disclosure.
    disclosure = next((r for r in reversed(state.disclosures) if r.mediator_id == attempt.mediator_id), None) if state else None
    until = _utc_words(disclosure.objections_until if disclosure else None, "the window closes")
    return text.format(deadline=_utc_words(attempt.deadline, "the deadline"), until=until)


def is_checking(state: CaseState, mediator_id: int) -> bool:
    return state.stage == Stage.CONFLICT_CHECK and state.candidate_mediator_id == mediator_id


async def mediator_request(db: AsyncSession, viewer: Viewer, case_id: int) -> MediatorRequest | None:
    """For a mediator asked about this case who is not on it: their conflict check, open or ended. None for anyone else."""
    case = await db.get(Case, case_id)
    if case is None:
        return None
    if case.candidate_mediator_id != viewer.id and await db.get(ConflictCheckRequest, (case_id, viewer.id)) is None:
        return None
    on_case = await db.scalar(select(Participant.id).where(Participant.case_id == case_id, Participant.person_id == viewer.id).limit(1))
    if on_case is not None:
        return None
    state = await case_state(db, case)
    attempt, checking = last_attempt(state, viewer.id), is_checking(state, viewer.id)
    if not checking and (attempt is None or attempt.outcome not in WHAT_HAPPENED):
        return None
    return MediatorRequest(case=case, title=(await case_titles(db, [case_id]))[case_id], open=checking, attempt=attempt, state=state)
