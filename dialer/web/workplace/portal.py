"""Can the lender's portal be shown inside the workplace? A browser gives a page no way to learn that
a frame was refused, so the server asks the portal itself (one GET, its headers only) and reads
``Content-Security-Policy: frame-ancestors`` (which wins) and ``X-Frame-Options`` as a browser would.

``GET /work/portal-check`` answers ``{"framable": true|false|null, "reason": ...}`` for the portal of
the call on the operator's screen (null: the portal could not be reached from the server; the page
tries the frame and offers the new window anyway)."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
from aiohttp import web
from multidict import MultiMapping

from dialer.web.console.guard import person_of
from dialer.web.keys import DATABASE
from dialer.web.workplace import screen
from dialer.web.workplace.pages import service_of

TIMEOUT = 5.0


def framing(headers: Mapping[str, str], ours: str, theirs: str) -> tuple[bool, str]:  # noqa: PLR0911
    """Whether a page of origin ``ours`` may frame a page of origin ``theirs`` served with ``headers``,
    and why not."""
    policies = headers.getall("Content-Security-Policy", []) if isinstance(headers, MultiMapping) else (
        [headers["Content-Security-Policy"]] if "Content-Security-Policy" in headers else []
    )  # fmt: skip
    for policy in policies:
        for directive in policy.split(";"):
            name, _, value = directive.strip().partition(" ")
            if name.lower() != "frame-ancestors":
                continue
            sources = value.split()
            if any(s == "*" or s.rstrip("/") == ours for s in sources):
                return True, "frame-ancestors allows this site"
            if "'self'" in sources and ours == theirs:
                return True, "frame-ancestors 'self'"
            return False, f"the portal allows framing only by: {value.strip() or 'nobody'}"
    option = headers.get("X-Frame-Options", "").strip().upper()
    if option == "DENY":
        return False, "the portal refuses to be framed (X-Frame-Options: DENY)"
    if option == "SAMEORIGIN" and ours != theirs:
        return False, "the portal allows framing only by itself (X-Frame-Options: SAMEORIGIN)"
    if option.startswith("ALLOW-FROM"):
        return False, "the portal sends the obsolete X-Frame-Options: ALLOW-FROM, which browsers refuse"
    return True, "no frame policy"


async def check(request: web.Request) -> web.StreamResponse:
    person = person_of(request)
    shown = service_of(request).current(person.login)
    if shown is None:
        return web.json_response({"framable": None, "reason": "no call on screen"})
    panel = await screen.call_panel(request.app[DATABASE], shown, person, "en")
    if panel is None or panel.portal is None or panel.origin is None:
        return web.json_response({"framable": None, "reason": "this project has no portal"})
    ours = f"{request.scheme}://{request.host}"
    try:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(
            panel.portal, allow_redirects=True, max_redirects=5
        ) as answer:  # fmt: skip
            allowed, reason = framing(answer.headers, ours, panel.origin)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return web.json_response({"framable": None, "reason": f"the portal did not answer: {exc!s:.200}"})
    return web.json_response({"framable": allowed, "reason": reason})
