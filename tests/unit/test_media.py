"""Media core: RTP packets, G.711 bit-exact over every input, RFC 4733 events, the jitter buffer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sip.media import g711
from sip.media.dtmf import EventReceiver, TelephoneEvent, event_payloads, parse_event
from sip.media.jitter import JitterBuffer
from sip.media.rtp import RtpError, RtpPacket, is_rtcp, parse, seq_delta, serialize

# A PCMU packet as a softphone sends it (header of a real capture, 160 bytes of silence 0xff).
PCMU = bytes.fromhex("80001c2a0000a000deadbeef") + b"\xff" * 160
# Marker, payload type 101 (telephone-event), two CSRCs, a header extension, 4 bytes of padding.
RICH = bytes.fromhex("b2e5000100000320112233440000000100000002bede000110ff00000580000a00000004")
RTCP_SR = bytes.fromhex("80c80006deadbeef")


def test_captured_packets_round_trip() -> None:
    packet = parse(PCMU)
    assert (packet.payload_type, packet.sequence, packet.timestamp, packet.ssrc) == (
        0,
        0x1C2A,
        0xA000,
        0xDEADBEEF,
    )
    assert not packet.marker and len(packet.payload) == 160
    assert serialize(packet) == PCMU
    rich = parse(RICH)
    assert rich.marker and rich.payload_type == 101 and rich.csrc == (1, 2)
    assert rich.extension == (0xBEDE, bytes.fromhex("10ff0000"))
    assert rich.payload == bytes.fromhex("0580000a")  # padding removed
    assert parse(serialize(rich)) == rich
    assert is_rtcp(RTCP_SR) and not is_rtcp(PCMU) and not is_rtcp(RICH)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\x80\x00", "shorter than the 12-byte"),
        (bytes.fromhex("40001c2a0000a000deadbeef"), "version 1"),
        (bytes.fromhex("82001c2a0000a000deadbeef00000001"), "CSRC list"),
        (bytes.fromhex("90001c2a0000a000deadbeefbede0002"), "header extension"),
        (bytes.fromhex("a0001c2a0000a000deadbeef0102") + b"\x09", "padding"),
        (bytes.fromhex("a0001c2a0000a000deadbeef") + b"\x00", "padding"),
    ],
)
def test_malformed_packets_are_refused_with_the_reason(data: bytes, words: str) -> None:
    with pytest.raises(RtpError, match=words):
        parse(data)


@given(
    pt=st.integers(0, 127),
    seq=st.integers(0, 0xFFFF),
    ts=st.integers(0, 0xFFFFFFFF),
    ssrc=st.integers(0, 0xFFFFFFFF),
    marker=st.booleans(),
    csrc=st.lists(st.integers(0, 0xFFFFFFFF), max_size=15),
    payload=st.binary(max_size=400),
)
def test_any_packet_round_trips(
    *, pt: int, seq: int, ts: int, ssrc: int, marker: bool, csrc: list[int], payload: bytes
) -> None:
    packet = RtpPacket(pt, seq, ts, ssrc, payload, marker, tuple(csrc))
    assert parse(serialize(packet)) == packet


def test_sequence_arithmetic_wraps() -> None:
    assert seq_delta(0, 65535) == 1
    assert seq_delta(65535, 0) == -1
    assert seq_delta(100, 90) == 10


def _ref_ulaw(sample: int) -> int:
    """Scalar transliteration of the ITU/Sun reference linear2ulaw (14-bit input)."""
    value = sample >> 2
    mask = 0xFF
    if value < 0:
        value, mask = -value, 0x7F
    value = min(value, 8159) + 0x21
    for seg, end in enumerate((0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)):
        if value <= end:
            return ((seg << 4) | ((value >> (seg + 1)) & 0xF)) ^ mask
    return 0x7F ^ mask


def _ref_alaw(sample: int) -> int:
    """Scalar transliteration of the reference linear2alaw (13-bit input)."""
    value = sample >> 3
    mask = 0xD5
    if value < 0:
        value, mask = -value - 1, 0x55
    for seg, end in enumerate((0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)):
        if value <= end:
            shift = 1 if seg < 2 else seg
            return ((seg << 4) | ((value >> shift) & 0xF)) ^ mask
    return 0x7F ^ mask


def _ref_ulaw_decode(code: int) -> int:
    u = ~code & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return 0x84 - t if u & 0x80 else t - 0x84


def _ref_alaw_decode(code: int) -> int:
    a = code ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = t + 8 if seg == 0 else (t + 0x108 if seg == 1 else (t + 0x108) << (seg - 1))
    return t if a & 0x80 else -t


ALL_PCM = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = np.arange(256, dtype=np.uint8)


def test_g711_encoders_are_bit_exact_over_all_65536_inputs() -> None:
    assert g711.ulaw_encode(ALL_PCM).tolist() == [_ref_ulaw(int(x)) for x in ALL_PCM]
    assert g711.alaw_encode(ALL_PCM).tolist() == [_ref_alaw(int(x)) for x in ALL_PCM]


def test_g711_decoders_are_bit_exact_over_all_256_codes() -> None:
    assert g711.ulaw_decode(ALL_CODES).tolist() == [_ref_ulaw_decode(int(c)) for c in ALL_CODES]
    assert g711.alaw_decode(ALL_CODES).tolist() == [_ref_alaw_decode(int(c)) for c in ALL_CODES]
    assert g711.ulaw_decode(bytes(ALL_CODES)).tolist() == g711.ulaw_decode(ALL_CODES).tolist()


def test_g711_round_trip_error_stays_within_the_segment_step_and_transcoding_keeps_the_signal() -> None:
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)).astype(np.int16)
    for encode, decode in ((g711.ulaw_encode, g711.ulaw_decode), (g711.alaw_encode, g711.alaw_decode)):
        error = np.abs(decode(encode(tone)).astype(int) - tone)
        assert error.max() <= np.abs(tone).max() / 16 + 16
    ulaw = g711.ulaw_encode(tone).tobytes()
    via_alaw = g711.alaw_decode(np.frombuffer(g711.transcode(ulaw, g711.ULAW_TO_ALAW), dtype=np.uint8))
    assert np.corrcoef(via_alaw, tone)[0, 1] > 0.999


def test_a_digit_is_sent_as_rfc4733_prescribes() -> None:
    packets = event_payloads("5", duration_ms=100)
    events = [parse_event(p) for p, _ in packets]
    assert [e.duration for e in events] == [160, 320, 480, 640, 800, 800, 800]
    assert [e.end for e in events] == [False] * 4 + [True] * 3
    assert [m for _, m in packets] == [True] + [False] * 6
    assert {e.digit for e in events} == {"5"}
    assert parse_event(bytes(TelephoneEvent(11, True, 7, 1234))).digit == "#"
    with pytest.raises(ValueError, match="not a DTMF digit"):
        event_payloads("x")


def test_receiver_reports_each_digit_once_despite_retransmissions() -> None:
    receiver = EventReceiver()
    heard = []
    for start, digit in ((1000, "1"), (3000, "2"), (5000, "2")):
        for payload, _ in event_payloads(digit):
            heard.append(receiver.feed(start, payload))
    assert [d for d in heard if d] == ["1", "2", "2"]
    with pytest.raises(RtpError):
        receiver.feed(7000, b"\x01")


def pkt(seq: int, ssrc: int = 1) -> RtpPacket:
    return RtpPacket(0, seq & 0xFFFF, seq * 160, ssrc, bytes([seq & 0xFF]))


def drain(buffer: JitterBuffer, ticks: int) -> list[int | None]:
    out = []
    for _ in range(ticks):
        packet = buffer.pop()
        out.append(None if packet is None else packet.sequence)
    return out


def test_jitter_buffer_reorders_conceals_loss_and_drops_late_and_duplicate_packets() -> None:
    buffer = JitterBuffer(depth=3, capacity=10)
    for seq in (65534, 0, 65535, 0, 2):  # reordered across the wrap, a duplicate, 1 lost
        buffer.push(pkt(seq))
    assert drain(buffer, 4) == [65534, 65535, 0, None]
    buffer.push(pkt(1))  # arrives after its slot was declared lost
    assert drain(buffer, 2) == [2, None]
    stats = buffer.stats
    assert (stats.played, stats.lost, stats.late, stats.duplicate) == (4, 1, 1, 1)


def test_jitter_buffer_waits_for_depth_and_restarts_on_a_new_ssrc() -> None:
    buffer = JitterBuffer(depth=2, capacity=4)
    buffer.push(pkt(10))
    assert buffer.pop() is None  # filling
    buffer.push(pkt(11))
    assert drain(buffer, 2) == [10, 11]
    for seq in range(500, 506):
        buffer.push(pkt(seq, ssrc=2))
    assert len(buffer) == 4 and buffer.stats.overflow == 2
    assert drain(buffer, 5) == [502, 503, 504, 505, None]
