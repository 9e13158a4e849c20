"""Phone numbers as people type them -> E.164, with the reason when a number cannot be dialled."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

_POSSIBLE_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong length for its country",
}
_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code (start with + and the country code)",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
MAX_INPUT = 64


class PhoneError(ValueError):
    """A number that cannot be dialled; the message says why."""


def normalize(raw: str, region: str) -> str:
    """``raw`` in E.164 (``'8 (912) 345-67-89'``, region RU -> ``'+79123456789'``).

    ``region`` (ISO 3166, e.g. ``RU``) applies to numbers written without ``+`` and country code.
    Raises :class:`PhoneError` for numbers that cannot exist: wrong length, unknown country, or no
    such number range in the national plan.
    """
    text = raw.strip()
    if not text:
        raise PhoneError("empty")
    if len(text) > MAX_INPUT:
        raise PhoneError(f"longer than {MAX_INPUT} characters")
    try:
        number = phonenumbers.parse(text, region.upper())
    except NumberParseException as exc:
        raise PhoneError(_PARSE_REASONS.get(exc.error_type, str(exc))) from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible in _POSSIBLE_REASONS:
        raise PhoneError(_POSSIBLE_REASONS[possible])
    if not phonenumbers.is_valid_number(number):
        where = phonenumbers.region_code_for_number(number) or f"+{number.country_code}"
        raise PhoneError(f"no such number range in {where}")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)
