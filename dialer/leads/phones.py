"""Phone numbers as people type them -> E.164, with the reason when a number cannot be dialled."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType, ValidationResult

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
# Number types a call centre must not dial: they cost the caller, or reach no person's own line.
_REFUSED_TYPES = {
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number (the call would be charged extra)",
    PhoneNumberType.SHARED_COST: "a shared-cost number (the call would be charged extra)",
    PhoneNumberType.PAGER: "a pager number",
    PhoneNumberType.VOICEMAIL: "a voicemail access number",
    PhoneNumberType.UAN: "a company's universal access number, not a person's line",
}
MAX_INPUT = 64
# An extension after the number: "доб. 505", "ext 505", "x505", "#505", "вн. 12".
_EXTENSION = re.compile(
    r"(?i)[\s,;]*(?:доб(?:авочный)?|вн(?:утренний)?|ext(?:ension)?|x|#)\.?\s*(?P<digits>\d{1,7})\s*$"
)


class PhoneError(ValueError):
    """A number that cannot be dialled; the message says why."""


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A dialable number in E.164 and the extension to send as DTMF after the answer, if any."""

    e164: str
    extension: str | None = None


def normalize(raw: str, region: str, *, vanity: bool = False) -> str:
    """``raw`` in E.164 (``'8 (912) 345-67-89'``, region RU -> ``'+79123456789'``); an extension
    is allowed and dropped (see :func:`parse` to keep it)."""
    return parse(raw, region, vanity=vanity).e164


def parse(raw: str, region: str, *, vanity: bool = False) -> PhoneNumber:
    """``raw`` as a dialable number and its extension (``'8 (912) 345-67-93 доб. 505'``).

    ``region`` (ISO 3166, e.g. ``RU``) applies to numbers written without ``+`` and country code.
    Raises :class:`PhoneError` for numbers that cannot exist (wrong length, unknown country, no such
    number range in the national plan), for letters unless ``vanity`` (a typo such as ``912 abc``
    would otherwise be dialled as the keypad's 912 222, a stranger's number), and for number types a
    call centre must not dial (premium rate, shared cost, pagers, voicemail access).
    """
    text = raw.strip()
    if not text:
        raise PhoneError("empty")
    if len(text) > MAX_INPUT:
        raise PhoneError(f"longer than {MAX_INPUT} characters")
    if not any(ch.isdigit() for ch in text):
        raise PhoneError("not a phone number (no digits)")
    extension = None
    found = _EXTENSION.search(text)
    if found is not None and found.start() > 0:
        extension, text = found["digits"], text[: found.start()].strip()
    if not vanity:
        letters = "".join(dict.fromkeys(ch for ch in text if ch.isalpha()))
        if letters:
            raise PhoneError(
                f"contains letters ({letters}); only digits, spaces, brackets, dashes, a leading + "
                "and an extension such as 'доб. 505' are accepted"
            )
    number = _parse(text, region)
    refused = _REFUSED_TYPES.get(phonenumbers.number_type(number))
    if refused is not None:
        raise PhoneError(f"{refused}: not dialled")
    return PhoneNumber(phonenumbers.format_number(number, PhoneNumberFormat.E164), extension or None)


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber:
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
    return number
