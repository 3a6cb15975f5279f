"""A scheduling poll in the database: written by its workflow's publishing activity, read by pages and emails.

The poll's own row holds what it is (status, deadline, the picked time); its times, the people it asks and their
answers are rows of their own, so "who has not answered" and "when do answers close" are plain queries.
"""

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import SchedulingAnswer, SchedulingPoll, SchedulingRespondent, SchedulingSlot
from core.scheduling import PollAnswer, PollRespondent, PollSlot, PollState
from core.time import as_utc, iso_utc


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def write_poll(db: AsyncSession, state: PollState) -> bool:
    """Store the poll as `state` says, unless what is stored is as new or newer; returns whether it was written.

    The poll's row is locked first (on PostgreSQL), so two attempts of the same publication never interleave."""
    row = await db.scalar(select(SchedulingPoll).where(SchedulingPoll.workflow_id == state.workflow_id).with_for_update())
    if row is not None and row.version >= state.version:
        return False
    if row is None:
        row = SchedulingPoll(workflow_id=state.workflow_id, case_id=state.case_id, number=state.number)
        db.add(row)
    row.status = state.status
    row.mediator_id = state.mediator_id
    row.proposed_by_id = state.proposed_by_id
    row.opened_at = datetime.fromisoformat(state.opened_at)
    row.answers_due_at = _moment(state.answers_due_at)
    row.reminder_at = _moment(state.reminder_at)
    row.picked_slot = state.picked_slot
    row.picked_by_id = state.picked_by_id
    row.event_id = state.event_id
    row.closed_at = _moment(state.closed_at)
    row.closed_reason = state.closed_reason
    row.version = state.version
    await db.flush()
    for table in (SchedulingAnswer, SchedulingRespondent, SchedulingSlot):
        await db.execute(delete(table).where(table.poll_id == row.id))
    db.add_all(
        SchedulingSlot(poll_id=row.id, number=s.number, starts_at=datetime.fromisoformat(s.starts_at), ends_at=datetime.fromisoformat(s.ends_at))
        for s in state.slots
    )
    db.add_all(SchedulingRespondent(poll_id=row.id, person_id=r.person_id, role=r.role, answered=r.answered) for r in state.respondents)
    db.add_all(
        SchedulingAnswer(poll_id=row.id, slot=a.slot, person_id=a.person_id, answer=a.answer, answered_at=datetime.fromisoformat(a.answered_at))
        for a in state.answers
    )
    return True


async def stored_poll(db: AsyncSession, row: SchedulingPoll) -> PollState:
    """The poll as last published, from its row and the rows of its times, people and answers."""
    slots = (await db.execute(select(SchedulingSlot).where(SchedulingSlot.poll_id == row.id).order_by(SchedulingSlot.number))).scalars()
    respondents = (await db.execute(select(SchedulingRespondent).where(SchedulingRespondent.poll_id == row.id))).scalars()
    answers = (
        await db.execute(select(SchedulingAnswer).where(SchedulingAnswer.poll_id == row.id).order_by(SchedulingAnswer.person_id, SchedulingAnswer.slot))
    ).scalars()
    return PollState(
        case_id=row.case_id,
        number=row.number,
        workflow_id=row.workflow_id,
        status=row.status,
        mediator_id=row.mediator_id,
        proposed_by_id=row.proposed_by_id,
        opened_at=as_utc(row.opened_at).isoformat(),
        answers_due_at=iso_utc(row.answers_due_at),
        slots=[PollSlot(number=s.number, starts_at=as_utc(s.starts_at).isoformat(), ends_at=as_utc(s.ends_at).isoformat()) for s in slots],
        respondents=sorted(
            (PollRespondent(person_id=r.person_id, role=r.role, answered=r.answered) for r in respondents),
            key=lambda r: (("party", "representative", "interested").index(r.role) if r.role in ("party", "representative", "interested") else 9, r.person_id),
        ),
        answers=[PollAnswer(person_id=a.person_id, slot=a.slot, answer=a.answer, answered_at=as_utc(a.answered_at).isoformat()) for a in answers],
        picked_slot=row.picked_slot,
        picked_by_id=row.picked_by_id,
        event_id=row.event_id,
        closed_at=iso_utc(row.closed_at),
        closed_reason=row.closed_reason,
        version=row.version,
        reminder_at=iso_utc(row.reminder_at),
    )


async def latest_poll(db: AsyncSession, case_id: int) -> PollState | None:
    """The case's most recent poll, whatever became of it; None before any times were proposed."""
    row = await db.scalar(select(SchedulingPoll).where(SchedulingPoll.case_id == case_id).order_by(SchedulingPoll.number.desc()).limit(1))
    return await stored_poll(db, row) if row is not None else None


async def last_poll_number(db: AsyncSession, case_id: int) -> int:
    return await db.scalar(select(SchedulingPoll.number).where(SchedulingPoll.case_id == case_id).order_by(SchedulingPoll.number.desc()).limit(1)) or 0
