"""phone extensions kept on leads; per-project vanity numbers and extension dialling

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead") as batch:
        batch.add_column(sa.Column("phone_extensions", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("project") as batch:
        batch.add_column(sa.Column("vanity_numbers", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(
            sa.Column("dial_extensions", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("project") as batch:
        batch.drop_column("dial_extensions")
        batch.drop_column("vanity_numbers")
    with op.batch_alter_table("lead") as batch:
        batch.drop_column("phone_extensions")
