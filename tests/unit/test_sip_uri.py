"""SIP URIs and name-addr values."""

from __future__ import annotations

import pytest

from sip.errors import UriError
from sip.uri import NameAddr, SipUri


def test_full_uri_round_trips() -> None:
    text = "sips:alice:secretword@atlanta.example.com:5061;transport=tcp;lr?subject=project&priority=urgent"
    uri = SipUri.parse(text)
    assert (uri.scheme, uri.user, uri.password, uri.host, uri.port) == (
        "sips",
        "alice",
        "secretword",
        "atlanta.example.com",
        5061,
    )
    assert uri.params == {"transport": "tcp", "lr": None}
    assert uri.headers == {"subject": "project", "priority": "urgent"}
    assert uri.transport == "tcp"
    assert SipUri.parse(str(uri)) == uri


def test_phone_number_user_and_ipv6_host() -> None:
    uri = SipUri.parse("sip:+79123456789@[2001:db8::1]:5060;user=phone")
    assert uri.user == "+79123456789" and uri.host == "[2001:db8::1]" and uri.params["user"] == "phone"
    assert uri.with_params(transport="udp").params == {"user": "phone", "transport": "udp"}


@pytest.mark.parametrize(
    "text",
    [
        "tel:+7912",
        "sip:",
        "sip:@host",
        "sip:bob@host:0",
        "sip:bob@host:70000",
        "sip:bob@ho st",
        "sip:bob@host;;lr",
    ],
)
def test_bad_uris_are_refused(text: str) -> None:
    with pytest.raises(UriError):
        SipUri.parse(text)


def test_name_addr_forms() -> None:
    quoted = NameAddr.parse('"Bob \\"B\\" Smith" <sip:bob@biloxi.example.com>;tag=a6c85cf')
    assert quoted.display == 'Bob "B" Smith' and quoted.tag == "a6c85cf"
    assert NameAddr.parse(str(quoted)) == quoted
    token = NameAddr.parse("Bob <sip:bob@biloxi.example.com;transport=udp>;tag=1")
    assert token.display == "Bob" and token.sip_uri.transport == "udp" and token.tag == "1"
    bare = NameAddr.parse("sip:bob@biloxi.example.com;tag=xyz")
    assert bare.uri == "sip:bob@biloxi.example.com" and bare.tag == "xyz"  # header param, not URI param
    assert bare.with_tag("new").tag == "new"


@pytest.mark.parametrize(
    "text", ["", '"Bob <sip:b@c>', "<sip:b@c", '"Bob" sip:b@c', "<sip:b@c> junk", "<nouri>"]
)
def test_bad_addresses_are_refused(text: str) -> None:
    with pytest.raises(UriError):
        NameAddr.parse(text)
