"""Digest authentication against the RFC 2617 and RFC 7616 vectors, and both sides agreeing."""

from __future__ import annotations

import pytest

from sip.digest import authorization, compute_response, expected_response, parse_challenge, parse_credentials
from sip.errors import AuthError, ParseError

RFC7616 = {
    "username": "Mufasa",
    "password": "Circle of Life",
    "realm": "http-auth@example.org",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "method": "GET",
    "uri": "/dir/index.html",
    "qop": "auth",
    "nc": "00000001",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
}


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_vectors(algorithm: str, expected: str) -> None:
    assert compute_response(algorithm=algorithm, **RFC7616) == expected


def test_rfc2617_vector() -> None:
    response = compute_response(
        algorithm="MD5",
        username="Mufasa",
        password="Circle Of Life",
        realm="testrealm@host.com",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        method="GET",
        uri="/dir/index.html",
        qop="auth",
        nc="00000001",
        cnonce="0a4f113b",
    )
    assert response == "6629fae49393a05397450978507c4ef1"


def test_challenge_with_qop_list_and_stale() -> None:
    challenge = parse_challenge(
        'Digest realm="carrier.example", nonce="abc,def", qop="auth,auth-int", '
        'algorithm=SHA-256, opaque="xyz", stale=TRUE'
    )
    assert challenge.realm == "carrier.example" and challenge.nonce == "abc,def"
    assert challenge.qop == ("auth", "auth-int") and challenge.stale and challenge.algorithm == "SHA-256"


@pytest.mark.parametrize("qop", ['qop="auth"', ""])
def test_client_and_server_agree(qop: str) -> None:
    challenge = parse_challenge(f'Digest realm="r", nonce="n1", {qop}'.rstrip(", "))
    value = authorization(
        challenge,
        username="101",
        password="s3cret",
        method="REGISTER",
        uri="sip:r",
        cnonce="c1",
        nonce_count=3,
    )
    credentials = parse_credentials(value)
    assert credentials.nc == ("00000003" if qop else "")
    assert expected_response(credentials, password="s3cret", method="REGISTER") == credentials.response
    assert expected_response(credentials, password="wrong", method="REGISTER") != credentials.response


@pytest.mark.parametrize(
    "value",
    [
        'Basic realm="x"',
        'Digest nonce="n"',
        'Digest realm="r", nonce="n", algorithm=SHA-512-256',
        'Digest realm="r", nonce="n", qop="auth-conf"',
        'Digest realm="r, nonce="n',
    ],
)
def test_unanswerable_challenges(value: str) -> None:
    with pytest.raises(AuthError):
        parse_challenge(value)


def test_incomplete_credentials() -> None:
    with pytest.raises(ParseError, match="lacks response"):
        parse_credentials('Digest username="a", realm="r", nonce="n", uri="sip:r"')
    with pytest.raises(ParseError, match="lacks nc or cnonce"):
        parse_credentials('Digest username="a", realm="r", nonce="n", uri="sip:r", response="x", qop=auth')
