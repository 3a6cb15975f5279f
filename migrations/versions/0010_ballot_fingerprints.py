"""ballot fingerprints

Each ballot of the audit trail keeps the short fingerprint of the ballot as counted (workflows/ballot_fingerprint.py),
which the party's receipt email gives too, so a party can check with the center that its ballot was counted as
submitted. Ballots recorded before have none (their parties got no receipt).

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ballots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=20), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("ballots", schema=None) as batch_op:
        batch_op.drop_column("fingerprint")
