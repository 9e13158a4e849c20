"""Secrets never reach a log line: credentials in URLs, Authorization headers, passwords.

A client may put a token in a query string (``?token=...``, ``&apikey=...``), a gateway URL may carry a
password (``psw=``), a proxy may echo a header. :func:`redact` masks every such value in a text; the
logging set-up applies it to every line, whoever wrote it (our code, aiohttp's access log, a library's
warning), so a new log call cannot leak what an old one was careful about.
"""

from __future__ import annotations

import re

MASK = "***"

# A query or form parameter whose name says it holds a credential (the whole name, or its last part
# after "_", "-" or ".": access_token, x-api-key, user.password; not "passed" or "signal").
_PARAMETER = re.compile(
    r"(?i)(?P<name>(?:^|[?&;\s\"'])(?:[\w.\-\[\]]*[_\-.])?"
    r"(?:token|api_?key|apikey|key|password|passwd|pwd|psw|secret|auth|authorization|signature|sig"
    r"|session(?:_?id)?|sid|credentials?)=)(?P<value>[^&;\s\"'#]+)"
)
# A credential after its scheme, as in an Authorization header.
_SCHEME = re.compile(r"(?i)\b(?P<name>(?:bearer|basic|digest|token)\s+)(?P<value>[A-Za-z0-9._~+/=\-]{4,})")
# user:password@ in a URL
_USERINFO = re.compile(r"(?P<name>[a-z][a-z0-9+.\-]*://[^/\s:@]+:)(?P<value>[^@/\s]+)(?=@)", re.IGNORECASE)
# "password": "..." and password='...' in structured text
_FIELD = re.compile(
    r"(?i)(?P<name>[\"']?(?:password|passwd|psw|pwd|secret|token|api_?key|authorization)[\"']?\s*[:=]\s*[\"'])"
    r"(?P<value>[^\"']+)"
)


def _mask(match: re.Match[str]) -> str:
    return match.group("name") + MASK


def redact(text: str) -> str:
    """``text`` with every credential it carries replaced by ``***``."""
    if not text:
        return text
    for pattern in (_USERINFO, _FIELD, _PARAMETER, _SCHEME):
        text = pattern.sub(_mask, text)
    return text
