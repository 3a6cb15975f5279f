"""Reading a case's state from the database, where its workflow publishes it: no page ever waits on a worker.

Cases started before the workflow published its whole state only have the older mirror columns; for them the
state is put together from those columns, the participants and the ballot audit trail, which is what their pages
need (the staff console's tally, conflict-check attempts and timeline then say they are in the live view).
"""

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.case_state import CaseState, PartyProgress, state_from_json
from core.db.models import BallotRecord, Case, Participant
from core.stages import FINAL_STAGES, stage_label
from core.time import as_utc, iso_utc
from workflows.types import BallotView


async def case_state(db: AsyncSession, case: Case, retention: timedelta | None = None) -> CaseState:
    """The case's state as last published. With `retention` (the center's policy now), an ended case also says when
    the retention sweep will delete its records: its workflow completed when it ended and keeps no timer for it."""
    state = state_from_json(case.state) if case.state else await _from_mirror(db, case)
    # The sweep deletes records after the workflow has completed: the row knows, the published state cannot.
    state.records_purged = state.records_purged or case.records_purged_at is not None
    if retention is not None and not state.records_purged and state.stage in FINAL_STAGES and state.stage_since:
        by_policy = datetime.fromisoformat(state.stage_since) + retention
        # A case that ended before the sweep existed also has a timer of its own; whichever comes first deletes.
        due = min(by_policy, datetime.fromisoformat(state.retention_due_at)) if state.retention_due_at else by_policy
        state.retention_due_at = due.isoformat()
    return state


async def state_after(db: AsyncSession, case: Case, answer: object) -> CaseState:
    """The state an action led to: the Update's own answer, or, for a case on the older mirror, the row read again."""
    if isinstance(answer, CaseState):
        return answer
    state = getattr(answer, "state", None)
    if isinstance(state, CaseState):
        return state
    await db.refresh(case)
    return await case_state(db, case)


async def _from_mirror(db: AsyncSession, case: Case) -> CaseState:
    rows = (await db.execute(select(Participant).where(Participant.case_id == case.id).order_by(Participant.id))).scalars().all()
    parties = {
        p.person_id: PartyProgress(person_id=p.person_id, side=p.side or "initiating", representative_ids=[], submitted=False)
        for p in rows
        if p.role == "party"
    }
    for p in rows:
        if p.role == "representative" and p.represents_id in parties:
            parties[p.represents_id].representative_ids.append(p.person_id)
    if case.ranking_round:
        ranked = (
            await db.execute(select(BallotRecord.party_id).where(BallotRecord.case_id == case.id, BallotRecord.ranking_round == case.ranking_round))
        ).scalars()
        for party_id in ranked:
            if party_id in parties:
                parties[party_id].submitted = True
    return CaseState(
        case_id=case.id,
        stage=case.stage,
        stage_label=stage_label(case.stage),
        stage_deadline=iso_utc(case.stage_deadline),
        ranking_round=case.ranking_round,
        panel=list(case.panel or []),
        parties=list(parties.values()),
        tally=None,
        tally_history=[],
        candidate_mediator_id=case.candidate_mediator_id,
        mediator_id=case.mediator_id,
        tried_mediator_ids=[],
        conflict_attempts=[],
        fee_deposit_collected=case.fee_deposit_collected,
        mediation_scheduled=case.mediation_scheduled,
        outcome=case.outcome,
        note=case.stage_note,
        timeline=[],
        retention_due_at=iso_utc(case.retention_due_at),
        records_purged=case.records_purged_at is not None,
        version=0,
        stage_since=iso_utc(case.stage_since),
    )


async def current_ballots(db: AsyncSession, state: CaseState) -> list[BallotView]:
    """Each party's ballot in the round now open or last tallied, from the audit trail: staff only."""
    if not state.ranking_round:
        return []
    latest = (
        select(BallotRecord.party_id, func.max(BallotRecord.id).label("id"))
        .where(BallotRecord.case_id == state.case_id, BallotRecord.ranking_round == state.ranking_round)
        .group_by(BallotRecord.party_id)
        .subquery()
    )
    records = (await db.execute(select(BallotRecord).join(latest, latest.c.id == BallotRecord.id).order_by(BallotRecord.id))).scalars().all()
    on_case = {p.person_id for p in state.parties}
    return [_view(r) for r in records if r.party_id in on_case]


async def ballot_of(db: AsyncSession, state: CaseState, party_id: int) -> BallotView | None:
    """One party's own ballot of the current round, for that party's ranking page."""
    if not state.ranking_round:
        return None
    record = (
        await db.execute(
            select(BallotRecord)
            .where(BallotRecord.case_id == state.case_id, BallotRecord.ranking_round == state.ranking_round, BallotRecord.party_id == party_id)
            .order_by(BallotRecord.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return _view(record) if record is not None else None


def _view(record: BallotRecord) -> BallotView:
    return BallotView(
        party_id=record.party_id,
        side=record.side,
        submitted_by_id=record.submitted_by_id,
        ranked=list(record.ranked),
        eliminated=list(record.eliminated),
        submitted_at=as_utc(record.submitted_at).isoformat(),
        fingerprint=record.fingerprint or "",
    )
