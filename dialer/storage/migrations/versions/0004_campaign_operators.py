"""campaign wrap-up time, callback routing, answering-machine detection

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("wrap_up", sa.Float(), nullable=False, server_default="15"))
        batch.add_column(sa.Column("callback_grace", sa.Integer(), nullable=False, server_default="600"))
        batch.add_column(
            sa.Column("callback_policy", sa.String(length=16), nullable=False, server_default="then_anyone")
        )
        batch.add_column(sa.Column("amd", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(
            sa.Column("amd_action", sa.String(length=16), nullable=False, server_default="hangup")
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("amd_action")
        batch.drop_column("amd")
        batch.drop_column("callback_policy")
        batch.drop_column("callback_grace")
        batch.drop_column("wrap_up")
