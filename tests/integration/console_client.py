"""Signing in to the console from a test's HTTP client, as a browser does (form, cookies, CSRF)."""

from __future__ import annotations

import re

import aiohttp

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, html[:500]
    return found[1]


async def sign_in(client: aiohttp.ClientSession, base: str, login: str, password: str) -> str:
    """Sign in (the client keeps the cookies: give it ``aiohttp.CookieJar(unsafe=True)`` for
    127.0.0.1); returns the page signed in to (the start page)."""
    async with client.get(f"{base}/sign-in") as response:
        token = csrf_of(await response.text())
    form = {"login": login, "password": password, "csrf": token}
    async with client.post(f"{base}/sign-in", data=form) as response:
        assert response.status == 200, await response.text()
        return await response.text()
