"""Errors of the SIP package.

Tree::

    SipError                    base
    ├── ParseError              bytes from the network are not a valid SIP message (remote's fault);
    │                           ``status`` is what a server answers (400 Bad Request, 505 ...)
    │   └── UriError            a SIP URI or name-addr is malformed
    └── AuthError               a digest challenge cannot be answered (unsupported algorithm or qop,
                                missing realm or nonce) (remote's fault)
"""

from __future__ import annotations


class SipError(Exception):
    """Base of SIP errors."""


class ParseError(SipError):
    """A message, or part of one, is malformed. ``line`` is 1-based where known."""

    def __init__(self, reason: str, *, line: int | None = None, status: int = 400) -> None:
        self.reason = reason
        self.line = line
        self.status = status
        where = f" (line {line})" if line is not None else ""
        super().__init__(f"{reason}{where}")


class UriError(ParseError):
    """A SIP URI or name-addr is malformed."""


class AuthError(SipError):
    """A digest challenge cannot be answered."""
