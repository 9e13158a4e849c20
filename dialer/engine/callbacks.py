"""Sticky callbacks: a client who asked to be called back gets the same operator, or another one
when that operator stays away too long.

:func:`callback_route` decides, for one due callback, at ``now``: dial it for the pinned operator when
they are ready; keep waiting for them during the grace period; after it, hand it to any ready operator
of the project (unless the campaign pins strictly). Pure: the board and times are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dialer.engine.board import OperatorBoard, OperatorState


class CallbackPolicy(StrEnum):
    PINNED_ONLY = "pinned_only"
    THEN_ANYONE = "then_anyone"


@dataclass(frozen=True)
class Route:
    """``operator`` to reserve now, or None with ``retry_at`` (when to look again) and the reason."""

    operator: str | None
    reason: str
    retry_at: float | None = None


def callback_route(
    *,
    project: int,
    pinned: str | None,
    due_at: float,
    now: float,
    board: OperatorBoard,
    grace: float,
    policy: CallbackPolicy = CallbackPolicy.THEN_ANYONE,
    recheck: float = 5.0,
) -> Route:
    """Who takes the callback due at ``due_at`` (seconds, same clock as ``now``)."""
    if now < due_at:
        return Route(None, "not due yet", retry_at=due_at)
    if pinned is not None:
        operator = board.operators.get(pinned)
        if operator is not None and operator.state is OperatorState.READY and project in operator.projects:
            return Route(pinned, f"pinned operator {pinned} is ready")
        if now < due_at + grace or policy is CallbackPolicy.PINNED_ONLY:
            state = operator.state if operator is not None else OperatorState.OFFLINE
            return Route(None, f"waiting for pinned operator {pinned} ({state})", retry_at=now + recheck)
    other = board.pick(project)
    if other is None:
        return Route(None, "no operator of the project is ready", retry_at=now + recheck)
    why = f"{pinned} away longer than the {grace:g} s grace period" if pinned else "no pinned operator"
    return Route(other.login, f"{why}: {other.login} idle longest")
