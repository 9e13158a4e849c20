"""reports: operator states, billing, budgets, targets, reviews, summaries, dial samples, hourly sums

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dialer.storage.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rollup_mark",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("until", sa.String(length=13), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rollup_mark")),
    )
    op.create_table(
        "operator_target",
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("long_calls", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operator.id"],
            name=op.f("fk_operator_target_operator_id_operator"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_operator_target_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("operator_id", "project_id", "month", name=op.f("pk_operator_target")),
    )
    op.create_table(
        "summary_subscription",
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("at_local", sa.String(length=5), nullable=False),
        sa.Column("last_sent_on", sa.String(length=10), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operator.id"],
            name=op.f("fk_summary_subscription_operator_id_operator"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_summary_subscription_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("operator_id", "project_id", name=op.f("pk_summary_subscription")),
    )
    op.create_table(
        "call_hour",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.String(length=13), nullable=False),
        sa.Column("trunk", sa.String(length=32), nullable=True),
        sa.Column("tariff_prefix", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("connected", sa.Integer(), nullable=False),
        sa.Column("abandoned", sa.Integer(), nullable=False),
        sa.Column("successes", sa.Integer(), nullable=False),
        sa.Column("billed_seconds", sa.Integer(), nullable=False),
        sa.Column("connection_fee", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("cost", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_call_hour_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_hour")),
    )
    with op.batch_alter_table("call_hour", schema=None) as batch_op:
        batch_op.create_index("ix_call_hour_campaign_id_hour", ["campaign_id", "hour"], unique=False)

    op.create_table(
        "dial_sample",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("at", dialer.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("level", sa.Float(), nullable=True),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("operators", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_dial_sample_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dial_sample")),
    )
    with op.batch_alter_table("dial_sample", schema=None) as batch_op:
        batch_op.create_index("ix_dial_sample_campaign_id_at", ["campaign_id", "at"], unique=False)

    op.create_table(
        "operator_hour",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.String(length=13), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("talk", sa.Float(), nullable=False),
        sa.Column("wrap", sa.Float(), nullable=False),
        sa.Column("long_calls", sa.Integer(), nullable=False),
        sa.Column("successes", sa.Integer(), nullable=False),
        sa.Column("callbacks", sa.Integer(), nullable=False),
        sa.Column("kept", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_operator_hour_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_hour")),
    )
    with op.batch_alter_table("operator_hour", schema=None) as batch_op:
        batch_op.create_index("ix_operator_hour_campaign_id_hour", ["campaign_id", "hour"], unique=False)

    op.create_table(
        "operator_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("started_at", dialer.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", dialer.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_operator_state_campaign_id_campaign"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_operator_state_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_state")),
    )
    with op.batch_alter_table("operator_state", schema=None) as batch_op:
        batch_op.create_index(
            "ix_operator_state_operator_started_at", ["operator", "started_at"], unique=False
        )
        batch_op.create_index("ix_operator_state_started_at", ["started_at"], unique=False)

    op.create_table(
        "wait_hour",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.String(length=13), nullable=False),
        sa.Column("tenths", sa.Integer(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_wait_hour_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wait_hour")),
    )
    with op.batch_alter_table("wait_hour", schema=None) as batch_op:
        batch_op.create_index("ix_wait_hour_campaign_id_hour", ["campaign_id", "hour"], unique=False)

    op.create_table(
        "call_review",
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reviewer", sa.String(length=64), nullable=False),
        sa.Column("at", dialer.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempt.id"], name=op.f("fk_call_review_attempt_id_attempt"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("attempt_id", name=op.f("pk_call_review")),
    )
    with op.batch_alter_table("attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("billed_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("tariff_prefix", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("connection_fee", sa.Numeric(precision=12, scale=4), nullable=True))
        batch_op.add_column(sa.Column("callback_for", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_attempt_campaign_id_started_at", ["campaign_id", "started_at"], unique=False
        )
        batch_op.create_index(
            "ix_attempt_funnel", ["campaign_id", "started_at", "lead_id", "outcome", "success"], unique=False
        )
        batch_op.create_index("ix_attempt_operator_started_at", ["operator", "started_at"], unique=False)
        batch_op.create_index("ix_attempt_success", ["success", "campaign_id", "started_at"], unique=False)

    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(sa.Column("budget", sa.Numeric(precision=12, scale=2), nullable=True))
        batch_op.add_column(sa.Column("status_reason", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_column("status_reason")
        batch_op.drop_column("budget")

    with op.batch_alter_table("attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_attempt_success")
        batch_op.drop_index("ix_attempt_operator_started_at")
        batch_op.drop_index("ix_attempt_funnel")
        batch_op.drop_index("ix_attempt_campaign_id_started_at")
        batch_op.drop_column("callback_for")
        batch_op.drop_column("connection_fee")
        batch_op.drop_column("tariff_prefix")
        batch_op.drop_column("billed_seconds")

    op.drop_table("call_review")
    with op.batch_alter_table("wait_hour", schema=None) as batch_op:
        batch_op.drop_index("ix_wait_hour_campaign_id_hour")

    op.drop_table("wait_hour")
    with op.batch_alter_table("operator_state", schema=None) as batch_op:
        batch_op.drop_index("ix_operator_state_started_at")
        batch_op.drop_index("ix_operator_state_operator_started_at")

    op.drop_table("operator_state")
    with op.batch_alter_table("operator_hour", schema=None) as batch_op:
        batch_op.drop_index("ix_operator_hour_campaign_id_hour")

    op.drop_table("operator_hour")
    with op.batch_alter_table("dial_sample", schema=None) as batch_op:
        batch_op.drop_index("ix_dial_sample_campaign_id_at")

    op.drop_table("dial_sample")
    with op.batch_alter_table("call_hour", schema=None) as batch_op:
        batch_op.drop_index("ix_call_hour_campaign_id_hour")

    op.drop_table("call_hour")
    op.drop_table("summary_subscription")
    op.drop_table("operator_target")
    op.drop_table("rollup_mark")
