"""person time zone

Each person may choose the time zone they read and type times in (My Profile). Everyone starts without one and
so follows the center's zone (MEDIATION_CENTER_TIME_ZONE); stored times stay UTC.

Revision ID: 0006_person_time_zone
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_person_time_zone"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
