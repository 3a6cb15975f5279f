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
}
ENDED_HEADINGS = {"declined": "You declined this case", "timed_out": "Your conflict check has closed", "withdrawn": "This case was withdrawn"}


@dataclass
class MediatorRequest:
    case: Case
    title: str
    # The conflict check is waiting for this mediator's answer.
    open: bool
    # Their last request, as the case's published state records it (a case on the older mirror records none).
    attempt: ConflictAttempt | None

    @property
    def heading(self) -> str:
        return ENDED_HEADINGS.get(self.attempt.outcome, "Conflict check") if self.attempt else "Conflict check"

    @property
    def what_happened(self) -> str:
        return what_happened(self.attempt) if self.attempt else ""


def last_attempt(state: CaseState, mediator_id: int) -> ConflictAttempt | None:
    return next((a for a in reversed(state.conflict_attempts) if a.mediator_id == mediator_id), None)


def what_happened(attempt: ConflictAttempt) -> str:
    text = WHAT_HAPPENED.get(attempt.outcome, "")
    deadline = as_utc(datetime.fromisoformat(attempt.deadline)).strftime("%B %-d, %Y at %-I:%M %p UTC") if attempt.deadline else "the deadline"
    return text.format(deadline=deadline)


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
    return MediatorRequest(case=case, title=(await case_titles(db, [case_id]))[case_id], open=checking, attempt=attempt)
