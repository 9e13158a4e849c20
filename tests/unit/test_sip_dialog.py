"""Dialogs on the calling side: creation from responses, route sets, CSeq and target refresh."""

from __future__ import annotations

import pytest

from sip.dialog import Dialog, DialogState
from sip.errors import ParseError
from sip.message import Request, Response, parse_message

INVITE = (
    b"INVITE sip:+79123456789@carrier.example SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-d1\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Dialer" <sip:dialer@127.0.0.1>;tag=local1\r\n'
    b"To: <sip:+79123456789@carrier.example>\r\n"
    b"Call-ID: dlg-1\r\n"
    b"CSeq: 10 INVITE\r\n"
    b"Contact: <sip:dialer@127.0.0.1:5062>\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def invite() -> Request:
    message = parse_message(INVITE)
    assert isinstance(message, Request)
    return message


def answer(
    status: int,
    *,
    tag: str | None = "remote1",
    record_route: tuple[str, ...] = (),
    contact: str = "<sip:callee@198.51.100.10:5060>",
) -> Response:
    headers = invite().headers.copy()
    headers.remove("Max-Forwards")
    headers.set("To", "<sip:+79123456789@carrier.example>" + (f";tag={tag}" if tag else ""))
    headers.set("Contact", contact)
    for route in record_route:
        headers.add("Record-Route", route)
    return Response(status, "OK" if status == 200 else "Ringing", headers)


def test_2xx_creates_a_confirmed_dialog_with_reversed_route_set() -> None:
    dialog = Dialog.from_response(
        invite(), answer(200, record_route=("<sip:p2.example;lr>", "<sip:p1.example;lr>"))
    )
    assert dialog.state is DialogState.CONFIRMED
    assert (dialog.id.call_id, dialog.id.local_tag, dialog.id.remote_tag) == ("dlg-1", "local1", "remote1")
    assert dialog.route_set == ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
    bye = dialog.request("BYE")
    assert bye.uri == "sip:callee@198.51.100.10:5060"
    assert bye.headers.get_all("Route") == ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
    assert str(bye.cseq) == "11 BYE" and bye.to.tag == "remote1" and bye.from_.tag == "local1"
    assert parse_message(
        bytes(bye).replace(b"Max-Forwards", b"Via: SIP/2.0/UDP h;branch=z9hG4bKx\r\nMax-Forwards", 1)
    )


def test_ack_reuses_the_invite_cseq_and_reinvite_moves_it() -> None:
    dialog = Dialog.from_response(invite(), answer(200))
    assert str(dialog.ack().cseq) == "10 ACK"
    reinvite = dialog.request("INVITE", b"v=0\r\n")
    assert str(reinvite.cseq) == "11 INVITE" and reinvite.headers.get("Content-Type") == "application/sdp"
    assert str(dialog.ack().cseq) == "11 ACK"
    with pytest.raises(ValueError, match="reuses"):
        dialog.request("ACK")


def test_early_dialog_is_confirmed_by_the_2xx_which_fixes_target_and_routes() -> None:
    dialog = Dialog.from_response(invite(), answer(180, record_route=("<sip:early.example;lr>",)))
    assert dialog.state is DialogState.EARLY
    dialog.confirm(answer(200, record_route=("<sip:final.example;lr>",), contact="<sip:moved@203.0.113.9>"))
    assert dialog.state is DialogState.CONFIRMED
    assert dialog.route_set == ["<sip:final.example;lr>"] and dialog.remote_target == "sip:moved@203.0.113.9"


def test_strict_route_puts_the_route_in_the_request_uri() -> None:
    dialog = Dialog.from_response(invite(), answer(200, record_route=("<sip:strict.example>",)))
    bye = dialog.request("BYE")
    assert bye.uri == "sip:strict.example"
    assert bye.headers.get_all("Route") == ["<sip:callee@198.51.100.10:5060>"]


def test_requests_from_the_peer_are_matched_ordered_and_refresh_the_target() -> None:
    dialog = Dialog.from_response(invite(), answer(200))
    peer = parse_message(
        b"UPDATE sip:dialer@127.0.0.1:5062 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.10;branch=z9hG4bKp1\r\n"
        b"From: <sip:+79123456789@carrier.example>;tag=remote1\r\nTo: <sip:dialer@127.0.0.1>;tag=local1\r\n"
        b"Call-ID: dlg-1\r\nCSeq: 5 UPDATE\r\nContact: <sip:callee@198.51.100.11>\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    assert isinstance(peer, Request) and dialog.matches(peer)
    assert dialog.receive(peer) is None and dialog.remote_target == "sip:callee@198.51.100.11"
    older = parse_message(bytes(peer).replace(b"CSeq: 5 UPDATE", b"CSeq: 4 UPDATE"))
    assert isinstance(older, Request) and dialog.receive(older) == 500
    bye = parse_message(bytes(peer).replace(b"UPDATE", b"BYE").replace(b"CSeq: 5", b"CSeq: 6"))
    assert isinstance(bye, Request) and dialog.receive(bye) is None and dialog.state is DialogState.TERMINATED
    stranger = parse_message(bytes(peer).replace(b"tag=remote1", b"tag=other"))
    assert not dialog.matches(stranger)


def test_responses_without_to_tag_or_contact_create_no_dialog() -> None:
    with pytest.raises(ParseError, match="without a To tag"):
        Dialog.from_response(invite(), answer(180, tag=None))
    no_contact = answer(200)
    no_contact.headers.remove("Contact")
    with pytest.raises(ParseError, match="without Contact"):
        Dialog.from_response(invite(), no_contact)
