"""workplace settings, dispositions, drafts

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dialer.storage.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workplace_draft",
        sa.Column("call_id", sa.String(length=200), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("updated_at", dialer.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_workplace_draft_lead_id_lead"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_workplace_draft")),
    )
    with op.batch_alter_table("workplace_draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workplace_draft_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_workplace_draft_operator"), ["operator"], unique=False)

    with op.batch_alter_table("attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disposition", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("disposition_reason", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("success", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column("disposed_at", dialer.storage.types.UtcDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dispositions", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("pause_reasons", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("wrap_up_extension", sa.Integer(), server_default="30", nullable=False))
        batch_op.add_column(
            sa.Column("disposition_limit", sa.Integer(), server_default="120", nullable=False)
        )
        batch_op.add_column(sa.Column("away_limit", sa.Integer(), server_default="60", nullable=False))
        batch_op.add_column(sa.Column("mask_phones", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(
            sa.Column("manual_calls", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("portal_url", sa.String(length=2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_column("portal_url")
        batch_op.drop_column("manual_calls")
        batch_op.drop_column("mask_phones")
        batch_op.drop_column("away_limit")
        batch_op.drop_column("disposition_limit")
        batch_op.drop_column("wrap_up_extension")
        batch_op.drop_column("pause_reasons")
        batch_op.drop_column("dispositions")

    with op.batch_alter_table("attempt", schema=None) as batch_op:
        batch_op.drop_column("disposed_at")
        batch_op.drop_column("success")
        batch_op.drop_column("disposition_reason")
        batch_op.drop_column("disposition")

    with op.batch_alter_table("workplace_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workplace_draft_operator"))
        batch_op.drop_index(batch_op.f("ix_workplace_draft_lead_id"))

    op.drop_table("workplace_draft")
