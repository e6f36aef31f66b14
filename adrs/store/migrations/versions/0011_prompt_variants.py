"""Prompts that evolve (issue 32): prompt variants with lineage, insight notes, the
variant that produced each candidate, and which LLM calls were meta calls.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prompt_variants",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("island", sa.Integer, nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("prompt_variants.id"), nullable=True),
        sa.Column("system", sa.Text, nullable=False),
        sa.Column("instruction", sa.Text, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("iteration", sa.Integer, nullable=False),
        sa.Column("llm_call_id", sa.Integer, sa.ForeignKey("llm_calls.id"), nullable=True),
        sa.Column("retired_at", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "insight_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("island", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("iteration", sa.Integer, nullable=False),
        sa.Column("llm_call_id", sa.Integer, sa.ForeignKey("llm_calls.id"), nullable=True),
        sa.Column("dropped_at", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_prompt_variants_run_id", "prompt_variants", ["run_id"])
    op.create_index("ix_insight_notes_run_id", "insight_notes", ["run_id"])
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(sa.Column("prompt_variant_id", sa.Integer, nullable=True))
    with op.batch_alter_table("llm_calls") as batch:
        batch.add_column(sa.Column("purpose", sa.String(16), nullable=False,
                                   server_default="mutation"))


def downgrade() -> None:
    with op.batch_alter_table("llm_calls") as batch:
        batch.drop_column("purpose")
    with op.batch_alter_table("candidates") as batch:
        batch.drop_column("prompt_variant_id")
    op.drop_table("insight_notes")
    op.drop_table("prompt_variants")
