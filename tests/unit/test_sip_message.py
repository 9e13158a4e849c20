"""SIP message parsing and serialising: a golden set of valid and invalid messages in the spirit of
RFC 4475, hypothesis round trips, and fuzzing in which only our ParseError may escape."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sip.errors import ParseError
from sip.message import Headers, Request, Response, Via, parse_message

GOLDEN = Path(__file__).parent / "golden" / "sip"
VALID = sorted(GOLDEN.glob("valid_*.sip"))
INVALID = {
    "invalid_truncated.sip": ("no empty line after the headers", 400),
    "invalid_version.sip": ("SIP version SIP/7.0 not supported", 505),
    "invalid_no_call_id.sip": ("missing mandatory Call-ID header", 400),
    "invalid_cseq_method.sip": ("CSeq method INVITE does not match request method BYE", 400),
    "invalid_long_content_length.sip": ("Content-Length says 9999", 400),
    "invalid_two_content_lengths.sip": ("conflicting Content-Length", 400),
    "invalid_content_length_word.sip": ("bad Content-Length 'four'", 400),
    "invalid_header_without_colon.sip": ("header line without a colon", 400),
    "invalid_status_code.sip": ("bad status code '1000'", 400),
    "invalid_request_line_spaces.sip": ("malformed request line", 400),
    "invalid_unclosed_quote.sip": ("unclosed quote", 400),
    "invalid_via_port.sip": ("bad port", 400),
    "invalid_from_unclosed.sip": ("malformed From", 400),
    "invalid_request_uri_no_scheme.sip": ("has no scheme", 400),
    "invalid_cseq_overflow.sip": ("exceeds 2**31", 400),
    "invalid_non_utf8.sip": ("not UTF-8", 400),
}


def test_every_golden_file_is_covered() -> None:
    assert {p.name for p in GOLDEN.glob("invalid_*.sip")} == set(INVALID)
    assert len(VALID) >= 6


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_messages_round_trip(path: Path) -> None:
    message = parse_message(path.read_bytes())
    again = parse_message(bytes(message))
    assert again == message
    assert bytes(again) == bytes(message)


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_messages_are_rejected_precisely(name: str) -> None:
    expected, status = INVALID[name]
    with pytest.raises(ParseError) as caught:
        parse_message((GOLDEN / name).read_bytes())
    assert expected in str(caught.value)
    assert caught.value.status == status


def test_compact_folded_and_listed_headers() -> None:
    message = parse_message((GOLDEN / "valid_compact_folded.sip").read_bytes())
    assert isinstance(message, Request)
    assert message.method == "INVITE" and message.call_id == "a84b4c76e66710@pc33.atlanta.example.com"
    vias = message.vias
    assert [v.host for v in vias] == ["pc33.atlanta.example.com", "192.0.2.4"]
    assert vias[1].port == 5070 and vias[1].params["rport"] is None and vias[0].branch == "z9hG4bK776asdhds"
    assert message.headers.get("Subject") == "I know you're there, pick up the phone and talk to me!"
    assert message.headers.get("max-forwards") == "70"
    assert len(message.headers.get_all("Contact")) == 2
    assert message.from_.display == 'Alice "A"' and message.from_.tag == "1928301774"
    assert message.cseq.number == 314159
    assert message.body == b"v=0\r\no=x 1\r\n"


def test_authorization_commas_are_not_split() -> None:
    message = parse_message((GOLDEN / "valid_register_digest_commas.sip").read_bytes())
    assert len(message.headers.get_all("Authorization")) == 1
    assert 'nonce="Z1x,y"' in (message.headers.get("Authorization") or "")


def test_datagram_bytes_past_content_length_are_dropped() -> None:
    message = parse_message((GOLDEN / "valid_sdp_extra_datagram_bytes.sip").read_bytes())
    assert isinstance(message, Response) and message.body == b"v=0\r\n"


def test_reason_phrase_is_utf8_and_length_is_optional_on_datagrams() -> None:
    message = parse_message((GOLDEN / "valid_utf8_reason_no_length.sip").read_bytes())
    assert isinstance(message, Response) and message.status == 486 and message.reason == "Занято здесь"
    with pytest.raises(ParseError, match="required on stream transports"):
        parse_message((GOLDEN / "valid_utf8_reason_no_length.sip").read_bytes(), stream=True)


def test_ipv6_via_and_bare_lf() -> None:
    message = parse_message((GOLDEN / "valid_options_lf_only_leading_blank.sip").read_bytes())
    (via,) = message.vias
    assert via.host == "[2001:db8::10]" and via.port == 5061 and via.transport == "TCP"


def test_headers_prepend_set_remove() -> None:
    headers = Headers([("Via", "SIP/2.0/UDP a;branch=z9hG4bK1"), ("To", "<sip:x@y>")])
    headers.prepend("v", "SIP/2.0/UDP b;branch=z9hG4bK2")
    assert headers.get_all("VIA")[0].endswith("z9hG4bK2")
    headers.set("to", "<sip:z@y>")
    assert headers.get_all("To") == ["<sip:z@y>"]
    headers.remove("Via")
    assert "Via" not in headers and len(headers) == 1
    assert str(Via.parse("SIP/2.0/udp Host.Example:5060;Branch=z9hG4bKa;rport")) == (
        "SIP/2.0/UDP host.example:5060;branch=z9hG4bKa;rport"
    )


tokens = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=12)
values = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x44F, exclude_characters=',;"<>\\'),
    min_size=1,
    max_size=30,
)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    method = draw(st.sampled_from(["INVITE", "BYE", "OPTIONS", "REGISTER", "CANCEL", "ACK", "INFO"]))
    headers = Headers(
        [
            ("Via", f"SIP/2.0/UDP {draw(tokens)}:{draw(st.integers(1, 65535))};branch=z9hG4bK{draw(tokens)}"),
            ("Max-Forwards", str(draw(st.integers(0, 255)))),
            ("From", f"<sip:{draw(tokens)}@{draw(tokens)}>;tag={draw(tokens)}"),
            ("To", f"<sip:{draw(tokens)}@{draw(tokens)}>"),
            ("Call-ID", draw(values)),
            ("CSeq", f"{draw(st.integers(0, 2**31 - 1))} {method}"),
        ]
    )
    for _ in range(draw(st.integers(0, 4))):
        headers.add(f"X-{draw(tokens)}", draw(values))
    body = draw(st.binary(max_size=300))
    return Request(method, f"sip:{draw(tokens)}@{draw(tokens)}", headers, body)


@given(requests())
def test_round_trip_of_generated_requests(request: Request) -> None:
    assert parse_message(bytes(request)) == request
    assert parse_message(bytes(request), stream=True) == request


@settings(max_examples=300)
@given(st.binary(max_size=600))
def test_fuzz_only_parse_errors_escape(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        parse_message(data)


@settings(max_examples=400)
@given(st.sampled_from(VALID), st.data())
def test_fuzz_mutated_golden_messages(path: Path, data: st.DataObject) -> None:
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        position = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "delete", "insert"]))
        if action == "flip":
            raw[position] = data.draw(st.integers(0, 255))
        elif action == "delete":
            del raw[position]
        else:
            raw.insert(position, data.draw(st.sampled_from(b' \t\r\n:;,<>"\\=@')))
    with contextlib.suppress(ParseError):
        parse_message(bytes(raw))
