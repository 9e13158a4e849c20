"""A stand-in for SMSC.ru's HTTP API, for the demo and for tests: it answers ``/sys/send.php`` and
``/sys/status.php`` as https://smsc.ru/api/http/ documents, keeps what it received, and shows it on
a page (``/``) a person can read.

As documented: ``login`` + ``psw`` or ``apikey`` are checked (error 2); ``phones`` must be a number
(error 7); ``mes`` is required (error 1); the same phones and text again within a minute is error 9;
``fmt=3`` answers JSON (``{"id", "cnt"}`` and, with ``cost=3``, ``"cost"`` and ``"balance"``; errors
as ``{"error", "error_code"}``); the client's ``id`` is kept, and ``status.php`` answers by it
(``{"status": -3}`` when unknown). A sent message is status 0 (handed to the operator) and becomes 1
(delivered) ``deliver_after`` seconds later.

Tests steer it: :attr:`SmscSink.plan` holds what the next ``send.php`` requests meet instead of the
normal answer: ``("error", N)``, ``("http", 500)``, ``("hang", seconds)``, ``("accept-then-hang",
seconds)`` (keeps the message, then answers too late), ``("balance", "0")``; :attr:`statuses`
overrides a message's status.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web

from sms_email.segments import segments

ERRORS = {
    1: "parameters error",
    2: "invalid login or password",
    3: "not enough money on the client's account",
    4: "IP address temporarily blocked",
    5: "invalid date format",
    6: "message is prohibited (by text or by sender's name)",
    7: "invalid phone number format",
    8: "message to the specified number cannot be delivered",
    9: "sending more than one identical request within a minute",
}


@dataclass
class Received:
    id: str
    phone: str
    text: str
    sender: str | None
    parts: int
    cost: Decimal
    at: float
    status: int = 0


@dataclass
class SmscSink:
    login: str = "demo"
    password: str = "demo"
    apikey: str | None = None
    price: Decimal = Decimal("2.50")
    balance: Decimal = Decimal("1000.00")
    deliver_after: float = 2.0
    plan: deque[tuple[str, Any]] = field(default_factory=deque)
    statuses: dict[str, int] = field(default_factory=dict)
    received: dict[str, Received] = field(default_factory=dict)
    requests: list[dict[str, str]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/sys/send.php", self.send)
        app.router.add_route("*", "/sys/status.php", self.status)
        app.router.add_get("/", self.page)
        app.router.add_get("/messages.json", self.listing)
        return app

    def sends_of(self, message_id: str) -> int:
        """How many send requests named our ``id`` (tests: at most once means 1)."""
        return sum(1 for r in self.requests if r.get("_method") == "send" and r.get("id") == message_id)

    async def _params(self, request: web.Request) -> dict[str, str]:
        params = dict(request.query)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.post()).items()})
        return params

    def _authorised(self, params: dict[str, str]) -> bool:
        if self.apikey is not None and params.get("apikey") == self.apikey:
            return True
        return params.get("login") == self.login and params.get("psw") == self.password

    async def send(self, request: web.Request) -> web.Response:  # noqa: PLR0911 (one per documented error)
        params = await self._params(request)
        self.requests.append({**params, "_method": "send"})
        planned = self.plan.popleft() if self.plan else None
        if planned is not None:
            kind, value = planned
            if kind == "http":
                return web.Response(status=int(value), text="Internal Server Error")
            if kind == "hang":
                await asyncio.sleep(float(value))
            if kind == "error":
                return _error(int(value), params.get("id"))
            if kind == "balance":
                self.balance = Decimal(str(value))
        if not self._authorised(params):
            return _error(2, params.get("id"))
        phone, text = params.get("phones", ""), params.get("mes", "")
        if not text:
            return _error(1, params.get("id"))
        if not phone.lstrip("+").isdigit() or not 8 <= len(phone.lstrip("+")) <= 15:
            return _error(7, params.get("id"))
        now = time.monotonic()
        if any(r.phone == phone and r.text == text and now - r.at < 60 for r in self.received.values()):
            return _error(9, params.get("id"))
        parts = segments(text).parts
        cost = self.price * parts
        if cost > self.balance:
            return _error(3, params.get("id"))
        message_id = params.get("id") or str(next(self._ids))
        self.balance -= cost
        self.received[message_id] = Received(message_id, phone, text, params.get("sender"), parts, cost, now)
        if planned is not None and planned[0] == "accept-then-hang":
            await asyncio.sleep(float(planned[1]))
        answer: dict[str, Any] = {"id": _number(message_id), "cnt": parts}
        if params.get("cost") in ("2", "3"):
            answer.update(cost=f"{cost:.2f}", balance=f"{self.balance:.2f}")
        return web.json_response(answer)

    async def status(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        self.requests.append({**params, "_method": "status"})
        if not self._authorised(params):
            return _error(2, None)
        message_id = params.get("id", "").rstrip(",")
        message = self.received.get(message_id)
        if message is None or message.phone.lstrip("+") != params.get("phone", "").rstrip(",").lstrip("+"):
            return web.json_response({"status": -3, "last_date": "", "last_timestamp": 0})
        status = self.statuses.get(message_id)
        if status is None:
            status = 1 if time.monotonic() - message.at >= self.deliver_after else 0
        message.status = status
        return web.json_response(
            {"status": status, "last_date": "", "last_timestamp": int(time.time()), "err": 0}
        )

    async def listing(self, request: web.Request) -> web.Response:
        rows = [
            {"id": m.id, "phone": m.phone, "text": m.text, "sender": m.sender, "parts": m.parts,
             "cost": f"{m.cost:.2f}", "status": m.status}
            for m in self.received.values()
        ]  # fmt: skip
        return web.json_response({"messages": rows, "balance": f"{self.balance:.2f}"})

    async def page(self, request: web.Request) -> web.Response:
        rows = "\n".join(
            f"<tr><td>{html.escape(m.id)}</td><td>{html.escape(m.phone)}</td><td>{html.escape(m.text)}</td>"
            f"<td>{m.parts}</td><td>{m.cost:.2f}</td><td>{_STATUS.get(m.status, m.status)}</td></tr>"
            for m in reversed(list(self.received.values()))
        )
        body = _PAGE.format(count=len(self.received), balance=f"{self.balance:.2f}", rows=rows or _EMPTY)
        return web.Response(text=body, content_type="text/html")


_STATUS = {0: "handed to the operator / передано оператору", 1: "delivered / доставлено", -1: "waiting"}
_EMPTY = '<tr><td colspan="6">Nothing yet / Пока ничего</td></tr>'
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo SMS gateway / Демо SMS-шлюз</title>
<style>body{{font:15px system-ui,sans-serif;margin:1.5rem;max-width:70rem}}table{{border-collapse:collapse;
width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}}</style>
</head><body><h1>Demo SMS gateway / Демо SMS-шлюз</h1>
<p>What the dialer sent through its SMSC.ru channel: {count} message(s), balance {balance}.
Reload to see new ones.</p>
<table><thead><tr><th>Our id</th><th>Phone / Телефон</th><th>Text / Текст</th><th>Parts / Частей</th>
<th>Cost / Стоимость</th><th>Status / Статус</th></tr></thead><tbody>
{rows}
</tbody></table></body></html>"""


def _number(message_id: str) -> int | str:
    return int(message_id) if message_id.isdigit() else message_id


def _error(code: int, message_id: str | None) -> web.Response:
    answer: dict[str, Any] = {"error": ERRORS[code], "error_code": code}
    if message_id:
        answer["id"] = _number(message_id)
    return web.json_response(answer)
