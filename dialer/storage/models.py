"""The tables. Every change here needs a migration under ``migrations/versions``.

Constraint names follow one convention so that migrations can name what they drop on every backend
(SQLite alters tables by copying them; it needs names to find constraints).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from dialer.storage.types import UtcDateTime, utcnow

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Project(SQLModel, table=True):
    """A tenant: one client's line of work, with its own leads, campaigns, tokens and reports."""

    __tablename__ = "project"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True, description="identifier used in API paths")
    name: str = Field(max_length=200)
    region: str = Field(default="RU", max_length=2, description="ISO 3166 region for parsing phones")
    time_zone: str = Field(default="Europe/Moscow", max_length=64, description="IANA zone")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
