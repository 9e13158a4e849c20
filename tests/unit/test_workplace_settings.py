"""A project's workplace rules: the portal's address from the lead, whether a portal may be framed
(read as a browser reads its headers), the masked number, and the settings form's checks."""

from __future__ import annotations

import json

import pytest
from multidict import CIMultiDict

from dialer.web.workplace.portal import framing
from dialer.workplace_settings import (
    DEFAULT_DISPOSITIONS,
    check_portal_url,
    dispositions_of,
    masked,
    parse_settings,
    portal_origin,
    portal_url,
)

LEAD = {"external_id": "Z 1/2", "name": "Иван", "phones": ["+79001234567"], "data": {"app": "A&B"}}
FORM = {"wrap_up_extension": "30", "disposition_limit": "120", "away_limit": "60"}


def test_the_portal_address_is_filled_from_the_lead_url_encoded() -> None:
    template = "https://portal.example.com/apps/{external_id}?n={name}&p={phone}&a={data.app}&m={data.none}"
    assert portal_url(template, LEAD) == (
        "https://portal.example.com/apps/Z%201%2F2?n=%D0%98%D0%B2%D0%B0%D0%BD&p=%2B79001234567&a=A%26B&m="
    )
    assert portal_origin(template) == "https://portal.example.com"
    assert check_portal_url(template) == []


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("ftp://portal/{external_id}", "not an http(s) address"),
        ("https://{name}.example.com/", "placeholders are allowed after the host only"),
        ("https://portal.example.com/{password}", "unknown placeholder {password}"),
        ("portal.example.com/{external_id}", "not an http(s) address"),
    ],
)
def test_a_wrong_portal_address_is_refused_with_its_reason(template: str, problem: str) -> None:
    assert problem in [p.problem for p in check_portal_url(template)]


OURS, THEIRS = "http://dialer.local:8080", "https://portal.example.com"


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({}, True),
        ({"X-Frame-Options": "DENY"}, False),
        ({"X-Frame-Options": "sameorigin"}, False),
        ({"X-Frame-Options": "ALLOW-FROM http://dialer.local:8080"}, False),
        ({"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'"}, False),
        ({"Content-Security-Policy": "frame-ancestors 'self'"}, False),
        ({"Content-Security-Policy": f"frame-ancestors 'self' {OURS}/"}, True),
        ({"Content-Security-Policy": "frame-ancestors *", "X-Frame-Options": "DENY"}, True),  # CSP wins
        ({"Content-Security-Policy": "default-src 'self'", "X-Frame-Options": "DENY"}, False),
    ],
)
def test_framing_is_read_as_a_browser_reads_it(headers: dict[str, str], allowed: bool) -> None:
    assert framing(CIMultiDict(headers), OURS, THEIRS)[0] is allowed


def test_a_masked_number_shows_the_country_and_the_last_four_digits() -> None:
    assert masked("+79001234567") == "+7 ••• •••-45-67"
    assert masked("+380441234567") == "+38 ••• •••-45-67"
    assert masked("+123") == "+123"


def test_settings_are_checked_each_problem_named_and_empty_lists_mean_the_defaults() -> None:
    values, problems = parse_settings(FORM | {"mask_phones": "on"})
    assert problems == [] and values["dispositions"] is None and values["mask_phones"] is True
    assert dispositions_of({"dispositions": values["dispositions"]}) == list(DEFAULT_DISPOSITIONS)
    bad = FORM | {"wrap_up_extension": "lots", "away_limit": "5", "portal_url": "nope",
                  "dispositions": json.dumps([{"code": "ok", "label": {"en": "OK"}, "effect": "completed"},
                                              {"code": "ok", "label": {"en": "Again"}, "effect": "retry"}]),
                  "pause_reasons": "[{"}  # fmt: skip
    _, problems = parse_settings(bad)
    fields = sorted(p.field for p in problems)
    assert fields == ["away_limit", "dispositions", "pause_reasons", "portal_url", "wrap_up_extension"]
    _, problems = parse_settings(
        FORM | {"dispositions": json.dumps([{"code": "x", "label": {}, "effect": "win"}])}
    )
    assert problems and problems[0].field.startswith("dispositions.")
