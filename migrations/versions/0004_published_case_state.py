"""published case state and worker presence

The case workflow writes its whole state (with a version that only grows) into `cases`, and each worker process
says it is alive in `worker_presence`, so pages never wait on a worker and can say when changes are paused.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("state_version", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("stage_since", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "worker_presence",
        sa.Column("worker_id", sa.String(length=100), nullable=False),
        sa.Column("task_queue", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker_id"),
    )
    with op.batch_alter_table("worker_presence", schema=None) as batch_op:
        batch_op.create_index("ix_worker_presence_task_queue", ["task_queue"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("worker_presence", schema=None) as batch_op:
        batch_op.drop_index("ix_worker_presence_task_queue")
    op.drop_table("worker_presence")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("stage_since")
        batch_op.drop_column("state_version")
        batch_op.drop_column("state")
