"""conflict-check requests

Which mediators each case asked for its conflict check, and how each one's last request ended, so a mediator who
declined, ran out of time or saw the case withdrawn finds it in My Cases with what happened. Filled in for the cases
whose published state already holds conflict-check attempts.

Revision ID: 0007
Revises: 0006_person_time_zone
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006_person_time_zone"
branch_labels = None
depends_on = None


def upgrade() -> None:
    requests = op.create_table(
        "conflict_check_requests",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["mediator_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("case_id", "mediator_id"),
    )
    with op.batch_alter_table("conflict_check_requests", schema=None) as batch_op:
        batch_op.create_index("ix_conflict_check_requests_mediator_id", ["mediator_id"], unique=False)

    cases = sa.table("cases", sa.column("id", sa.Integer()), sa.column("state", sa.JSON()))
    rows = []
    for case_id, state in op.get_bind().execute(sa.select(cases.c.id, cases.c.state).where(cases.c.state.is_not(None))):
        last = {}
        for attempt in (state or {}).get("conflict_attempts", []):
            last[attempt["mediator_id"]] = attempt.get("outcome", "pending")
        rows += [{"case_id": case_id, "mediator_id": mediator_id, "outcome": outcome} for mediator_id, outcome in last.items()]
    if rows:
        op.bulk_insert(requests, rows)


def downgrade() -> None:
    with op.batch_alter_table("conflict_check_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_conflict_check_requests_mediator_id")
    op.drop_table("conflict_check_requests")
