"""Any SMS provider with an HTTP API, described in the configuration (``kind = "http"``).

The URL, the header values and the body are Jinja2 templates (sandboxed, strict) over ``phone``,
``phone_digits``, ``text``, ``id``, ``sender`` and ``secret``; string values put into a JSON body are
escaped as JSON when the content type is JSON (``{{ text|tojson }}`` is not needed, and a quote in a
client's name cannot break the request). The answer is read as :class:`~dialer.config_channels.
HttpGatewaySettings` describes: 2xx and the success value, the provider's id and cost by dotted path.
4xx fails the message (the request itself is wrong: fix the configuration or the message), except 408
and 429; 5xx, timeouts and refused connections are retried with backoff. The generic gateway reports
no delivery, so its messages end at "sent".
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from dialer.config_channels import HttpGatewaySettings
from sms_email.gateway import Outcome, Outgoing

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
RETRYABLE_4XX = {408, 425, 429}


class HttpGateway:
    """One ``kind = "http"`` channel."""

    reports_delivery = False

    def __init__(self, name: str, settings: HttpGatewaySettings, session: aiohttp.ClientSession) -> None:
        self.name = name
        self._settings = settings
        self._session = session
        json_body = "json" in settings.content_type
        self._json_env = SandboxedEnvironment(
            undefined=StrictUndefined, autoescape=False, finalize=_json_value
        )
        self._body_env = self._json_env if json_body else _ENV

    def _variables(self, message: Outgoing) -> dict[str, Any]:
        secret = self._settings.secret
        return {
            "phone": message.recipient,
            "phone_digits": message.recipient.lstrip("+"),
            "text": message.body,
            "id": str(message.id),
            "sender": self._settings.sender or "",
            "secret": secret.get_secret_value() if secret is not None else "",
        }

    async def send(self, message: Outgoing) -> Outcome:
        s = self._settings
        variables = self._variables(message)
        try:
            url = _ENV.from_string(s.url).render(variables)
            headers = {k: _ENV.from_string(v).render(variables) for k, v in s.headers.items()}
            body = self._body_env.from_string(s.body).render(variables) if s.body else None
        except TemplateError as exc:
            return Outcome("parked", reason=f"the channel's request template fails: {exc}", retry_after=600)
        if body is not None:
            headers.setdefault("Content-Type", s.content_type)
        timeout = aiohttp.ClientTimeout(total=s.timeout)
        try:
            async with self._session.request(
                s.method,
                url,
                data=body.encode() if body is not None else None,
                headers=headers,
                timeout=timeout,
            ) as response:
                text = await response.text(errors="replace")
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Outcome("retry", reason=f"{type(exc).__name__}: {exc}".strip())
        return self._read(status, text)

    def _read(self, status: int, text: str) -> Outcome:
        s = self._settings
        try:
            answer: Any = json.loads(text) if text.strip() else None
        except ValueError:
            answer = None
        said = _at(answer, s.error_path) if s.error_path else None
        said_text = f": {str(said)[:200]}" if said not in (None, "") else f": {text[:200]}" if text else ""
        if status >= 500 or status in RETRYABLE_4XX:
            return Outcome("retry", reason=f"HTTP {status}{said_text}")
        if status >= 400:
            return Outcome("failed", reason=f"the gateway refused the message: HTTP {status}{said_text}")
        if status >= 300:
            return Outcome("retry", reason=f"HTTP {status}: a redirect the channel does not follow")
        if s.success_path:
            value = _at(answer, s.success_path)
            ok = str(value) == s.success_value if s.success_value is not None else bool(value)
            if not ok:
                return Outcome("failed", reason=f"the gateway said no{said_text}")
        gateway_id = _at(answer, s.id_path) if s.id_path else None
        return Outcome(
            "sent",
            gateway_id=None if gateway_id is None else str(gateway_id)[:200],
            cost=_decimal(_at(answer, s.cost_path)) if s.cost_path else None,
        )

    async def status(self, message: Outgoing, gateway_id: str | None) -> Outcome:
        return Outcome("unknown", reason="this gateway reports no delivery")


def _json_value(value: Any) -> Any:
    """Inside a JSON body a string is written with JSON escapes (its quotes come from the template)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)[1:-1]
    return value


_JSON_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, finalize=_json_value)


def _at(answer: Any, path: str | None) -> Any:
    """The value at a dotted path (``result.0.id``) of a JSON answer, or None."""
    node = answer
    for part in (path or "").split("."):
        if not part:
            continue
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None
