"""staff board: who each open case waits on, its stage periods, conflict-check figures

Each publication of a case's state now also writes what it waits on (`cases.waiting_on_kind`, `waiting_since`,
`case_waiting_on`), its stays in each stage (`case_stage_periods`) and its conflict-check requests
(`conflict_checks`), so the staff board filters, sorts and counts with indexes.

Backfill, with the same derivation the publishing activity uses (core/waiting.py):
- cases with a published state: everything, from that state (its stage, `stage_since`, parties, timeline and
  conflict-check attempts). An attempt whose end the timeline does not give keeps an unknown answer time.
- cases on the older mirror (workflows started before the published state): what they wait on, from their stage
  columns, participants and ballots; since when is known only for those in intake review (since filing), the
  others show it as not known until their next stage; they have no timeline, so no stage periods and no
  conflict-check figures.

Revision ID: 0008
Revises: 0007
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from core.case_state import CaseState, PartyProgress, state_from_json
from core.waiting import attempt_end_times, seconds_between, stage_periods, waiting_on

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waiting_on_kind", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_cases_waiting_kind_since", ["waiting_on_kind", "waiting_since"], unique=False)
        batch_op.create_index("ix_cases_waiting_since", ["waiting_since"], unique=False)
        batch_op.create_index("ix_cases_deadline", ["stage_deadline"], unique=False)
        batch_op.create_index("ix_cases_candidate_mediator", ["candidate_mediator_id"], unique=False)
        batch_op.create_index("ix_cases_stage_deadline_waiting", ["stage", "stage_deadline", "waiting_on_kind"], unique=False)
    op.create_table(
        "case_waiting_on",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("case_id", "person_id"),
    )
    with op.batch_alter_table("case_waiting_on", schema=None) as batch_op:
        batch_op.create_index("ix_case_waiting_on_person_id", ["person_id"], unique=False)
    op.create_table(
        "case_stage_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "seq", name="uq_stage_period_seq"),
    )
    with op.batch_alter_table("case_stage_periods", schema=None) as batch_op:
        batch_op.create_index("ix_stage_periods_left", ["left_at"], unique=False)
    op.create_table(
        "conflict_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("ranking_round", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["mediator_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "seq", name="uq_conflict_check_seq"),
    )
    with op.batch_alter_table("conflict_checks", schema=None) as batch_op:
        batch_op.create_index("ix_conflict_checks_mediator_id", ["mediator_id"], unique=False)
    _backfill()


def downgrade() -> None:
    with op.batch_alter_table("conflict_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_conflict_checks_mediator_id")
    op.drop_table("conflict_checks")
    with op.batch_alter_table("case_stage_periods", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_periods_left")
    op.drop_table("case_stage_periods")
    with op.batch_alter_table("case_waiting_on", schema=None) as batch_op:
        batch_op.drop_index("ix_case_waiting_on_person_id")
    op.drop_table("case_waiting_on")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_stage_deadline_waiting")
        batch_op.drop_index("ix_cases_candidate_mediator")
        batch_op.drop_index("ix_cases_deadline")
        batch_op.drop_index("ix_cases_waiting_since")
        batch_op.drop_index("ix_cases_waiting_kind_since")
        batch_op.drop_column("waiting_since")
        batch_op.drop_column("waiting_on_kind")


# ---- backfill ------------------------------------------------------------------------------------------

TZ = sa.DateTime(timezone=True)
cases = sa.table(
    "cases",
    sa.column("id", sa.Integer),
    sa.column("state", sa.JSON),
    sa.column("stage", sa.String),
    sa.column("ranking_round", sa.Integer),
    sa.column("candidate_mediator_id", sa.Integer),
    sa.column("mediator_id", sa.Integer),
    sa.column("fee_deposit_collected", sa.Boolean),
    sa.column("mediation_scheduled", sa.Boolean),
    sa.column("waiting_on_kind", sa.String),
    sa.column("waiting_since", TZ),
    sa.column("filed_at", TZ),
)
waiting_people = sa.table("case_waiting_on", sa.column("case_id", sa.Integer), sa.column("person_id", sa.Integer))
periods_table = sa.table(
    "case_stage_periods",
    sa.column("case_id", sa.Integer),
    sa.column("seq", sa.Integer),
    sa.column("stage", sa.String),
    sa.column("entered_at", TZ),
    sa.column("left_at", TZ),
    sa.column("seconds", sa.Float),
)
checks_table = sa.table(
    "conflict_checks",
    sa.column("case_id", sa.Integer),
    sa.column("seq", sa.Integer),
    sa.column("mediator_id", sa.Integer),
    sa.column("ranking_round", sa.Integer),
    sa.column("started_at", TZ),
    sa.column("deadline", TZ),
    sa.column("outcome", sa.String),
    sa.column("ended_at", TZ),
    sa.column("seconds", sa.Float),
)
participants = sa.table("participants", sa.column("case_id", sa.Integer), sa.column("person_id", sa.Integer), sa.column("role", sa.String), sa.column("side", sa.String))
ballots = sa.table("ballots", sa.column("case_id", sa.Integer), sa.column("ranking_round", sa.Integer), sa.column("party_id", sa.Integer))


def _moment(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _backfill() -> None:
    bind = op.get_bind()
    after = 0
    while True:
        rows = bind.execute(sa.select(cases).where(cases.c.id > after).order_by(cases.c.id).limit(BATCH)).all()
        if not rows:
            return
        after = rows[-1].id
        for row in rows:
            stored = json.loads(row.state) if isinstance(row.state, str) else row.state
            if stored:
                _from_state(bind, state_from_json(stored))
            else:
                _from_mirror(bind, row)


def _from_state(bind, state: CaseState) -> None:
    waiting = waiting_on(state)
    bind.execute(
        sa.update(cases)
        .where(cases.c.id == state.case_id)
        .values(waiting_on_kind=waiting.kind if waiting else None, waiting_since=_moment(waiting.since) if waiting else None)
    )
    if waiting and waiting.people:
        bind.execute(sa.insert(waiting_people), [{"case_id": state.case_id, "person_id": p} for p in waiting.people])
    periods = []
    for seq, period in enumerate(stage_periods(state)):
        entered, left = _moment(period.entered_at), _moment(period.left_at)
        seconds = seconds_between(entered, left) if entered and left else None
        periods.append({"case_id": state.case_id, "seq": seq, "stage": period.stage, "entered_at": entered, "left_at": left, "seconds": seconds})
    if periods:
        bind.execute(sa.insert(periods_table), periods)
    checks = []
    for seq, (attempt, end) in enumerate(zip(state.conflict_attempts, attempt_end_times(state), strict=True)):
        started, ended = _moment(attempt.started_at), _moment(end)
        checks.append(
            {
                "case_id": state.case_id,
                "seq": seq,
                "mediator_id": attempt.mediator_id,
                "ranking_round": attempt.ranking_round,
                "started_at": started,
                "deadline": _moment(attempt.deadline),
                "outcome": attempt.outcome,
                "ended_at": ended,
                "seconds": seconds_between(started, ended) if started and ended else None,
            }
        )
    if checks:
        bind.execute(sa.insert(checks_table), checks)


def _from_mirror(bind, row) -> None:
    parties = bind.execute(
        sa.select(participants.c.person_id, participants.c.side).where(participants.c.case_id == row.id, participants.c.role == "party")
    ).all()
    ranked = set()
    if row.ranking_round:
        ranked = set(
            bind.execute(sa.select(ballots.c.party_id).where(ballots.c.case_id == row.id, ballots.c.ranking_round == row.ranking_round)).scalars()
        )
    state = CaseState(
        case_id=row.id,
        stage=row.stage,
        stage_label="",
        stage_deadline=None,
        ranking_round=row.ranking_round or 0,
        panel=[],
        parties=[PartyProgress(person_id=pid, side=side or "initiating", representative_ids=[], submitted=pid in ranked) for pid, side in parties],
        tally=None,
        tally_history=[],
        candidate_mediator_id=row.candidate_mediator_id,
        mediator_id=row.mediator_id,
        tried_mediator_ids=[],
        conflict_attempts=[],
        fee_deposit_collected=bool(row.fee_deposit_collected),
        mediation_scheduled=bool(row.mediation_scheduled),
        outcome=None,
        note="",
        timeline=[],
    )
    waiting = waiting_on(state)
    if waiting is None:
        return
    since = row.filed_at if waiting.kind == "intake_review" else None
    bind.execute(sa.update(cases).where(cases.c.id == row.id).values(waiting_on_kind=waiting.kind, waiting_since=since))
    if waiting.people:
        bind.execute(sa.insert(waiting_people), [{"case_id": row.id, "person_id": p} for p in waiting.people])
