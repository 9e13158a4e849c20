"""SMSC.ru's HTTP API: ``send.php`` to send, ``status.php`` for delivery (https://smsc.ru/api/http/).

Theory of operation
-------------------
Every request carries ``fmt=3`` (JSON answers) and ``charset=utf-8`` (the service's default is
windows-1251), and either ``login`` + ``psw`` or ``apikey``. A send names our own message ``id`` and
asks ``cost=3`` for the cost, the parts and the balance back. The hosts are tried in order: a refused
connection, a timeout or an HTTP 5xx moves to the next (the backup ``www2.smsc.ru``), and when all
fail the message is retried later with backoff.

Error codes of ``send.php``: 1 (bad parameters), 2 (bad login or password), 5 (bad time format),
6 (message forbidden by text or sender name), 7 (bad number), 8 (cannot be delivered to that number)
fail the message with the gateway's reason; 3 (no funds) parks the channel; 4 (our IP blocked for
repeated errors) waits 30 minutes; 9 (the same request within a minute) means an earlier try may have
gone through, so the status of our ``id`` is asked before anything is sent again. A message whose last
try's answer was lost (``maybe_sent``: a timeout, a crash between "sending" and the answer) is asked
for in the same way first: sent at most once.

``status.php`` statuses: -3 not found, -1 waiting, 0 handed to the operator, 1 delivered, 2 read,
3 expired, 4 link followed, 20 undeliverable, 22 bad number, 23 forbidden, 24 no funds, 25 the number
is unavailable.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp
import structlog

from dialer.config_channels import SmscSettings
from sms_email.gateway import Outcome, Outgoing

log = structlog.get_logger(__name__)

PERMANENT = {
    1: "the gateway refused the request's parameters",
    2: "the gateway refused the login or password",
    5: "the gateway refused the time format",
    6: "the gateway forbids this message (its text or sender name)",
    7: "the gateway says the number is not valid",
    8: "the gateway cannot deliver to this number",
}
BAD_ADDRESS = {7, 8}
NO_FUNDS, IP_BLOCKED, DUPLICATE = 3, 4, 9
PARK = 600.0  # seconds a channel with no funds waits before trying again
BLOCKED_WAIT = 1800.0
DELIVERED = {1: "delivered", 2: "read", 4: "delivered (the link was followed)"}
UNDELIVERED = {
    3: ("expired in the network before it could be delivered", False),
    20: ("undeliverable", False),
    22: ("the number is not valid", True),
    23: ("forbidden by the network", False),
    24: ("no funds on the gateway account", False),
    25: ("the number is unavailable", True),
}


class SmscGateway:
    """One ``kind = "smsc"`` channel."""

    reports_delivery = True

    def __init__(self, name: str, settings: SmscSettings, session: aiohttp.ClientSession) -> None:
        self.name = name
        self._settings = settings
        self._session = session
        self.balance: str | None = None

    def _auth(self) -> dict[str, str]:
        s = self._settings
        if s.apikey is not None and s.apikey.get_secret_value():
            return {"apikey": s.apikey.get_secret_value()}
        assert s.login is not None and s.password is not None
        return {"login": s.login, "psw": s.password.get_secret_value()}

    async def send(self, message: Outgoing) -> Outcome:
        if message.maybe_sent:
            known = await self.status(message, None)
            if not known.not_found:
                return _as_sent(known)
        params = {
            **self._auth(),
            "phones": message.recipient,
            "mes": message.body,
            "charset": "utf-8",
            "fmt": "3",
            "id": str(message.id),
            "cost": "3",
        }
        if self._settings.sender:
            params["sender"] = self._settings.sender
        answer = await self._call("send.php", params)
        if isinstance(answer, Outcome):
            return answer
        code = _code(answer)
        if code is None:
            if "id" not in answer:
                return Outcome("retry", reason=f"SMSC answered without an id: {_short(answer)}")
            self.balance = _text(answer.get("balance")) or self.balance
            return Outcome(
                "sent",
                gateway_id=str(answer["id"]),
                parts=_int(answer.get("cnt")),
                cost=_decimal(answer.get("cost")),
            )
        return await self._send_error(message, code, answer)

    async def _send_error(self, message: Outgoing, code: int, answer: dict[str, Any]) -> Outcome:
        said = _text(answer.get("error")) or ""
        if code in PERMANENT:
            reason = f"SMSC error {code}: {PERMANENT[code]}" + (f" ({said})" if said else "")
            return Outcome("failed", reason=reason, bad_address=code in BAD_ADDRESS)
        if code == NO_FUNDS:
            log.error("SMSC account has no funds; the channel is parked", channel=self.name)
            return Outcome("parked", reason="SMSC error 3: no funds on the account", retry_after=PARK)
        if code == IP_BLOCKED:
            return Outcome(
                "retry", reason="SMSC error 4: our IP address is blocked", retry_after=BLOCKED_WAIT
            )
        if code == DUPLICATE:
            known = await self.status(message, None)
            if not known.not_found:
                return _as_sent(known)
            return Outcome(
                "retry", reason="SMSC error 9: duplicate request; not sent again yet", retry_after=60
            )
        return Outcome("retry", reason=f"SMSC error {code}: {said or 'unknown code'}")

    async def status(self, message: Outgoing, gateway_id: str | None) -> Outcome:
        params = {
            **self._auth(),
            "phone": message.recipient,
            "id": gateway_id or str(message.id),
            "charset": "utf-8",
            "fmt": "3",
        }
        answer = await self._call("status.php", params)
        return answer if isinstance(answer, Outcome) else _status_outcome(answer, gateway_id)

    async def _call(self, method: str, params: dict[str, str]) -> dict[str, Any] | Outcome:
        """The JSON answer of the first host that gives one, else the outcome to retry with."""
        problems = []
        timeout = aiohttp.ClientTimeout(total=self._settings.timeout)
        for host in self._settings.hosts:
            url = f"{host.rstrip('/')}/sys/{method}"
            try:
                async with self._session.post(url, data=params, timeout=timeout) as response:
                    if response.status >= 500:
                        problems.append(f"{host}: HTTP {response.status}")
                        continue
                    if response.status >= 400:
                        return Outcome("retry", reason=f"SMSC {method} HTTP {response.status}")
                    try:
                        answer = await response.json(content_type=None)
                    except ValueError:
                        return Outcome("retry", reason=f"SMSC {method} answered with no JSON")
                    if not isinstance(answer, dict):
                        return Outcome("retry", reason=f"SMSC {method} answered {_short(answer)}")
                    return answer
            except (aiohttp.ClientError, TimeoutError) as exc:
                problems.append(f"{host}: {type(exc).__name__} {exc}".strip())
        return Outcome("retry", reason=f"SMSC {method} unreachable: " + "; ".join(problems))


def _status_outcome(answer: dict[str, Any], gateway_id: str | None) -> Outcome:  # noqa: PLR0911
    """What a ``status.php`` answer says of the message."""
    code = _code(answer)
    if code is not None:
        if code in (IP_BLOCKED, DUPLICATE):
            return Outcome("retry", reason=f"SMSC status error {code}", retry_after=BLOCKED_WAIT)
        return Outcome("unknown", reason=f"SMSC status error {code}: {_text(answer.get('error'))}")
    status = _int(answer.get("status"))
    if status is None:
        return Outcome("unknown", reason=f"SMSC status without a status: {_short(answer)}")
    if status == -3:
        return Outcome("unknown", reason="SMSC does not know this message", not_found=True)
    if status in DELIVERED:
        return Outcome("delivered", reason=DELIVERED[status], gateway_id=gateway_id)
    if status in UNDELIVERED:
        reason, bad = UNDELIVERED[status]
        return Outcome("failed", reason=f"SMSC status {status}: {reason}", bad_address=bad)
    return Outcome("sent", gateway_id=gateway_id, reason=f"SMSC status {status}: on its way")


def _as_sent(known: Outcome) -> Outcome:
    """What to make of a status asked before (re)sending: the gateway has the message (an earlier try
    sent it), or the question itself failed (try again later; never send blindly)."""
    if known.state in ("delivered", "failed"):
        return known
    if known.state == "sent":
        return Outcome("sent", gateway_id=known.gateway_id, reason="sent by an earlier try")
    return Outcome("retry", reason=f"not resent until its status is known: {known.reason}")


def _code(answer: dict[str, Any]) -> int | None:
    if "error_code" in answer:
        return _int(answer["error_code"]) or -1
    if "error" in answer:
        return -1
    return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:200]


def _short(value: Any) -> str:
    return repr(value)[:200]
