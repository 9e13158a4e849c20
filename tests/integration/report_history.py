# ruff: noqa: RUF001, E501  (test data: Russian text, wide tables of hand-computed rows)
"""A small call centre's day with every figure worked out by hand, for the reports' tests.

Project "loans" (Europe/Moscow, UTC+3), campaign "main" (budget 10.00), operators anna and boris.
The day reported is 2026-11-10 in Moscow: 2026-11-09 21:00 to 2026-11-10 21:00 UTC. Times below
are UTC. What each report must say is in :data:`EXPECTED`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer import campaigns
from dialer.accounts.operators import add_operator
from dialer.accounts.people import Role
from dialer.accounts.projects import create_project
from dialer.campaigns import CampaignIn
from dialer.storage import writing
from dialer.storage.tables import (
    ATTEMPT,
    CALL_REVIEW,
    CAMPAIGN,
    DIAL_SAMPLE,
    LEAD,
    LEAD_ANSWER,
    MESSAGE,
    OPERATOR,
    OPERATOR_STATE,
    OPERATOR_TARGET,
)

DAY = "2026-11-10"
NOW = datetime(2026, 11, 10, 11, 5, 20, tzinfo=UTC)  # boris is still ready


def t(text: str) -> datetime:
    """A UTC instant of the reported day ("07:00:11") or a full "2026-11-09 21:30"."""
    return datetime.fromisoformat(text if " " in text else f"{DAY} {text}").replace(tzinfo=UTC)


# attempt: lead, trunk, prefix, started, answered, connected, ended, operator, outcome, cost, billed, fee,
#          disposition, success, disposed, wait, abandoned
ATTEMPTS: list[dict[str, Any]] = [
    dict(lead="L1", trunk="main", prefix="7", started="07:00:00", answered="07:00:10", connected="07:00:11",
         ended="07:06:11", operator="anna", outcome="human", cost="1.50", billed=360, fee="0.10",
         disposition="application_completed", success=True, disposed="07:06:41", wait=1.0, call="c1"),
    dict(lead="L2", trunk="main", prefix="7", started="08:00:00", answered="08:00:05", connected="08:00:07",
         ended="08:02:07", operator="anna", outcome="human", cost="0.60", billed=120, fee="0.10",
         disposition="callback", success=False, disposed="08:02:17", wait=2.0, call="c2"),
    dict(lead="L2", trunk="backup", prefix="79", started="12:00:00", answered="12:00:04", connected="12:00:05",
         ended="12:01:05", operator="anna", outcome="human", cost="0.50", billed=60, fee="0",
         disposition="application_completed", success=True, disposed="12:01:15", wait=1.0, call="c3",
         callback_for="anna"),  # the callback anna asked for on c2
    dict(lead="L3", trunk="main", prefix="7", started="09:00:00", ended="09:00:25", outcome="no_answer",
         cost="0", billed=0, fee="0", call="c4"),
    dict(lead="L3", trunk="main", prefix="7", started="20:30:00", answered="20:30:05", ended="20:30:07",
         outcome="abandoned", abandoned=True, cost="0.20", billed=10, fee="0.10", wait=2.0, call="c5"),
    dict(lead="L4", trunk="main", prefix="7", started="21:30:00", ended="21:30:03", outcome="busy", cost="0",
         billed=0, fee="0", call="c6"),  # 00:30 on the 11th in Moscow: not in the day
    dict(lead="L4", trunk="main", prefix="7", started="10:00:00", answered="10:00:02", connected="10:00:03",
         ended="10:05:03", operator="boris", outcome="human", cost="1.25", billed=300, fee="0.10",
         disposition="not_interested", success=False, disposed="10:05:03", wait=0.5, call="c7"),
]  # fmt: skip

# spans: operator, state, reason, started, ended (None: still open at NOW)
SPANS = [
    ("anna", "ready", None, "06:50:00", "07:00:00"),
    ("anna", "talking", None, "07:00:00", "07:06:00"),
    ("anna", "wrap_up", None, "07:06:00", "07:06:30"),
    ("anna", "paused", "lunch", "07:06:30", "07:36:30"),
    ("anna", "ready", None, "07:36:30", "08:00:00"),
    ("anna", "ready", None, "20:00:00", "22:00:00"),  # 23:00 to 01:00 in Moscow: one hour is the 11th's
    ("boris", "paused", "break", "09:00:00", "09:10:00"),
    ("boris", "ready", None, "09:10:00", "10:00:00"),
    ("boris", "talking", None, "10:00:00", "10:05:00"),
    ("boris", "wrap_up", None, "10:05:00", "10:05:20"),
    ("boris", "ready", None, "10:05:20", None),
]

EXPECTED = {
    "costs": {"total": Decimal("7.45"), "calls_cost": Decimal("4.05"), "messages_cost": Decimal("3.40"),
              "per_connected": Decimal("1.0125"), "per_success": Decimal("3.725"),
              "main_+7": {"calls": 5, "answered": 4, "minutes": 13.17, "fees": Decimal("0.40"),
                          "cost": Decimal("3.55")},
              "backup_+79": {"calls": 1, "answered": 1, "minutes": 1.0, "fees": Decimal("0"),
                             "cost": Decimal("0.50")},
              "budget": {"budget": Decimal("10.00"), "spent": Decimal("4.05"), "left": Decimal("5.95")}},
    "operators": {
        "anna": {"signed_in": 7800.0, "ready": 5610.0, "talking": 360.0, "wrap_up": 30.0, "paused": 1800.0,
                 "paused:lunch": 1800.0, "occupancy": 390 / 6000, "calls": 3, "aht": 590 / 3, "successes": 2,
                 "callbacks": 1, "kept": 1, "long": 1, "reviewed": 1 / 3, "good": 1, "bad": 0},
        "boris": {"signed_in": 7520.0, "ready": 6600.0, "talking": 300.0, "wrap_up": 20.0, "paused": 600.0,
                  "paused:break": 600.0, "calls": 1, "aht": 300.0, "successes": 0, "long": 0},
    },
    "successes": {"count": 2, "first": "L2", "first_attempts": 2, "funnel": [4, 3, 2]},
    "effectiveness": {"attempts": 6, "answer_rate": 5 / 6, "abandon_rate": 0.2, "wait_mean": 1.3,
                      "wait_p90": 2.0, "contacts_per_lead": 1.5},
}  # fmt: skip


async def make_history(engine: AsyncEngine) -> dict[str, int]:
    """Write the day; returns ids by name (project, campaign, attempts a1..a7)."""
    async with writing(engine) as conn:
        project = await create_project(conn, "loans", name="Loans")
        await campaigns.put(conn, project, "main", CampaignIn(budget=Decimal("10.00")))
        campaign_id = (
            await conn.execute(select(CAMPAIGN.c.id).where(CAMPAIGN.c.name == "main"))
        ).scalar_one()
        for login in ("anna", "boris"):
            await add_operator(conn, login, name=login.title(), password=f"{login}-secret-1",
                               project_ids=[project.id])  # fmt: skip
        await add_operator(conn, "sveta", name="Sveta", password="sveta-secret-1", project_ids=[project.id])
        await conn.execute(
            OPERATOR.update().where(OPERATOR.c.login == "sveta").values(role=Role.SUPERVISOR.value)
        )
        leads = {}
        for i, name in enumerate(("L1", "L2", "L3", "L4"), start=1):
            leads[name] = (await conn.execute(insert(LEAD).values(
                project_id=project.id, campaign_id=campaign_id, external_id=name, phones=[f"+7900000000{i}"],
                name=f"Client {i}", data={}, created_at=t("2026-11-09 09:00"), updated_at=t("2026-11-09 09:00"),
                next_attempt_at=t("2026-11-09 09:00"),
            ))).inserted_primary_key[0]  # fmt: skip
        ids = {"project": project.id, "campaign": campaign_id}
        for n, a in enumerate(ATTEMPTS, start=1):
            row = {
                "lead_id": leads[a["lead"]], "campaign_id": campaign_id, "phone": "+79000000000",
                "trunk": a["trunk"], "tariff_prefix": a["prefix"], "call_id": a["call"],
                "started_at": t(a["started"]), "ended_at": t(a["ended"]), "outcome": a["outcome"],
                "cost": Decimal(a["cost"]), "billed_seconds": a["billed"], "connection_fee": Decimal(a["fee"]),
                "abandoned": a.get("abandoned", False), "operator": a.get("operator"),
                "wait_to_operator": a.get("wait"), "callback_for": a.get("callback_for"), "disposition": a.get("disposition"), "success": a.get("success"),
            }  # fmt: skip
            for key in ("answered", "connected", "disposed"):
                if key in a:
                    row[f"{key}_at"] = t(a[key])
            ids[f"a{n}"] = (await conn.execute(insert(ATTEMPT).values(**row))).inserted_primary_key[0]
        await conn.execute(insert(LEAD_ANSWER), [
            {"lead_id": leads["L1"], "field": "income", "value": 90000, "call_id": "c1", "at": t("07:06:40")},
            {"lead_id": leads["L2"], "field": "employer", "value": "ООО Ромашка", "call_id": "c3", "at": t("12:01:10")},
        ])  # fmt: skip
        await conn.execute(insert(OPERATOR_STATE), [
            {"operator": who, "state": state, "reason": reason, "started_at": t(start),
             "ended_at": t(end) if end else None, "project_id": project.id if state in ("talking", "wrap_up") else None}
            for who, state, reason, start, end in SPANS
        ])  # fmt: skip
        message = {"project_id": project.id, "lead_id": leads["L1"], "recipient": "+79000000001", "body": "x", "attachments": [],
                   "not_after": t("23:00:00"), "created_at": t("07:07:00"),
                   "next_try_at": t("07:07:00")}  # fmt: skip
        for one in [
            {**message, "medium": "sms", "channel": "smsc", "status": "delivered", "parts": 2,
             "cost": Decimal("3.40"), "sent_at": t("07:07:01"), "operator": "anna"},
            {**message, "medium": "email", "channel": "smtp", "status": "sent", "recipient": "a@example.com",
             "sent_at": t("07:08:00")},
            {**message, "medium": "sms", "channel": "smsc", "status": "failed", "reason": "refused"},
        ]:  # fmt: skip
            await conn.execute(insert(MESSAGE).values(**one))
        anna = (await conn.execute(select(OPERATOR.c.id).where(OPERATOR.c.login == "anna"))).scalar_one()
        await conn.execute(insert(OPERATOR_TARGET).values(operator_id=anna, project_id=project.id,
                                                          month="2026-11", calls=200, long_calls=100))  # fmt: skip
        await conn.execute(insert(CALL_REVIEW).values(attempt_id=ids["a1"], verdict="good", note="clear",
                                                      reviewer="sveta", at=t("13:00:00")))  # fmt: skip
        await conn.execute(insert(DIAL_SAMPLE), [
            {"campaign_id": campaign_id, "at": t("07:00:00"), "level": 1.5, "calls": 3, "operators": 2,
             "reason": "predictive: 2 free, answer rate 0.40"},
            {"campaign_id": campaign_id, "at": t("08:00:00"), "level": 2.0, "calls": 4, "operators": 2,
             "reason": "predictive: abandon budget tight"},
        ])  # fmt: skip
    return ids
