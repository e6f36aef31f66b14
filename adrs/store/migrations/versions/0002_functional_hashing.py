"""Functional hashing: how a duplicate was recognised, and time spent on probes.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(sa.Column("duplicate_kind", sa.String(16), nullable=True))
        batch.add_column(sa.Column("probe_seconds", sa.Float(), nullable=True))
    op.create_index("ix_candidates_run_funhash", "candidates", ["run_id", "functional_hash"])


def downgrade() -> None:
    op.drop_index("ix_candidates_run_funhash", "candidates")
    with op.batch_alter_table("candidates") as batch:
        batch.drop_column("probe_seconds")
        batch.drop_column("duplicate_kind")
