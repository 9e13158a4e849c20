"""SDP offer/answer for G.711 and telephone-event."""

from __future__ import annotations

import pytest

from sip.sdp import SdpError, SessionDescription, make_answer, make_offer, negotiate

CARRIER_OFFER = (
    "v=0\r\n"
    "o=- 3886 3886 IN IP4 198.51.100.10\r\n"
    "s=carrier\r\n"
    "c=IN IP4 198.51.100.10\r\n"
    "t=0 0\r\n"
    "m=audio 40000 RTP/AVP 18 8 0 96\r\n"
    "a=rtpmap:18 G729/8000\r\n"
    "a=rtpmap:96 telephone-event/8000\r\n"
    "a=fmtp:96 0-15\r\n"
    "a=sendrecv\r\n"
)


def test_answer_takes_the_offerers_first_common_codec_and_its_dtmf_type() -> None:
    answer = make_answer(SessionDescription.parse(CARRIER_OFFER), "127.0.0.1", 30000, session_id=7)
    params = negotiate(answer)
    assert (params.codec, params.payload_type, params.telephone_event) == ("PCMA", 8, 96)
    assert (params.address, params.port, params.direction) == ("127.0.0.1", 30000, "sendrecv")


def test_offer_round_trips_and_negotiates_pcmu_first() -> None:
    offer = make_offer("127.0.0.1", 31000, session_id=42)
    parsed = SessionDescription.parse(bytes(offer))
    assert str(parsed) == str(offer)
    params = negotiate(parsed)
    assert (params.codec, params.payload_type, params.telephone_event) == ("PCMU", 0, 101)


def test_hold_direction_is_mirrored() -> None:
    offer = SessionDescription.parse(CARRIER_OFFER.replace("a=sendrecv", "a=sendonly"))
    assert negotiate(make_answer(offer, "127.0.0.1", 30000, session_id=1)).direction == "recvonly"


def test_media_level_connection_wins() -> None:
    text = CARRIER_OFFER.replace(
        "m=audio 40000 RTP/AVP 18 8 0 96\r\n", "m=audio 40000 RTP/AVP 0\r\nc=IN IP4 203.0.113.5\r\n"
    )
    assert negotiate(SessionDescription.parse(text)).address == "203.0.113.5"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (CARRIER_OFFER.replace("18 8 0 96", "18 96"), "no common audio codec"),
        (CARRIER_OFFER.replace("o=- 3886 3886 IN IP4 198.51.100.10\r\n", ""), "no o= line"),
        (CARRIER_OFFER.replace("m=audio 40000", "m=audio 0"), "no active audio"),
        (CARRIER_OFFER.replace("c=IN IP4", "c=XX IP4"), "bad c= line"),
        (CARRIER_OFFER.replace("RTP/AVP 18", "RTP/AVP abc"), "bad payload type"),
        (CARRIER_OFFER + "garbage\r\n", "not type=value"),
    ],
)
def test_unusable_offers_get_488(text: str, reason: str) -> None:
    with pytest.raises(SdpError, match=reason) as caught:
        make_answer(SessionDescription.parse(text), "127.0.0.1", 30000, session_id=1)
    assert caught.value.status == 488
