"""Where each candidate's sandbox ran (issue 34): a Ray node or an `adrs worker`, so
`adrs status` can show the work per node; and the digest of the problem folder's files
a run began with, so that a resume against edited files is refused.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(sa.Column("evaluated_on", sa.String(200), nullable=True))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("problem_digest", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("problem_digest")
    with op.batch_alter_table("candidates") as batch:
        batch.drop_column("evaluated_on")
