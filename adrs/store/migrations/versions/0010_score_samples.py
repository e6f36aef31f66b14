"""A noisy problem's re-evaluated functional duplicate says whether its score sample
has been folded into its original's mean yet (records.Sample): the fold happens when
the sample is revealed, once, whatever the timing and across resumes.

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
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(sa.Column("score_sample", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.drop_column("score_sample")
