"""Numbers as people type them, and JSON as the standard defines it (hypothesis for both parsers)."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.leads.phones import PhoneError, parse
from dialer.web.api.strict_json import MAX_DEPTH, JsonRefused, loads


@pytest.mark.parametrize(
    ("raw", "e164", "extension"),
    [
        ("8 (912) 345-67-89", "+79123456789", None),
        ("8 (912) 345-67-93 доб. 505", "+79123456793", "505"),
        ("+7 912 345 67 93 ext. 77", "+79123456793", "77"),
        ("+7 (495) 123-45-67 #12", "+74951234567", "12"),
        ("8 912 345 67 89 вн. 3", "+79123456789", "3"),
        ("8-800-555-35-35", "+78005553535", None),  # toll-free: the caller pays nothing
    ],
)
def test_numbers_and_extensions(raw: str, e164: str, extension: str | None) -> None:
    number = parse(raw, "RU")
    assert (number.e164, number.extension) == (e164, extension)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("+7 912 abc 67 89", "letters (abc)"),
        ("1-800-FLOWERS", "letters"),
        ("8-809-505-12-34", "premium-rate"),
        ("+44 9098 790000", "premium-rate"),
        ("not a number", "no digits"),
    ],
)
def test_numbers_never_dialled(raw: str, why: str) -> None:
    with pytest.raises(PhoneError, match=re.escape(why)):
        parse(raw, "RU")


def test_vanity_numbers_when_allowed() -> None:
    assert parse("1-800-FLOWERS", "US", vanity=True).e164 == "+18003569377"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(categories=("L",)), min_size=1, max_size=3), st.integers(0, 6))
def test_a_letter_anywhere_in_a_number_is_never_turned_into_digits(letters: str, where: int) -> None:
    digits = "89123456789"
    with pytest.raises(PhoneError):
        parse(digits[:where] + letters + digits[where:], "RU")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_standard_json_reads_back_as_python_does(value: object) -> None:
    text = json.dumps(value)
    assert loads(text) == json.loads(text)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"a": NaN}', "NaN"),
        ("[Infinity]", "Infinity"),
        ('{"a": 1, "b": 2, "a": 3}', "duplicate key 'a'"),
        ("[" * 100_000 + "]" * 100_000, f"deeper than {MAX_DEPTH}"),
        ('{"k": ' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), f"deeper than {MAX_DEPTH}"),
    ],
)
def test_what_python_would_accept_but_json_does_not_is_refused(text: str, says: str) -> None:
    with pytest.raises(JsonRefused, match=re.escape(says)):
        loads(text)
