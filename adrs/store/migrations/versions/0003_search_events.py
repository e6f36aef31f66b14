"""Search structures: grid cell changes, migrations and island resets.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("island", sa.Integer(), nullable=True),
        sa.Column("cell", sa.String(64), nullable=True),
        sa.Column("candidate_ids", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
    )
    op.create_index("ix_search_events_run_kind", "search_events", ["run_id", "kind", "iteration"])


def downgrade() -> None:
    op.drop_index("ix_search_events_run_kind", "search_events")
    op.drop_table("search_events")
