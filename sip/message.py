"""SIP messages: parsing bytes into requests and responses and back (RFC 3261 sec. 7, grammar sec. 25).

Theory of operation
-------------------
``parse_message(data)`` takes one datagram (or, with ``stream=True``, one framed message from a
stream, where Content-Length is mandatory) and returns a :class:`Request` or :class:`Response`, or
raises :class:`~sip.errors.ParseError` saying what is wrong, on which line, and which status a server
should answer. Nothing else escapes: the parser is fuzzed with that property.

Header names are case-insensitive and have compact forms (``v`` is Via, ``i`` Call-ID, ...); they are
stored under their canonical spelling. Folded lines (a line starting with a space or tab continues the
previous header) are unfolded. Headers that RFC 3261 defines as comma-separated lists (Via, Contact,
Route, ...) are split into one value per element, respecting quotes and angle brackets; others
(WWW-Authenticate, Authorization, Date, ...) keep their commas. Lines may end in CRLF or, tolerated,
a bare LF.

``bytes(message)`` serialises with CRLF line ends, canonical header names and a Content-Length that
always matches the body, so a parsed message round-trips to an equivalent one.

Typed accessors (``call_id``, ``cseq``, ``vias``, ``from_``, ``to``) parse the common headers on demand.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from sip.errors import ParseError, UriError
from sip.uri import NameAddr

COMPACT = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}
_CANONICAL = {
    name.lower(): name
    for name in (
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Alert-Info",
        "Allow",
        "Authentication-Info",
        "Authorization",
        "Call-ID",
        "Call-Info",
        "Contact",
        "Content-Disposition",
        "Content-Encoding",
        "Content-Language",
        "Content-Length",
        "Content-Type",
        "CSeq",
        "Date",
        "Error-Info",
        "Expires",
        "From",
        "In-Reply-To",
        "Max-Forwards",
        "MIME-Version",
        "Min-Expires",
        "Organization",
        "Priority",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Require",
        "Record-Route",
        "Reply-To",
        "Require",
        "Retry-After",
        "Route",
        "Server",
        "Subject",
        "Supported",
        "Timestamp",
        "To",
        "Unsupported",
        "User-Agent",
        "Via",
        "Warning",
        "WWW-Authenticate",
        "RSeq",
        "RAck",
        "Session-Expires",
        "Min-SE",
        "Event",
        "Allow-Events",
        "Refer-To",
        "Referred-By",
        "Reason",
        "P-Asserted-Identity",
        "Privacy",
        "Path",
        "Service-Route",
        "Identity",
        "Identity-Info",
        "Accept-Contact",
        "Reject-Contact",
        "Request-Disposition",
    )
}
LIST_HEADERS = frozenset(
    name.lower()
    for name in (
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Allow",
        "Allow-Events",
        "Contact",
        "Content-Encoding",
        "Content-Language",
        "In-Reply-To",
        "Path",
        "Proxy-Require",
        "Record-Route",
        "Require",
        "Route",
        "Service-Route",
        "Supported",
        "Unsupported",
        "Via",
        "P-Asserted-Identity",
    )
)
_TOKEN = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")
_VERSION = re.compile(r"^SIP/(\d+)\.(\d+)$", re.IGNORECASE)
MAX_MESSAGE_BYTES = 65_535
_WS = " \t"  # SIP's whitespace; str.strip() would also eat U+0085 and friends inside UTF-8 values


def canonical_name(name: str) -> str:
    """The canonical spelling of a header name (compact forms expanded)."""
    lower = name.lower()
    if lower in COMPACT:
        return COMPACT[lower]
    return _CANONICAL.get(lower) or "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


class Headers:
    """An ordered multi-map of header values with case-insensitive, compact-aware names."""

    __slots__ = ("_items",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, items: list[tuple[str, str]] | None = None) -> None:
        self._items: list[tuple[str, str]] = []
        for name, value in items or []:
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        self._items.append((canonical_name(name), value))

    def get(self, name: str, default: str | None = None) -> str | None:
        key = canonical_name(name)
        return next((v for n, v in self._items if n == key), default)

    def get_all(self, name: str) -> list[str]:
        key = canonical_name(name)
        return [v for n, v in self._items if n == key]

    def set(self, name: str, value: str) -> None:
        """Replace every value of ``name`` by one value, kept where the first one was."""
        key = canonical_name(name)
        index = next((i for i, (n, _) in enumerate(self._items) if n == key), len(self._items))
        self._items = [(n, v) for n, v in self._items if n != key]
        self._items.insert(min(index, len(self._items)), (key, value))

    def remove(self, name: str) -> None:
        key = canonical_name(name)
        self._items = [(n, v) for n, v in self._items if n != key]

    def prepend(self, name: str, value: str) -> None:
        """Insert a value before the first of its name (how a proxy or UA adds a Via)."""
        key = canonical_name(name)
        index = next((i for i, (n, _) in enumerate(self._items) if n == key), 0)
        self._items.insert(index, (key, value))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"

    def copy(self) -> Headers:
        return Headers(list(self._items))


@dataclass(frozen=True)
class Via:
    """One Via element: ``SIP/2.0/UDP host:port;branch=...;rport``."""

    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Via:
        match = re.match(r"^\s*SIP\s*/\s*2\.0\s*/\s*([A-Za-z]+)\s+([^;\s]+)\s*(;.*)?$", text, re.IGNORECASE)
        if not match:
            raise ParseError(f"malformed Via {text!r}")
        hostport = match.group(2)
        host, port = hostport, None
        if hostport.startswith("["):
            end = hostport.find("]")
            host, rest = hostport[: end + 1], hostport[end + 1 :]
            if rest:
                port = _port(rest.removeprefix(":"), text)
        elif ":" in hostport:
            host, port_text = hostport.rsplit(":", 1)
            port = _port(port_text, text)
        params: dict[str, str | None] = {}
        for part in (match.group(3) or "").split(";")[1:]:
            name, eq, value = part.strip(_WS).partition("=")
            if not name:
                raise ParseError(f"empty Via parameter in {text!r}")
            params[name.lower()] = value.strip(_WS) if eq else None
        return cls(match.group(1).upper(), host.lower(), port, params)

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        params = "".join(f";{k}" if v is None else f";{k}={v}" for k, v in self.params.items())
        return f"SIP/2.0/{self.transport} {self.host}{port}{params}"

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ParseError(f"bad port in {whole!r}")
    return int(text)


@dataclass(frozen=True)
class CSeq:
    number: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        parts = text.split()
        if len(parts) != 2 or not parts[0].isdigit() or not _TOKEN.match(parts[1]):
            raise ParseError(f"malformed CSeq {text!r}")
        number = int(parts[0])
        if number >= 2**31:
            raise ParseError(f"CSeq number {number} exceeds 2**31 - 1")
        return cls(number, parts[1])

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


class _Message:
    headers: Headers
    body: bytes

    @property
    def call_id(self) -> str:
        return self._required("Call-ID")

    @property
    def cseq(self) -> CSeq:
        return CSeq.parse(self._required("CSeq"))

    @property
    def vias(self) -> list[Via]:
        return [Via.parse(v) for v in self.headers.get_all("Via")]

    @property
    def from_(self) -> NameAddr:
        return _address(self._required("From"), "From")

    @property
    def to(self) -> NameAddr:
        return _address(self._required("To"), "To")

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise ParseError(f"missing {name} header")
        return value

    def _serialize(self, start_line: str) -> bytes:
        lines = [start_line]
        for name, value in self.headers:
            if name != "Content-Length":
                lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


def _address(value: str, name: str) -> NameAddr:
    try:
        return NameAddr.parse(value)
    except UriError as exc:
        raise ParseError(f"malformed {name}: {exc.reason}") from None


@dataclass(eq=True)
class Request(_Message):
    method: str
    uri: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def __bytes__(self) -> bytes:
        return self._serialize(f"{self.method} {self.uri} SIP/2.0")


@dataclass(eq=True)
class Response(_Message):
    status: int
    reason: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def __bytes__(self) -> bytes:
        return self._serialize(f"SIP/2.0 {self.status} {self.reason}")


Message = Request | Response

_MANDATORY = ("To", "From", "CSeq", "Call-ID", "Via")


def parse_message(data: bytes, *, stream: bool = False) -> Message:
    """Parse one SIP message (see the module docstring). Raises only :class:`ParseError`."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise ParseError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}", status=513)
    # RFC 3261 sec. 7.5: CRLFs before the start line (keep-alives) are ignored
    head, body, separator_found = _split_head(data.lstrip(b"\r\n"))
    if not separator_found:
        raise ParseError("no empty line after the headers")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"header bytes are not UTF-8 at offset {exc.start}") from None
    lines = text.split("\n")
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    if not lines[0]:
        raise ParseError("empty message")
    message = _start_line(lines[0])
    line_number = 1
    for name, value, line_number in _header_fields(lines[1:]):
        if canonical_name(name).lower() in LIST_HEADERS and "," in value:
            for element in _split_list(value, line_number):
                message.headers.add(name, element)
        else:
            message.headers.add(name, value)
    message.body = _body(message.headers, body, stream)
    _check_mandatory(message)
    return message


def _split_head(data: bytes) -> tuple[bytes, bytes, bool]:
    crlf = data.find(b"\r\n\r\n")
    lf = data.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return data[:crlf], data[crlf + 4 :], True
    if lf >= 0:
        return data[:lf], data[lf + 2 :], True
    return data, b"", False


def _start_line(line: str) -> Message:
    if line.upper().startswith("SIP/"):
        parts = line.split(" ", 2)
        if len(parts) < 2:
            raise ParseError(f"malformed status line {line!r}", line=1)
        _version(parts[0])
        code = parts[1]
        if len(code) != 3 or not code.isdigit() or not 100 <= int(code) <= 699:
            raise ParseError(f"bad status code {code!r}", line=1)
        return Response(int(code), parts[2] if len(parts) == 3 else "")
    parts = line.rstrip(_WS).split(" ")
    if len(parts) != 3 or not all(parts):
        raise ParseError(
            f"malformed request line {line!r}: expected METHOD SP Request-URI SP SIP/2.0", line=1
        )
    method, uri, version = parts
    if not _TOKEN.match(method):
        raise ParseError(f"bad method {method!r}", line=1)
    if ":" not in uri:
        raise ParseError(f"Request-URI {uri!r} has no scheme", line=1)
    _version(version)
    return Request(method, uri)


def _version(text: str) -> None:
    match = _VERSION.match(text)
    if not match:
        raise ParseError(f"bad SIP version {text!r}", line=1)
    if (match.group(1), match.group(2)) != ("2", "0"):
        raise ParseError(f"SIP version {text} not supported", line=1, status=505)


def _header_fields(lines: list[str]) -> Iterator[tuple[str, str, int]]:
    current: tuple[str, list[str], int] | None = None
    for offset, line in enumerate(lines):
        number = offset + 2
        if line[:1] in (" ", "\t"):
            if current is None:
                raise ParseError("continuation line before any header", line=number)
            current[1].append(line.strip(_WS))
            continue
        if current is not None:
            yield current[0], " ".join(part for part in current[1] if part), current[2]
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        if not colon:
            raise ParseError(f"header line without a colon: {line[:60]!r}", line=number)
        if not _TOKEN.match(name):
            raise ParseError(f"bad header name {name!r}", line=number)
        current = (name, [value.strip(_WS)], number)
    if current is not None:
        yield current[0], " ".join(part for part in current[1] if part), current[2]


def _split_list(value: str, line: int) -> list[str]:
    """Split a comma-separated header value, respecting quoted strings and <...>."""
    parts: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    start = 0
    for i, ch in enumerate(value):
        if escaped:
            escaped = False
        elif quoted:
            if ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(depth - 1, 0)
        elif ch == "," and depth == 0:
            parts.append(value[start:i].strip(_WS))
            start = i + 1
    if quoted:
        raise ParseError("unclosed quote in header value", line=line)
    parts.append(value[start:].strip(_WS))
    if any(not p for p in parts):
        raise ParseError("empty element in a comma-separated header", line=line)
    return parts


def _body(headers: Headers, rest: bytes, stream: bool) -> bytes:
    lengths = headers.get_all("Content-Length")
    if not lengths:
        if stream:
            raise ParseError("Content-Length is required on stream transports")
        return rest
    if len(set(lengths)) > 1:
        raise ParseError(f"conflicting Content-Length values {lengths}")
    text = lengths[0].strip(_WS)
    if not text.isdigit():
        raise ParseError(f"bad Content-Length {text!r}")
    length = int(text)
    if length > len(rest):
        raise ParseError(f"body has {len(rest)} bytes, Content-Length says {length}")
    headers.remove("Content-Length")
    return rest[:length]  # on datagrams, bytes past Content-Length are discarded (sec. 18.3)


def _check_mandatory(message: Message) -> None:
    for name in _MANDATORY:
        if not message.headers.get(name):
            raise ParseError(f"missing mandatory {name} header")
    cseq = message.cseq
    if isinstance(message, Request) and cseq.method != message.method:
        raise ParseError(f"CSeq method {cseq.method} does not match request method {message.method}")
    message.vias  # noqa: B018  (parses every Via: a malformed one is an error now, not later)
    message.from_  # noqa: B018
    message.to  # noqa: B018
