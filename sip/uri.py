"""SIP URIs and name-addr values (RFC 3261 sec. 19.1 and 20.10, grammar in sec. 25.1).

``SipUri.parse("sip:alice:pw@atlanta.com:5060;transport=udp?subject=x")`` and ``str(uri)`` round-trip.
``NameAddr`` is the value of From, To, Contact, Route and Record-Route: an optional display name, a URI
in angle brackets (or a bare URI) and header parameters such as ``tag``. Parameters after a bare URI
belong to the header, not the URI (RFC 3261 sec. 20.10).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import unquote

from sip.errors import UriError

_WS = " \t"  # SIP whitespace only; str.strip() would also eat U+0085 inside UTF-8 text

_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-.]+)(?::(\d{1,5}))?$")
_PARAM_NAME = re.compile(rf"^{_TOKEN}$|^[A-Za-z0-9\-.!%*_+`'~\[\]/:&+$]+$")


def _split_params(text: str) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    if not text:
        return params
    for raw in text.split(";"):
        part = raw.strip(_WS)
        if not part:
            raise UriError("empty parameter")
        name, eq, value = part.partition("=")
        name = name.strip(_WS)
        if not _PARAM_NAME.match(name):
            raise UriError(f"bad parameter name {name!r}")
        params[name.lower()] = value.strip(_WS) if eq else None
    return params


def _format_params(params: dict[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


@dataclass(frozen=True)
class SipUri:
    """A ``sip:`` or ``sips:`` URI. Parameter names are kept lower-case; values as given."""

    host: str
    user: str | None = None
    password: str | None = None
    port: int | None = None
    scheme: str = "sip"
    params: dict[str, str | None] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> SipUri:
        text = text.strip(_WS)
        scheme, colon, rest = text.partition(":")
        scheme = scheme.lower()
        if not colon or scheme not in ("sip", "sips"):
            raise UriError(f"not a sip: or sips: URI: {text!r}")
        rest, _, header_text = rest.partition("?")
        userinfo, at, hostpart = rest.rpartition("@")
        if not at:
            hostpart = rest
        user = password = None
        if at:
            user, _, pw = userinfo.partition(":")
            if not user:
                raise UriError(f"empty user part in {text!r}")
            user = unquote(user)
            password = unquote(pw) if pw else None
        hostport, _, param_text = hostpart.partition(";")
        match = _HOST.match(hostport)
        if not match:
            raise UriError(f"bad host or port {hostport!r} in {text!r}")
        port = int(match.group(2)) if match.group(2) else None
        if port is not None and not 0 < port < 65536:
            raise UriError(f"port {port} out of range in {text!r}")
        headers: dict[str, str] = {}
        if header_text:
            for pair in header_text.split("&"):
                name, eq, value = pair.partition("=")
                if not name or not eq:
                    raise UriError(f"bad URI header {pair!r} in {text!r}")
                headers[unquote(name)] = unquote(value)
        return cls(
            host=match.group(1).lower(),
            user=user,
            password=password,
            port=port,
            scheme=scheme,
            params=_split_params(param_text),
            headers=headers,
        )

    def __str__(self) -> str:
        out = f"{self.scheme}:"
        if self.user is not None:
            out += self.user + (f":{self.password}" if self.password else "") + "@"
        out += self.host + (f":{self.port}" if self.port is not None else "")
        out += _format_params(self.params)
        if self.headers:
            out += "?" + "&".join(f"{k}={v}" for k, v in self.headers.items())
        return out

    def with_params(self, **params: str | None) -> SipUri:
        return replace(self, params={**self.params, **params})

    @property
    def transport(self) -> str:
        """The transport the URI asks for (``udp`` unless a ``transport`` parameter says else)."""
        return (self.params.get("transport") or "udp").lower()


@dataclass(frozen=True)
class NameAddr:
    """``"Display" <uri>;param=value``: the value of From, To, Contact, Route, Record-Route."""

    uri: str
    display: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        text = text.strip(_WS)
        if not text:
            raise UriError("empty address")
        display: str | None = None
        if text.startswith('"'):
            end = _closing_quote(text)
            display = text[1:end].replace('\\"', '"').replace("\\\\", "\\")
            text = text[end + 1 :].lstrip(_WS)
            if not text.startswith("<"):
                raise UriError("display name must be followed by <uri>")
        elif "<" in text:
            display = text[: text.index("<")].strip(_WS) or None
            text = text[text.index("<") :]
        if text.startswith("<"):
            close = text.find(">")
            if close < 0:
                raise UriError("unclosed < in address")
            uri = text[1:close].strip(_WS)
            rest = text[close + 1 :].strip(_WS)
        else:
            uri, _, rest = text.partition(";")
            rest = f";{rest}" if rest else ""
        if not uri or ":" not in uri:
            raise UriError(f"address has no URI: {text!r}")
        if rest and not rest.startswith(";"):
            raise UriError(f"unexpected text after address: {rest!r}")
        return cls(uri=uri, display=display, params=_split_params(rest[1:]))

    def __str__(self) -> str:
        shown = ""
        if self.display:
            escaped = self.display.replace("\\", "\\\\").replace('"', '\\"')
            shown = f'"{escaped}" '
        return f"{shown}<{self.uri}>{_format_params(self.params)}"

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def with_tag(self, tag: str) -> NameAddr:
        return replace(self, params={**self.params, "tag": tag})

    @property
    def sip_uri(self) -> SipUri:
        """The URI parsed as a SIP URI (raises :class:`UriError` for other schemes)."""
        return SipUri.parse(self.uri)


def _closing_quote(text: str) -> int:
    i = 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i
        i += 1
    raise UriError("unclosed quote in display name")
