"""Typed configuration: ``config.toml`` plus ``DIALER_...`` environment overrides.

Theory of operation
-------------------
The TOML file is read with :mod:`tomllib` (so syntax errors carry a line and column) and handed to
:class:`Settings` as its lowest-priority source; environment variables override it key by key, nested
keys joined by ``__`` (``DIALER_TRUNKS__MAIN__PASSWORD=...`` sets ``[trunks.main] password``), so
secrets need not live in the file. Every section forbids unknown keys, because a misspelt key that is
silently ignored is how a dialer ends up calling at night. Validation errors become one
:class:`~dialer.errors.ConfigProblem` per key, naming the file or variable, the key, what was wrong and
what is allowed. Secret values (passwords, the database URL's password) are never echoed back.

Relative paths in the file are taken relative to the file's own directory, not the current one.
"""

from __future__ import annotations

import os
import tomllib
import types
import typing
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from dialer.config_base import Section
from dialer.config_channels import CHANNEL_KINDS, ChannelName, ChannelSettings
from dialer.errors import ConfigError, ConfigProblem

ENV_PREFIX = "DIALER_"
ENV_NESTED_DELIMITER = "__"
DEFAULT_CONFIG_PATH = Path("config.toml")

TrunkName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
Digits = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]*$")]


class ServerSettings(Section):
    """The HTTP server (API, operator workplace, health and metrics)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    instance: str | None = Field(
        default=None, max_length=64,
        description="stable name of this dialer process (leases, crash recovery); default host:port",
    )  # fmt: skip
    public_url: str | None = Field(
        default=None, pattern=r"^https?://[^\s/]+(/\S*)?$",
        description="where people reach the console (the links in invitation emails); default: the "
        "address the inviting person used",
    )  # fmt: skip


class DatabaseSettings(Section):
    """Where state lives: an embedded SQLite file by default, PostgreSQL by URL when set."""

    path: Path = Path("var/dialer.sqlite3")
    url: str | None = Field(default=None, repr=False)  # may hold a password
    busy_timeout_ms: int = Field(default=5000, ge=0, le=600_000)
    pool_size: int = Field(default=10, ge=1, le=1000)
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "not a database URL; expected postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB"
            ) from None
        backend = url.get_backend_name()
        if backend in ("postgresql", "postgres"):
            return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
        if backend == "sqlite":
            return url.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
        raise ValueError(f"unsupported database {backend!r}; allowed: postgresql, sqlite")

    @field_serializer("url")
    def _hide_password(self, value: str | None) -> str | None:
        return None if value is None else make_url(value).render_as_string(hide_password=True)

    @property
    def sqlalchemy_url(self) -> str:
        """The URL SQLAlchemy connects to (contains the password: never log it)."""
        if self.url:
            return self.url
        return f"sqlite+aiosqlite:///{self.path}"

    @property
    def display_url(self) -> str:
        """The URL with its password masked, for messages and logs."""
        return make_url(self.sqlalchemy_url).render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.sqlalchemy_url).get_backend_name() == "sqlite"


class LoggingSettings(Section):
    """Structured logs on stderr: ``console`` for people, ``json`` for log collectors."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["console", "json"] = "console"


class SipSettings(Section):
    """Where operators' softphones register (their extension is their login, same password).

    ``enabled = false`` runs the HTTP API only (no dialing in this process)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=5070, ge=1, le=65535)
    safe_harbor: Path | None = Field(default=None, description="WAV played to abandoned clients")
    phone_silence_limit: float = Field(
        default=15, ge=0, le=3600,
        description="an operator's line with no audio from the phone this long (s) is hung up and the "
        "operator paused; 0 never",
    )  # fmt: skip
    public_address: str | None = Field(
        default=None,
        description="behind NAT: the address carriers and phones reach us at, named in Via, Contact and "
        "SDP (the SIP ports must be forwarded to us); unset: the address each peer saw (rport)",
    )
    rtp_port_min: int = Field(default=0, ge=0, le=65535, description="first UDP port for media; 0: any")
    rtp_port_max: int = Field(default=0, ge=0, le=65535, description="last UDP port for media; 0: any")

    @model_validator(mode="after")
    def _rtp_range(self) -> SipSettings:
        if (self.rtp_port_min == 0) != (self.rtp_port_max == 0) or self.rtp_port_min > self.rtp_port_max:
            raise ValueError("rtp_port_min and rtp_port_max: give both (min <= max), or neither")
        return self

    @property
    def rtp_ports(self) -> tuple[int, int] | None:
        return (self.rtp_port_min, self.rtp_port_max) if self.rtp_port_min else None


class IceServerSettings(Section):
    """A STUN or TURN server the browser phone and the dialer use to reach each other through NAT."""

    urls: Annotated[str, StringConstraints(pattern=r"^(stun|turn|turns):[^\s]{1,300}$")]
    username: str | None = Field(default=None, max_length=200)
    credential: SecretStr | None = Field(default=None, description="the TURN password")


class WebRtcSettings(Section):
    """The browser phone: operators use the workplace page as their phone (WebRTC audio)."""

    enabled: bool = True
    ice_servers: list[IceServerSettings] = Field(
        default_factory=list, description="STUN/TURN for operators behind NAT (none: direct addresses only)"
    )


class RecordingSettings(Section):
    """Call recordings: one stereo WAV per call (left the client, right the operator)."""

    enabled: bool = Field(default=True, description="record every call connected to an operator")
    directory: Path = Path("var/recordings")
    retention_days: float = Field(default=90, gt=0, le=36500, description="older recordings are deleted")


class Tariff(Section):
    """Price of calls to numbers starting with ``prefix`` (longest prefix wins).

    ``increment`` is the billing increment "first/next" in seconds: ``60/60`` bills whole minutes,
    ``1/1`` per second, ``30/6`` a first block of 30 s then 6 s steps.
    """

    prefix: Digits = ""
    price_per_minute: Decimal = Field(ge=0)
    increment: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,3}/[1-9][0-9]{0,3}$")] = "60/60"
    connection_fee: Decimal = Field(default=Decimal(0), ge=0)

    @property
    def increments(self) -> tuple[int, int]:
        """(first, next) billing blocks in seconds."""
        first, nxt = self.increment.split("/")
        return int(first), int(nxt)


Share = Annotated[float, Field(ge=0.0, le=1.0)]
Span = tuple[Annotated[float, Field(ge=0.0, le=3600.0)], Annotated[float, Field(ge=0.0, le=3600.0)]]


def _ordered(span: tuple[float, float]) -> tuple[float, float]:
    if span[0] > span[1]:
        raise ValueError(f"[low, high] seconds with low <= high, got {list(span)}")
    return span


class Outcomes(Section):
    """Shares of what happens to a call (the rest of 1 is an answer)."""

    busy: Share = 0.10
    no_answer: Share = 0.35
    invalid: Share = 0.03
    congestion: Share = 0.02

    @model_validator(mode="after")
    def _at_most_one(self) -> Outcomes:
        total = self.busy + self.no_answer + self.invalid + self.congestion
        if total > 1.0 + 1e-9:
            raise ValueError(
                f"busy + no_answer + invalid + congestion = {total:g}; at most 1 (the rest answers)"
            )
        return self

    def shares(self) -> list[tuple[str, float]]:
        return [("busy", self.busy), ("no_answer", self.no_answer), ("invalid", self.invalid),
                ("congestion", self.congestion)]  # fmt: skip


class PrefixOutcomes(Outcomes):
    """The shares for numbers starting with ``prefix`` (longest prefix wins); a share not given is 0."""

    prefix: Digits
    busy: Share = 0.0
    no_answer: Share = 0.0
    invalid: Share = 0.0
    congestion: Share = 0.0


class SimulationProfile(Outcomes):
    """How the built-in simulated carrier behaves (``[trunks.NAME.simulate]``)."""

    machine: Share = Field(default=0.2, description="share of answers that are answering machines")
    deterministic: bool = Field(
        default=False, description="the number's last digit decides (0-3, 9 person; 4 machine; 5 busy; "
        "6 no answer; 7 invalid; 8 congestion): for tests"
    )  # fmt: skip
    post_dial_delay: Annotated[Span, AfterValidator(_ordered)] = (0.3, 1.5)
    ring: Annotated[Span, AfterValidator(_ordered)] = (2.0, 12.0)
    talk: Annotated[Span, AfterValidator(_ordered)] = (20.0, 90.0)
    early_media: bool = False
    registers: bool = Field(
        default=False, alias="register", description="the trunk registers to the carrier with digest auth"
    )
    prefixes: list[PrefixOutcomes] = Field(default_factory=list)

    def shares_for(self, number: str) -> list[tuple[str, float]]:
        digits = number.lstrip("+")
        rules = [r for r in self.prefixes if digits.startswith(r.prefix.lstrip("+"))]
        rule = max(rules, key=lambda r: len(r.prefix)) if rules else self
        return rule.shares()


class TrunkSettings(Section):
    """One carrier connection. ``kind = "simulated"`` is the built-in carrier for trying the product."""

    kind: Literal["sip", "simulated"] = "sip"
    host: str | None = Field(default=None, validate_default=True)
    port: int = Field(default=5060, ge=1, le=65535)
    transport: Literal["udp", "tcp"] = "udp"
    registers: bool = Field(default=True, alias="register")
    username: str | None = None
    password: SecretStr | None = Field(default=None, validate_default=True)
    realm: str | None = None
    from_domain: str | None = None
    caller_id: Digits | None = None
    caller_id_in: Literal["auto", "from", "pai", "rpid", "display"] = Field(
        default="auto",
        description="where the presented number goes: from (the From user), pai (P-Asserted-Identity), "
        "rpid (Remote-Party-ID), display (From display name); auto: pai with an account, else from",
    )
    local_address: str | None = Field(
        default=None, description="our IP address for this trunk (default: the one that routes to it)"
    )
    max_channels: int = Field(default=30, ge=1, le=100_000)
    max_cps: float = Field(default=10.0, gt=0, le=10_000)
    allowed_prefixes: list[Digits] = Field(default_factory=list)
    blocked_prefixes: list[Digits] = Field(default_factory=list)
    priority: int = Field(default=100, ge=0, le=1_000_000)
    tariffs: list[Tariff] = Field(default_factory=list)
    simulate: SimulationProfile = Field(
        default_factory=SimulationProfile, description='how a kind = "simulated" trunk behaves'
    )

    @field_validator("host")
    @classmethod
    def _host_for_sip(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("kind", "sip") == "sip" and not value:
            raise ValueError('required for kind = "sip": the carrier\'s host name or IP address')
        return value

    @field_validator("password")
    @classmethod
    def _password_when_registering(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if info.data.get("kind", "sip") != "sip" or not info.data.get("registers", True):
            return value
        if value is None or not value.get_secret_value():
            raise ValueError("required when register = true; set it in the file or in the environment")
        return value


class Settings(BaseSettings):
    """The whole configuration. Build it with :func:`load_settings`, not directly."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        extra="forbid",
        frozen=True,
    )

    server: ServerSettings = Field(default_factory=ServerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    recordings: RecordingSettings = Field(default_factory=RecordingSettings)
    webrtc: WebRtcSettings = Field(default_factory=WebRtcSettings)
    sip: SipSettings = Field(default_factory=SipSettings)
    trunks: dict[TrunkName, TrunkSettings] = Field(default_factory=dict)
    channels: dict[ChannelName, ChannelSettings] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's content arrives as init kwargs; the environment wins over it.
        return (env_settings, init_settings)

    def masked(self) -> dict[str, Any]:
        """The effective configuration as plain data with every secret masked."""
        return self.model_dump(mode="json", by_alias=True)


def env_var_name(key: str) -> str:
    """The environment variable that overrides a dotted config key."""
    return ENV_PREFIX + key.replace(".", ENV_NESTED_DELIMITER).upper()


def load_settings(path: Path | str = DEFAULT_CONFIG_PATH) -> Settings:
    """Read, merge and validate the configuration.

    Raises :class:`ConfigError` listing every problem; never lets a pydantic or TOML error escape.
    """
    path = Path(path)
    source = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            [ConfigProblem(source, "(file)", "not found; pass --config FILE or set DIALER_CONFIG")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(source, "(file)", f"cannot be read: {exc}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigProblem(source, "(syntax)", f"not valid TOML: {exc}")]) from None
    try:
        settings = Settings(**raw)
    except ValidationError as exc:
        raise ConfigError([_problem(source, err) for err in exc.errors()]) from None
    db_path = settings.database.path
    if not db_path.is_absolute():
        db_path = (path.parent / db_path).resolve()
        settings = settings.model_copy(
            update={"database": settings.database.model_copy(update={"path": db_path})}
        )
    recordings = settings.recordings.directory
    if not recordings.is_absolute():
        recordings = (path.parent / recordings).resolve()
        settings = settings.model_copy(
            update={"recordings": settings.recordings.model_copy(update={"directory": recordings})}
        )
    return settings


_SECRET_WORDS = ("password", "secret", "token", "url", "apikey")


def _problem(source: str, err: Any) -> ConfigProblem:
    loc = tuple(part for part in err["loc"] if part != "[key]")
    if len(loc) >= 3 and loc[0] == "channels" and loc[2] in CHANNEL_KINDS:
        loc = loc[:2] + loc[3:]  # the discriminator's tag is not a key the person wrote
    key = ".".join(str(part) for part in loc) or "(top level)"
    env_name = env_var_name(key)
    if env_name in os.environ:
        source = f"environment {env_name}"
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        problem = "unknown key; allowed here: " + (", ".join(allowed) if allowed else "(none)")
    elif kind == "missing":
        problem = "required but missing"
    else:
        problem = err["msg"].removeprefix("Value error, ")
        if kind == "string_pattern_mismatch" and loc and loc[0] == "trunks" and len(loc) == 2:
            problem = "trunk name must be lower-case letters, digits, '-' or '_', starting with a letter"
        secret = any(word in key.lower() for word in _SECRET_WORDS)
        if not secret and not kind.startswith("value_error") and "input" in err:
            problem += f" (got {err['input']!r})"
    if key.endswith((".password", ".apikey", ".secret")):
        problem += f" [hint: {env_name}]"
    return ConfigProblem(source, key, problem)


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Names of the keys accepted at ``loc`` (walks the model tree; dict levels take any key)."""
    node: Any = Settings
    for part in loc:
        node = _section_of(node, part)
        if node is None:
            return []
    if isinstance(node, type) and issubclass(node, BaseModel):
        return sorted(node.model_fields)
    return []


def _section_of(node: Any, part: Any) -> Any:
    node = _unwrap_optional(node)
    if isinstance(node, type) and issubclass(node, BaseModel):
        field = node.model_fields.get(str(part))
        return None if field is None else field.annotation
    origin = typing.get_origin(node)
    if origin is dict:
        return typing.get_args(node)[1]
    if origin is list:
        return typing.get_args(node)[0]
    return None


def _unwrap_optional(node: Any) -> Any:
    if typing.get_origin(node) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(node) if arg is not type(None)]
        if len(args) == 1:
            return args[0]
    if typing.get_origin(node) is Annotated:
        return typing.get_args(node)[0]
    return node
