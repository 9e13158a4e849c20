"""What the engine shows the web: frozen views of its live state, read in one go.

The web's handlers ask the runtime for these and never touch the loops, pacers or the operators'
board themselves; a view is a copy, so nothing a page does can change the engine.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OperatorView:
    login: str
    state: str
    seconds_in_state: float
    calls_today: int
    pause_reason: str | None
    projects: frozenset[int]


@dataclass(frozen=True)
class CampaignView:
    """A campaign as its loop in this process runs it."""

    dialing: bool  # places new calls (False while a stopped campaign's last calls go on)
    calls_in_progress: int
    launched: int
    answered: int
    connected: int
    abandoned: int
    last_decision: str | None  # the pacer's one-line reason
    dial_level: float | None  # calls in progress per operator at work
    window_answers: int
    window_abandons: int
    abandon_rate: float
    abandon_budget: float
    amd: bool
    amd_false_positive_rate: float | None = None
    amd_hidden_abandons: float | None = None
    amd_reviews: int | None = None


@dataclass(frozen=True)
class OnScreen:
    """What an operator's workplace shows: the connected call and its lead."""

    call_id: str | None  # None while the lead is shown for preview, before the call
    campaign: int
    lead_id: int
    phone: str
    preview: bool = False
    amd_check: bool = False  # judged a machine, let through: the operator marks person or machine
    ended: bool = False  # the client's call is over; the operator owes its outcome (wrap-up)


@dataclass(frozen=True)
class OperatorScreen:
    """An operator's state and what is on their screen (None: nothing)."""

    state: str
    shown: OnScreen | None
    seconds_in_state: float = 0.0
    pause_reason: str | None = None
    wrap_up_left: float | None = None  # seconds of wrap-up left (negative: overdue), in wrap-up only
    calls_today: int = 0


@dataclass(frozen=True)
class TrunkView:
    """A trunk as a supervisor sees it."""

    name: str
    up: bool
    registered: bool | None  # None: the trunk does not register
    reason: str  # why it is down, when it is
    calls: int  # calls in progress on it
    channels: int
    cps: float = 0.0  # calls launched in the last second
    max_cps: float = 0.0


@dataclass(frozen=True)
class PhoneState:
    """An operator's phone: registered with the dialer, its line up, seconds since it last sent audio."""

    registered: bool
    line_up: bool
    silent_for: float | None = None  # None: no line
