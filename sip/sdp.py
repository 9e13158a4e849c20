"""SDP for audio calls: parse, serialise, offer and answer (RFC 8866, RFC 3264 offer/answer).

The dialer speaks G.711 (PCMU payload type 0, PCMA 8) and RFC 4733 telephone-event for DTMF, 8 kHz,
20 ms packets. :func:`make_offer` builds our offer; :func:`make_answer` answers a peer's offer with
the first of its codecs we support (the offerer's preference wins, RFC 3264 sec. 6.1) and its
telephone-event payload type if it offered one; :func:`negotiate` reads the agreed parameters from
an answer. No common codec raises :class:`SdpError`, which a user agent answers with 488.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sip.errors import ParseError

STATIC_CODECS = {0: "PCMU", 8: "PCMA"}
SUPPORTED = ("PCMU", "PCMA")
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_OPPOSITE = {"sendonly": "recvonly", "recvonly": "sendonly", "sendrecv": "sendrecv", "inactive": "inactive"}


class SdpError(ParseError):
    """The SDP is malformed or has nothing we can use (answer 488 Not Acceptable Here)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, status=488)


@dataclass
class Media:
    kind: str
    port: int
    proto: str
    formats: list[int]
    connection: str | None = None
    attributes: list[tuple[str, str | None]] = field(default_factory=list)

    def attribute(self, name: str) -> list[str | None]:
        return [v for n, v in self.attributes if n == name]

    def codec(self, payload_type: int) -> tuple[str, int] | None:
        """(encoding name, clock rate) of a payload type, from a=rtpmap or the static table."""
        for value in self.attribute("rtpmap"):
            pt, _, rest = (value or "").partition(" ")
            if pt == str(payload_type):
                name, _, rate = rest.partition("/")
                return name, int(rate.split("/")[0]) if rate.split("/")[0].isdigit() else 8000
        if payload_type in STATIC_CODECS:
            return STATIC_CODECS[payload_type], 8000
        return None

    @property
    def direction(self) -> str:
        return next((n for n, _ in self.attributes if n in DIRECTIONS), "sendrecv")


@dataclass
class SessionDescription:
    origin: str
    connection: str | None
    media: list[Media]
    session_name: str = "-"

    @classmethod
    def parse(cls, data: bytes | str) -> SessionDescription:
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        origin = None
        connection = None
        name = "-"
        media: list[Media] = []
        for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
            line = raw.rstrip("\r")
            if not line:
                continue
            if len(line) < 2 or line[1] != "=":
                raise SdpError(f"SDP line {number} is not type=value: {line[:40]!r}")
            kind, value = line[0], line[2:]
            if kind == "o":
                origin = value
            elif kind == "s":
                name = value
            elif kind == "c":
                address = _connection_address(value, number)
                if media:
                    media[-1].connection = address
                else:
                    connection = address
            elif kind == "m":
                media.append(_media_line(value, number))
            elif kind == "a" and media:
                attr, colon, rest = value.partition(":")
                media[-1].attributes.append((attr, rest if colon else None))
        if origin is None:
            raise SdpError("SDP has no o= line")
        if not media:
            raise SdpError("SDP has no m= line")
        return cls(origin=origin, connection=connection, media=media, session_name=name)

    def __str__(self) -> str:
        address = self.connection or (self.media[0].connection if self.media else None) or "0.0.0.0"
        lines = ["v=0", f"o={self.origin}", f"s={self.session_name}", f"c=IN IP4 {address}", "t=0 0"]
        for m in self.media:
            lines.append(f"m={m.kind} {m.port} {m.proto} {' '.join(str(f) for f in m.formats)}")
            if m.connection and m.connection != address:
                lines.append(f"c=IN IP4 {m.connection}")
            lines += [f"a={n}" if v is None else f"a={n}:{v}" for n, v in m.attributes]
        return "\r\n".join(lines) + "\r\n"

    def __bytes__(self) -> bytes:
        return str(self).encode()

    def audio(self) -> Media:
        for m in self.media:
            if m.kind == "audio" and m.port != 0:
                return m
        raise SdpError("SDP has no active audio stream")


def _connection_address(value: str, number: int) -> str:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpError(f"SDP line {number}: bad c= line {value!r}")
    return parts[2].split("/")[0]


def _media_line(value: str, number: int) -> Media:
    parts = value.split()
    if len(parts) < 4 or not parts[1].split("/")[0].isdigit():
        raise SdpError(f"SDP line {number}: bad m= line {value!r}")
    port = int(parts[1].split("/")[0])
    if port > 65535:
        raise SdpError(f"SDP line {number}: port {port} out of range")
    formats = []
    for fmt in parts[3:]:
        if not fmt.isdigit() or int(fmt) > 127:
            raise SdpError(f"SDP line {number}: bad payload type {fmt!r}")
        formats.append(int(fmt))
    return Media(kind=parts[0], port=port, proto=parts[2], formats=formats)


def _audio_media(port: int, formats: list[tuple[int, str]], event_pt: int | None, direction: str) -> Media:
    attributes: list[tuple[str, str | None]] = [("rtpmap", f"{pt} {name}/8000") for pt, name in formats]
    pts = [pt for pt, _ in formats]
    if event_pt is not None:
        pts.append(event_pt)
        attributes += [("rtpmap", f"{event_pt} telephone-event/8000"), ("fmtp", f"{event_pt} 0-16")]
    attributes += [("ptime", "20"), (direction, None)]
    return Media("audio", port, "RTP/AVP", pts, attributes=attributes)


def make_offer(
    address: str, port: int, *, session_id: int, version: int = 1, codecs: tuple[str, ...] = SUPPORTED
) -> SessionDescription:
    """Our offer: the given G.711 codecs in preference order and telephone-event 101."""
    table = {"PCMU": 0, "PCMA": 8}
    formats = [(table[c], c) for c in codecs]
    return SessionDescription(
        origin=f"dialer {session_id} {version} IN IP4 {address}",
        connection=address,
        media=[_audio_media(port, formats, 101, "sendrecv")],
    )


def make_answer(
    offer: SessionDescription,
    address: str,
    port: int,
    *,
    session_id: int,
    codecs: tuple[str, ...] = SUPPORTED,
) -> SessionDescription:
    """Answer ``offer``: its first audio codec we support, its telephone-event, the mirrored direction."""
    audio = offer.audio()
    chosen: tuple[int, str] | None = None
    event_pt: int | None = None
    for pt in audio.formats:
        codec = audio.codec(pt)
        if codec is None:
            continue
        name, rate = codec
        if chosen is None and name.upper() in codecs and rate == 8000:
            chosen = (pt, name.upper())
        elif name.lower() == "telephone-event" and rate == 8000 and event_pt is None:
            event_pt = pt
    if chosen is None:
        raise SdpError(f"no common audio codec: offered {audio.formats}, we support {', '.join(codecs)}")
    return SessionDescription(
        origin=f"dialer {session_id} 1 IN IP4 {address}",
        connection=address,
        media=[_audio_media(port, [chosen], event_pt, _OPPOSITE[audio.direction])],
    )


@dataclass(frozen=True)
class MediaParameters:
    """What both sides agreed: where to send RTP and how to encode it."""

    address: str
    port: int
    payload_type: int
    codec: str
    telephone_event: int | None
    direction: str


def negotiate(answer: SessionDescription) -> MediaParameters:
    """Read the agreed parameters from the peer's answer (or from an offer we answered)."""
    audio = answer.audio()
    address = audio.connection or answer.connection
    if address is None:
        raise SdpError("SDP has no connection address")
    for pt in audio.formats:
        codec = audio.codec(pt)
        if codec is not None and codec[0].upper() in SUPPORTED:
            event = next(
                (p for p in audio.formats if (audio.codec(p) or ("", 0))[0].lower() == "telephone-event"),
                None,
            )
            return MediaParameters(address, audio.port, pt, codec[0].upper(), event, audio.direction)
    raise SdpError(f"answer has no codec we support: {audio.formats}")
