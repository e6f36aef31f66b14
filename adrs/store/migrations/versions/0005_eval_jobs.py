"""Evaluation jobs, for `adrs worker` processes sharing a run's database.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eval_jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("probe", sa.JSON(), nullable=True),
        sa.Column("decision", sa.String(8), nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_eval_jobs_run_status", "eval_jobs", ["run_id", "status", "seq"])


def downgrade() -> None:
    op.drop_index("ix_eval_jobs_run_status", "eval_jobs")
    op.drop_table("eval_jobs")
