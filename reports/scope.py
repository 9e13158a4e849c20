"""What a report covers: a project, a period of its local days, and optional filters (campaign,
operator, trunk), read from a query string and checked, every wrong one named."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.errors import FieldError, Rejected
from dialer.storage.tables import CAMPAIGN, OPERATOR, OPERATOR_PROJECT
from dialer.workplace_settings import DispositionCode, Words, dispositions_of, pause_reasons_of
from reports.period import Period, parse_period, zone_of

FILTERS = ("from", "to", "campaign", "operator", "trunk")


@dataclass(frozen=True)
class CampaignInfo:
    id: int
    name: str
    abandon_target: float
    abandon_window: str
    budget: Any  # Decimal | None
    status: str
    status_reason: str | None


@dataclass(frozen=True)
class Scope:
    project_id: int
    slug: str
    name: str
    zone: ZoneInfo
    demo: bool
    period: Period
    campaigns: dict[int, CampaignInfo]  # every campaign of the project
    chosen: list[int]  # the campaigns reported on (every one unless filtered)
    operators: dict[str, str]  # login -> name, the project's operators
    operator: str | None = None
    trunk: str | None = None
    dispositions: list[DispositionCode] = field(default_factory=list)
    pause_labels: dict[str, Words] = field(default_factory=dict)
    language: str = "en"  # of the project's own labels (outcomes, pause reasons)

    @property
    def zone_name(self) -> str:
        return self.zone.key

    def outcome_label(self, code: str | None) -> str:
        """The project's label of an outcome code (the code itself when the project has no such outcome)."""
        found = next((d for d in self.dispositions if d.code == code), None)
        return found.label.get(self.language) if found is not None else (code or "")

    def pause_label(self, code: str | None) -> str:
        words = self.pause_labels.get(code or "")
        return words.get(self.language) if words is not None else (code or "")

    def codes(self, effect: str) -> set[str]:
        return {d.code for d in self.dispositions if d.effect == effect}

    def query(self) -> dict[str, str]:
        """The filters as a query string's values (for links and exports)."""
        out = {"from": self.period.first.isoformat(), "to": self.period.last.isoformat()}
        if len(self.chosen) != len(self.campaigns):
            out["campaign"] = self.campaigns[self.chosen[0]].name
        if self.operator:
            out["operator"] = self.operator
        if self.trunk:
            out["trunk"] = self.trunk
        return out


async def scope_of(
    conn: AsyncConnection,
    project: Mapping[Any, Any],
    query: Mapping[str, str],
    *,
    today: date | None = None,
    language: str = "en",
) -> Scope:
    """The scope a query asks for in ``project`` (a project row); :class:`Rejected` naming every wrong
    filter (a date, a campaign or operator the project does not have)."""
    zone = zone_of(project["time_zone"])
    errors: list[FieldError] = []
    try:
        period = parse_period(query.get("from"), query.get("to"), zone, today=today)
    except Rejected as exc:
        errors += exc.errors
        period = parse_period(None, None, zone, today=today)
    rows = (
        (await conn.execute(select(CAMPAIGN).where(CAMPAIGN.c.project_id == project["id"]))).mappings().all()
    )
    fields = ("id", "name", "abandon_target", "abandon_window", "budget", "status", "status_reason")
    campaigns = {
        r["id"]: CampaignInfo(*(r[f] for f in fields)) for r in sorted(rows, key=lambda r: r["name"])
    }
    chosen = list(campaigns)
    wanted = (query.get("campaign") or "").strip()
    if wanted:
        chosen = [c.id for c in campaigns.values() if c.name == wanted]
        if not chosen:
            errors.append(
                FieldError(field="campaign", problem=f"no campaign {wanted[:64]!r} in this project")
            )
    operators = dict(
        (await conn.execute(
            select(OPERATOR.c.login, OPERATOR.c.name)
            .join(OPERATOR_PROJECT, OPERATOR_PROJECT.c.operator_id == OPERATOR.c.id)
            .where(OPERATOR_PROJECT.c.project_id == project["id"], OPERATOR.c.role == "operator")
            .order_by(OPERATOR.c.login)
        )).all()
    )  # fmt: skip
    operator = (query.get("operator") or "").strip() or None
    if operator is not None and operator not in operators:
        errors.append(FieldError(field="operator", problem=f"no operator {operator[:64]!r} in this project"))
    trunk = (query.get("trunk") or "").strip() or None
    if trunk is not None and len(trunk) > 32:
        errors.append(FieldError(field="trunk", problem="longer than 32 characters"))
    if errors:
        raise Rejected("the report's filters are wrong", errors)
    return Scope(
        project_id=project["id"], slug=project["slug"], name=project["name"], zone=zone,
        demo=bool(project.get("demo")), period=period, campaigns=campaigns, chosen=chosen,
        operators=operators, operator=operator, trunk=trunk, dispositions=dispositions_of(project),
        pause_labels={p.code: p.label for p in pause_reasons_of(project)}, language=language,
    )  # fmt: skip
