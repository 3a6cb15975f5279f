"""scheduling polls

The times a mediator proposes for the mediation, who is asked, and each person's answer, as each poll's workflow
publishes them; the Mediation event a picked time became; and files sent with an email (the event's .ics).

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduling_polls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answers_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminder_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("picked_slot", sa.Integer(), nullable=True),
        sa.Column("picked_by_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["mediator_id"], ["people.id"]),
        sa.ForeignKeyConstraint(["proposed_by_id"], ["people.id"]),
        sa.ForeignKeyConstraint(["picked_by_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "number", name="uq_scheduling_poll_number"),
        sa.UniqueConstraint("workflow_id"),
    )
    with op.batch_alter_table("scheduling_polls", schema=None) as batch_op:
        batch_op.create_index("ix_scheduling_polls_case_id", ["case_id"], unique=False)
        batch_op.create_index("ix_scheduling_polls_status_due", ["status", "answers_due_at"], unique=False)

    op.create_table(
        "scheduling_slots",
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["poll_id"], ["scheduling_polls.id"]),
        sa.PrimaryKeyConstraint("poll_id", "number"),
    )
    op.create_table(
        "scheduling_respondents",
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["poll_id"], ["scheduling_polls.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("poll_id", "person_id"),
    )
    with op.batch_alter_table("scheduling_respondents", schema=None) as batch_op:
        batch_op.create_index("ix_scheduling_respondents_person_id", ["person_id"], unique=False)
    op.create_table(
        "scheduling_answers",
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=20), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["poll_id"], ["scheduling_polls.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("poll_id", "slot", "person_id"),
    )

    with op.batch_alter_table("calendar_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scheduling_poll_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint("uq_calendar_events_scheduling_poll_id", ["scheduling_poll_id"])
        batch_op.create_foreign_key("fk_calendar_events_scheduling_poll_id", "scheduling_polls", ["scheduling_poll_id"], ["id"])
    with op.batch_alter_table("emails", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attachments", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("emails", schema=None) as batch_op:
        batch_op.drop_column("attachments")
    with op.batch_alter_table("calendar_events", schema=None) as batch_op:
        batch_op.drop_constraint("fk_calendar_events_scheduling_poll_id", type_="foreignkey")
        batch_op.drop_constraint("uq_calendar_events_scheduling_poll_id", type_="unique")
        batch_op.drop_column("scheduling_poll_id")
    op.drop_table("scheduling_answers")
    with op.batch_alter_table("scheduling_respondents", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduling_respondents_person_id")
    op.drop_table("scheduling_respondents")
    op.drop_table("scheduling_slots")
    with op.batch_alter_table("scheduling_polls", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduling_polls_status_due")
        batch_op.drop_index("ix_scheduling_polls_case_id")
    op.drop_table("scheduling_polls")
