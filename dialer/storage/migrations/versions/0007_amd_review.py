"""answering-machine verdicts sampled for operators' review

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("amd_sample", sa.Float(), nullable=False, server_default="0"))
    with op.batch_alter_table("attempt") as batch:
        batch.add_column(sa.Column("amd_sampled", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("amd_review", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attempt") as batch:
        batch.drop_column("amd_review")
        batch.drop_column("amd_sampled")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("amd_sample")
