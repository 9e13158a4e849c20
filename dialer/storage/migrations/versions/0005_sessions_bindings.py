"""operator sessions and phone bindings survive a restart

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "operator_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operator.id"],
            name=op.f("fk_operator_session_operator_id_operator"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_operator_session")),
    )
    op.create_index(
        op.f("ix_operator_session_operator_id"), "operator_session", ["operator_id"], unique=False
    )
    op.create_table(
        "phone_binding",
        sa.Column("instance", sa.String(length=200), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("contact", sa.String(length=1000), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("instance", "login", name=op.f("pk_phone_binding")),
    )


def downgrade() -> None:
    op.drop_table("phone_binding")
    op.drop_index(op.f("ix_operator_session_operator_id"), table_name="operator_session")
    op.drop_table("operator_session")
