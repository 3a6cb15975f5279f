"""What the staff board reads, kept in step with each case's published state inside the same transaction: who the
case waits on, its stays in each stage, its conflict-check requests (core/waiting.py says what they are).

Each function compares the few rows the case already has with what the state says and writes only the difference,
so a publication that changes none of them (a revised ballot, a message) costs three small indexed reads.
"""

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.case_state import CaseState, PartyProgress, state_from_json
from core.db.models import (
    BallotRecord,
    Case,
    CaseStagePeriod,
    CaseWaitingOn,
    ConflictCheckRecord,
    Participant,
    SchedulingPoll,
    SchedulingRespondent,
    utcnow,
)
from core.time import as_utc
from core.waiting import WaitingOn, attempt_end_times, seconds_between, stage_periods, waiting_on


def _moment(value: str | None) -> datetime | None:
    return as_utc(datetime.fromisoformat(value)) if value else None


def _same(stored: datetime | None, moment: datetime | None) -> bool:
    return (stored is None and moment is None) or (stored is not None and moment is not None and as_utc(stored) == moment)


async def current_wait(session: AsyncSession, state: CaseState) -> WaitingOn | None:
    """What the case waits on: what its published state says, except that an accepted case whose mediator has a
    scheduling poll open waits on the people who have not answered it (or, once all have, on the mediator's choice)."""
    waiting = waiting_on(state)
    if waiting is None or waiting.kind != "mediator_steps":
        return waiting
    poll = await session.scalar(
        select(SchedulingPoll).where(SchedulingPoll.case_id == state.case_id, SchedulingPoll.status == "open").order_by(SchedulingPoll.number.desc()).limit(1)
    )
    if poll is None:
        return waiting
    silent = (
        await session.execute(
            select(SchedulingRespondent.person_id)
            .where(SchedulingRespondent.poll_id == poll.id, SchedulingRespondent.answered.is_(False))
            .order_by(SchedulingRespondent.person_id)
        )
    ).scalars()
    return WaitingOn(kind="scheduling_poll", people=tuple(silent), since=as_utc(poll.opened_at).isoformat())


async def refresh_wait(session: AsyncSession, case_id: int) -> None:
    """After a scheduling poll of the case changed: what the case waits on, from its last published state."""
    case = await session.get(Case, case_id)
    if case is None or not case.state:
        return
    waiting = await current_wait(session, state_from_json(case.state))
    case.waiting_on_kind = waiting.kind if waiting else None
    case.waiting_since = _moment(waiting.since) if waiting else None
    await _waited_on(session, case_id, waiting.people if waiting else ())


async def keep_board_in_step(session: AsyncSession, state: CaseState, waiting: WaitingOn | None) -> None:
    """After the newest state of a case was written: the people it waits on, its stage periods, its conflict checks."""
    await _waited_on(session, state.case_id, waiting.people if waiting else ())
    await _stage_periods(session, state)
    await _conflict_checks(session, state)


async def _waited_on(session: AsyncSession, case_id: int, people: tuple[int, ...]) -> None:
    stored = set((await session.execute(select(CaseWaitingOn.person_id).where(CaseWaitingOn.case_id == case_id))).scalars())
    wanted = set(people)
    if stored - wanted:
        await session.execute(delete(CaseWaitingOn).where(CaseWaitingOn.case_id == case_id, CaseWaitingOn.person_id.in_(stored - wanted)))
    session.add_all(CaseWaitingOn(case_id=case_id, person_id=person_id) for person_id in sorted(wanted - stored))


async def _stage_periods(session: AsyncSession, state: CaseState) -> None:
    stored = {row.seq: row for row in (await session.execute(select(CaseStagePeriod).where(CaseStagePeriod.case_id == state.case_id))).scalars()}
    periods = stage_periods(state)
    for seq, period in enumerate(periods):
        entered, left = _moment(period.entered_at), _moment(period.left_at)
        assert entered is not None
        seconds = seconds_between(entered, left) if left is not None else None
        row = stored.get(seq)
        if row is None:
            session.add(CaseStagePeriod(case_id=state.case_id, seq=seq, stage=period.stage, entered_at=entered, left_at=left, seconds=seconds))
        elif row.stage != period.stage or not _same(row.entered_at, entered) or not _same(row.left_at, left):
            row.stage, row.entered_at, row.left_at, row.seconds = period.stage, entered, left, seconds
    for seq, row in stored.items():
        if seq >= len(periods):
            await session.delete(row)


async def _conflict_checks(session: AsyncSession, state: CaseState) -> None:
    if not state.conflict_attempts:
        return
    stored = {row.seq: row for row in (await session.execute(select(ConflictCheckRecord).where(ConflictCheckRecord.case_id == state.case_id))).scalars()}
    ends = attempt_end_times(state)
    for seq, (attempt, end) in enumerate(zip(state.conflict_attempts, ends, strict=True)):
        row = stored.get(seq)
        started, deadline = _moment(attempt.started_at), _moment(attempt.deadline)
        assert started is not None and deadline is not None
        ended = _moment(end)
        if ended is None and attempt.outcome != "pending":
            # The timeline does not say when: the first publication that shows the outcome does, to within its delay.
            ended = as_utc(row.ended_at) if row is not None and row.ended_at is not None else utcnow()
        seconds = seconds_between(started, ended) if ended is not None else None
        if row is None:
            session.add(
                ConflictCheckRecord(
                    case_id=state.case_id,
                    seq=seq,
                    mediator_id=attempt.mediator_id,
                    ranking_round=attempt.ranking_round,
                    started_at=started,
                    deadline=deadline,
                    outcome=attempt.outcome,
                    ended_at=ended,
                    seconds=seconds,
                )
            )
        elif row.outcome != attempt.outcome or not _same(row.ended_at, ended) or not _same(row.deadline, deadline):
            row.outcome, row.deadline, row.ended_at, row.seconds = attempt.outcome, deadline, ended, seconds


# ---- cases on the older mirror ----------------------------------------------------------------------


async def refresh_mirror_waiting(session: AsyncSession, case_id: int, moved: bool) -> None:
    """For a case whose workflow predates the published state (it writes stage columns and ballots instead): what it
    waits on, from those. `moved`: it has just entered a stage or a new conflict check, so it waits since now (and
    in intake review since it was filed). Such a case has no timeline: it adds no stage periods or conflict-check
    figures."""
    # Asked after every ballot: a case that publishes its state answers from one narrow read.
    if await session.scalar(select(Case.state_version).where(Case.id == case_id)) != 0:
        return
    case = await session.get(Case, case_id)
    if case is None:
        return
    parties = (
        await session.execute(
            select(Participant.person_id, Participant.side).where(Participant.case_id == case_id, Participant.role == "party").order_by(Participant.id)
        )
    ).all()
    ranked = set()
    if case.ranking_round:
        ranked = set(
            (
                await session.execute(select(BallotRecord.party_id).where(BallotRecord.case_id == case_id, BallotRecord.ranking_round == case.ranking_round))
            ).scalars()
        )
    state = CaseState(
        case_id=case_id,
        stage=case.stage,
        stage_label="",
        stage_deadline=None,
        ranking_round=case.ranking_round,
        panel=[],
        parties=[PartyProgress(person_id=pid, side=side or "initiating", representative_ids=[], submitted=pid in ranked) for pid, side in parties],
        tally=None,
        tally_history=[],
        candidate_mediator_id=case.candidate_mediator_id,
        mediator_id=case.mediator_id,
        tried_mediator_ids=[],
        conflict_attempts=[],
        fee_deposit_collected=case.fee_deposit_collected,
        mediation_scheduled=case.mediation_scheduled,
        outcome=case.outcome,
        note="",
        timeline=[],
    )
    waiting = waiting_on(state)
    case.waiting_on_kind = waiting.kind if waiting else None
    if waiting is None:
        case.waiting_since = None
    elif moved:
        case.waiting_since = utcnow()
    elif case.waiting_since is None and case.stage == "intake_review":
        case.waiting_since = case.filed_at
    await _waited_on(session, case_id, waiting.people if waiting else ())
