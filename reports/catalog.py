"""The four reports by name: what the pages, the API and the exports ask for."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from reports.costs import costs
from reports.effectiveness import effectiveness
from reports.operators import operators
from reports.scope import Scope
from reports.shape import Report
from reports.successes import PAGE, successes

NAMES = ("costs", "operators", "successes", "effectiveness")


async def build(conn: AsyncConnection, name: str, scope: Scope, *, whole: bool = False) -> Report:
    """The report ``name`` (one of :data:`NAMES`) for ``scope``; ``whole``: every row of the lists
    (exports, the API), not a page of them."""
    if name == "costs":
        return await costs(conn, scope)
    if name == "operators":
        return await operators(conn, scope)
    if name == "successes":
        return await successes(conn, scope, limit=None if whole else PAGE)
    if name == "effectiveness":
        return await effectiveness(conn, scope)
    raise ValueError(f"no report {name!r}; reports: {', '.join(NAMES)}")
