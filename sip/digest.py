"""Digest authentication for SIP (RFC 3261 sec. 22, RFC 2617, RFC 7616, RFC 8760).

Client side: :func:`parse_challenge` reads a ``WWW-Authenticate`` (401) or ``Proxy-Authenticate``
(407) value, :func:`authorization` computes the credentials to send back. Server side (the built-in
registrar for operator phones): :func:`parse_credentials` and :func:`expected_response`.

Algorithms MD5, MD5-sess, SHA-256 and SHA-256-sess; qop ``auth`` and ``auth-int`` or none (the RFC
2069 form some carriers still use). Sans-IO: the caller supplies the client nonce and the nonce count,
so nothing here reads a clock or a random source.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sip.errors import AuthError, ParseError

_HASHES = {"MD5": "md5", "SHA-256": "sha256"}


def _params(text: str) -> dict[str, str]:
    """``a=b, c="d, e"`` -> {"a": "b", "c": "d, e"} (names lower-case)."""
    out: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t,":
            i += 1
        if i >= n:
            break
        eq = text.find("=", i)
        if eq < 0:
            raise ParseError(f"digest parameter without a value near {text[i : i + 30]!r}")
        name = text[i:eq].strip().lower()
        i = eq + 1
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            i += 1
            value = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                value.append(text[i])
                i += 1
            if i >= n:
                raise ParseError("unclosed quote in digest parameters")
            i += 1
            out[name] = "".join(value)
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            out[name] = text[i:end].strip()
            i = end
    return out


@dataclass(frozen=True)
class Challenge:
    """A digest challenge from a 401 or 407."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def parse_challenge(value: str) -> Challenge:
    """Read ``Digest realm="...", nonce="...", ...``; raises :class:`AuthError` if we cannot answer it."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise AuthError(f"unsupported authentication scheme {scheme!r}")
    try:
        params = _params(rest)
    except ParseError as exc:
        raise AuthError(f"malformed challenge: {exc.reason}") from None
    if "realm" not in params or "nonce" not in params:
        raise AuthError("challenge lacks realm or nonce")
    algorithm = params.get("algorithm", "MD5").upper()
    if algorithm.removesuffix("-SESS") not in _HASHES:
        raise AuthError(f"unsupported digest algorithm {algorithm}")
    qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
    if qop and not {"auth", "auth-int"} & set(qop):
        raise AuthError(f"unsupported qop {params['qop']!r}")
    known = {"realm", "nonce", "algorithm", "qop", "opaque", "stale", "domain"}
    return Challenge(
        realm=params["realm"],
        nonce=params["nonce"],
        algorithm=algorithm,
        qop=qop,
        opaque=params.get("opaque"),
        stale=params.get("stale", "").lower() == "true",
        extra={k: v for k, v in params.items() if k not in known},
    )


def _h(algorithm: str, data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return hashlib.new(_HASHES[algorithm.removesuffix("-SESS")], raw).hexdigest()


def compute_response(
    *,
    algorithm: str,
    username: str,
    password: str | None,
    realm: str,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None = None,
    nc: str = "",
    cnonce: str = "",
    body: bytes = b"",
    ha1: str | None = None,
) -> str:
    """The ``response`` value of RFC 7616 sec. 3.4.1 (and RFC 2069 when ``qop`` is None).

    A server that stores ``ha1`` (H(username:realm:password)) instead of the password passes it
    with ``password=None``.
    """
    algorithm = algorithm.upper()
    if ha1 is None:
        if password is None:
            raise ValueError("give the password or its HA1")
        ha1 = _h(algorithm, f"{username}:{realm}:{password}")
    if algorithm.endswith("-SESS"):
        ha1 = _h(algorithm, f"{ha1}:{nonce}:{cnonce}")
    a2 = f"{method}:{uri}"
    if qop == "auth-int":
        a2 += ":" + _h(algorithm, body)
    ha2 = _h(algorithm, a2)
    if qop:
        return _h(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _h(algorithm, f"{ha1}:{nonce}:{ha2}")


def authorization(
    challenge: Challenge,
    *,
    username: str,
    password: str,
    method: str,
    uri: str,
    cnonce: str,
    nonce_count: int = 1,
    body: bytes = b"",
) -> str:
    """The ``Authorization`` / ``Proxy-Authorization`` value answering ``challenge``."""
    qop = "auth" if "auth" in challenge.qop else ("auth-int" if challenge.qop else None)
    nc = f"{nonce_count:08x}"
    response = compute_response(
        algorithm=challenge.algorithm,
        username=username,
        password=password,
        realm=challenge.realm,
        nonce=challenge.nonce,
        method=method,
        uri=uri,
        qop=qop,
        nc=nc,
        cnonce=cnonce,
        body=body,
    )
    parts = [
        f'username="{_quote(username)}"',
        f'realm="{_quote(challenge.realm)}"',
        f'nonce="{_quote(challenge.nonce)}"',
        f'uri="{_quote(uri)}"',
        f'response="{response}"',
        f"algorithm={challenge.algorithm}",
    ]
    if qop:
        parts += [f"qop={qop}", f"nc={nc}", f'cnonce="{_quote(cnonce)}"']
    if challenge.opaque is not None:
        parts.append(f'opaque="{_quote(challenge.opaque)}"')
    return "Digest " + ", ".join(parts)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


@dataclass(frozen=True)
class Credentials:
    """What a client sent in Authorization: the fields a registrar checks."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: str = ""
    cnonce: str = ""
    opaque: str | None = None


def parse_credentials(value: str) -> Credentials:
    """Read an ``Authorization: Digest ...`` value; raises :class:`ParseError` when incomplete."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise ParseError(f"unsupported authorization scheme {scheme!r}")
    params = _params(rest)
    missing = [k for k in ("username", "realm", "nonce", "uri", "response") if k not in params]
    if missing:
        raise ParseError(f"Authorization lacks {', '.join(missing)}")
    qop = params.get("qop")
    if qop and ("nc" not in params or "cnonce" not in params):
        raise ParseError("Authorization with qop lacks nc or cnonce")
    return Credentials(
        username=params["username"],
        realm=params["realm"],
        nonce=params["nonce"],
        uri=params["uri"],
        response=params["response"].lower(),
        algorithm=params.get("algorithm", "MD5").upper(),
        qop=qop,
        nc=params.get("nc", ""),
        cnonce=params.get("cnonce", ""),
        opaque=params.get("opaque"),
    )


def expected_response(
    credentials: Credentials,
    *,
    password: str | None = None,
    method: str,
    body: bytes = b"",
    ha1: str | None = None,
) -> str:
    """The response a client knowing ``password`` (or whose stored ``ha1`` is given) would have sent."""
    if credentials.algorithm.removesuffix("-SESS") not in _HASHES:
        raise AuthError(f"unsupported digest algorithm {credentials.algorithm}")
    return compute_response(
        algorithm=credentials.algorithm,
        username=credentials.username,
        password=password,
        realm=credentials.realm,
        nonce=credentials.nonce,
        method=method,
        uri=credentials.uri,
        qop=credentials.qop,
        nc=credentials.nc,
        cnonce=credentials.cnonce,
        body=body,
        ha1=ha1,
    )


def ha1_md5(username: str, realm: str, password: str) -> str:
    """H(username:realm:password) with MD5: what a registrar stores instead of the password."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()
