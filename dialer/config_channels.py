"""Configuration of the message channels: ``[channels.NAME]`` in ``config.toml``.

A channel is one way out for messages to clients: ``kind = "smsc"`` (SMSC.ru's HTTP API),
``kind = "http"`` (any SMS provider with an HTTP API, described by a request template and where
to read the answer), ``kind = "smtp"`` (email). A channel serves the projects it lists in
``projects`` (slugs), or every project when the list is empty; a project uses the channel of the
right medium (SMS or email) that names it, else the one that serves everyone. Secrets belong in the
environment: ``DIALER_CHANNELS__SMS__PASSWORD=...``; ``dialer config check`` masks them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, StringConstraints, model_validator

from dialer.config_base import Section

ChannelName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Medium = Literal["sms", "email"]
HttpUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s/]+(/\S*)?$")]


class ChannelBase(Section):
    projects: list[Slug] = Field(default_factory=list, description="project slugs; empty: every project")
    timeout: float = Field(default=15.0, gt=0, le=300, description="seconds a gateway may take to answer")

    @property
    def medium(self) -> Medium:
        raise NotImplementedError


class SmscSettings(ChannelBase):
    """SMSC.ru: ``login`` + ``password``, or ``apikey``; the backup host is tried when the first fails."""

    kind: Literal["smsc"]
    login: str | None = None
    password: SecretStr | None = None
    apikey: SecretStr | None = None
    sender: str | None = Field(default=None, max_length=11, description="registered sender name")
    hosts: list[HttpUrl] = Field(
        default_factory=lambda: ["https://smsc.ru", "https://www2.smsc.ru"],
        min_length=1,
        description="main host first, then the backups",
    )
    status_every: float = Field(
        default=60.0, gt=0, le=86_400, description="seconds between delivery-status checks of a sent SMS"
    )
    status_for: float = Field(
        default=172_800.0, gt=0, description="seconds after sending to stop asking for delivery status"
    )

    @model_validator(mode="after")
    def _credentials(self) -> SmscSettings:
        has_login = bool(self.login) and self.password is not None and bool(self.password.get_secret_value())
        has_key = self.apikey is not None and bool(self.apikey.get_secret_value())
        if not has_login and not has_key:
            raise ValueError("give login and password, or apikey (secrets in the environment)")
        return self

    @property
    def medium(self) -> Medium:
        return "sms"


class HttpGatewaySettings(ChannelBase):
    """Any SMS provider's HTTP API.

    ``url``, header values and ``body`` are templates with ``phone`` (E.164), ``phone_digits``,
    ``text``, ``id`` (ours, stable across retries), ``sender`` and ``secret``. The answer is
    successful when the status is 2xx and, if ``success_path`` is set, the JSON value there equals
    ``success_value`` (any true value when unset); ``id_path``, ``cost_path``, ``error_path`` are dotted
    paths into the JSON answer (``result.0.id``). 4xx answers fail the message, 5xx and timeouts retry.
    """

    kind: Literal["http"]
    url: str = Field(min_length=8)
    method: Literal["GET", "POST"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = Field(default=None, description="request body template (POST)")
    content_type: str = "application/json"
    secret: SecretStr | None = Field(default=None, description="available to the templates as {{ secret }}")
    sender: str | None = None
    success_path: str | None = None
    success_value: str | None = None
    id_path: str | None = None
    cost_path: str | None = None
    error_path: str | None = None

    @property
    def medium(self) -> Medium:
        return "sms"


class SmtpSettings(ChannelBase):
    """Email through an SMTP relay (``security``: starttls on 587, tls on 465, none on loopback only)."""

    kind: Literal["smtp"]
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    from_address: str = Field(min_length=3, max_length=320)
    from_name: str | None = Field(default=None, max_length=200)
    reply_to: str | None = Field(default=None, max_length=320)
    ca_file: Path | None = Field(default=None, description="trust this CA (a relay with its own certificate)")

    @model_validator(mode="after")
    def _auth_pair(self) -> SmtpSettings:
        if self.username and (self.password is None or not self.password.get_secret_value()):
            raise ValueError("username given without password (set it in the environment)")
        return self

    @property
    def medium(self) -> Medium:
        return "email"


ChannelSettings = Annotated[SmscSettings | HttpGatewaySettings | SmtpSettings, Field(discriminator="kind")]
CHANNEL_KINDS = ("smsc", "http", "smtp")
