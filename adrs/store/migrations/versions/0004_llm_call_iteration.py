"""LLM calls know their iteration: a reply recorded before a crash stays attributable.

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
    with op.batch_alter_table("llm_calls") as batch:
        batch.add_column(sa.Column("iteration", sa.Integer(), nullable=True))
    op.create_index("ix_llm_calls_run_iteration", "llm_calls", ["run_id", "iteration"])


def downgrade() -> None:
    op.drop_index("ix_llm_calls_run_iteration", "llm_calls")
    with op.batch_alter_table("llm_calls") as batch:
        batch.drop_column("iteration")
