"""Whether a lead may be called now, on which number, and if not, until when: a pure module.

Theory of operation
-------------------
:func:`judge` looks at one lead with what the hopper read about it (its numbers' do-not-call
entries, recent contacts with the person, numbers being dialled right now) and returns a
:class:`Verdict`:

- *final*: the lead leaves the queue: ``expired`` (past ``expires_at``), ``failed`` (max attempts
  reached), ``dnc`` (every number is on a do-not-call list);
- *dial*: the number to call now, the next one in rotation that is allowed, free and inside its
  calling window (in the callee's zone: :func:`dialer.calling_window.callee_zone`);
- *wait*: the earliest instant worth looking again: the next opening of a number's window, the end
  of a contact-frequency cap, or a short pause while the number is busy in another call.

Frequency caps count *contacts* (calls a person answered, machines excluded) with any of the lead's
numbers, across every campaign, over rolling windows: a day is 24 h, a week 7 days, a month 30 days.
A person whose call was abandoned (answered, no operator in time) is not called again for 72 hours
unless an operator is reserved for the call first (a callback).
No clock is read here: ``now`` is an argument.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dialer.calling_window import CallingWindow, callee_zone
from dialer.leads.schema import LeadStatus

BUSY_RETRY = timedelta(seconds=60)
ABANDON_QUIET = timedelta(hours=72)  # after an abandoned call, no call without an operator reserved
CAP_PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}


@dataclass(frozen=True)
class Policy:
    """The rules of one campaign in its project."""

    window: CallingWindow
    project_zone: str
    holidays: frozenset[date] = frozenset()
    max_attempts: int = 5
    caps: tuple[tuple[str, int], ...] = ()  # ("day", 1), ("week", 2), ...
    sms_contacts: bool = False  # an SMS sent to a number counts against its caps like a call

    def __post_init__(self) -> None:
        for period, limit in self.caps:
            if period not in CAP_PERIODS or limit < 1:
                raise ValueError(f"bad cap {period}={limit}; periods {', '.join(CAP_PERIODS)}, limit >= 1")


@dataclass(frozen=True)
class Candidate:
    """What the rules need to know about a lead."""

    phones: tuple[str, ...]
    next_phone: int = 0
    attempts: int = 0
    time_zone: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    """Exactly one of ``dial``, ``final`` or ``wait_until`` is set; ``reason`` says why."""

    reason: str
    dial: str | None = None
    phone_index: int | None = None
    final: LeadStatus | None = None
    wait_until: datetime | None = None


def judge(
    lead: Candidate,
    policy: Policy,
    now: datetime,
    *,
    dnc: Collection[str] = (),
    contacts: Sequence[datetime] = (),
    busy: Collection[str] = (),
    abandoned: Sequence[datetime] = (),
    operator_reserved: bool = False,
) -> Verdict:
    """The verdict for ``lead`` at ``now`` (aware)."""
    final = _final(lead, policy, now, dnc)
    if final is not None:
        return final
    allowed = [(i, p) for i, p in enumerate(lead.phones) if p not in dnc]
    capped_until = cap_ends(contacts, policy.caps, now)
    if capped_until is not None:
        return Verdict("contact frequency cap reached", wait_until=capped_until)
    recent_abandons = [t for t in abandoned if now - ABANDON_QUIET < t <= now]
    if recent_abandons and not operator_reserved:
        quiet_until = max(recent_abandons) + ABANDON_QUIET
        return Verdict("abandoned within 72 h: only with an operator reserved", wait_until=quiet_until)

    count = len(lead.phones)
    order = sorted(allowed, key=lambda item: (item[0] - lead.next_phone) % count)
    openings = []
    any_free = False
    for index, phone in order:
        if phone in busy:
            continue
        any_free = True
        where = callee_zone(phone, project_zone=policy.project_zone, lead_zone=lead.time_zone)
        if policy.window.allows(now, where, policy.holidays):
            return Verdict(f"{policy.window.name} window open in {where.key}", dial=phone, phone_index=index)
        openings.append(policy.window.next_opening(now, where, policy.holidays))
    if not any_free:
        return Verdict("the number is in another call", wait_until=now + BUSY_RETRY)
    return Verdict(f"outside the {policy.window.name} window", wait_until=min(openings))


def after_attempt(
    outcome: str, attempts: int, policy: Policy, delays: Mapping[str, int], now: datetime
) -> tuple[LeadStatus, datetime | None]:
    """Where a lead goes after an attempt that ended with ``outcome`` (a key of the retry rules).

    ``attempts`` counts the attempt just made. Out of attempts: ``failed``; otherwise ``retry`` after
    the campaign's delay for that outcome (``delays``, seconds; the caller supplies the defaults).
    """
    if attempts >= policy.max_attempts:
        return LeadStatus.FAILED, None
    return LeadStatus.RETRY, now + timedelta(seconds=delays[outcome])


def _final(lead: Candidate, policy: Policy, now: datetime, dnc: Collection[str]) -> Verdict | None:
    if lead.expires_at is not None and lead.expires_at <= now:
        return Verdict("expired", final=LeadStatus.EXPIRED)
    if lead.attempts >= policy.max_attempts:
        made = f"{lead.attempts} attempts made, the campaign allows {policy.max_attempts}"
        return Verdict(made, final=LeadStatus.FAILED)
    if all(p in dnc for p in lead.phones):
        return Verdict("every number is on a do-not-call list", final=LeadStatus.DNC)
    return None


def cap_ends(contacts: Sequence[datetime], caps: Sequence[tuple[str, int]], now: datetime) -> datetime | None:
    """When every cap allows one more contact, or None when they allow it now.

    A cap of ``limit`` per ``period`` is full while ``limit`` contacts lie in ``(now - period, now]``;
    it frees when the oldest of the last ``limit`` contacts leaves the window.
    """
    until = None
    recent = sorted(c for c in contacts if c <= now)
    for period, limit in caps:
        span = CAP_PERIODS[period]
        inside = [c for c in recent if c > now - span]
        if len(inside) >= limit:
            frees = inside[len(inside) - limit] + span
            until = frees if until is None else max(until, frees)
    return until
