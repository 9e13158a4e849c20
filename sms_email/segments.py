"""How an SMS text travels: GSM-7 or UCS-2, and how many parts it takes (3GPP TS 23.038, 23.040).

A text made only of the GSM 03.38 default alphabet goes as GSM-7: 160 septets in one SMS, 153 per
part when it must be split (the 6-byte concatenation header takes 7 septets); characters of the
extension table (``{}[]~\\|^€`` and form feed) take two septets each and never straddle two parts.
Any other character (Cyrillic, emoji) makes the whole text UCS-2: 70 UTF-16 code units in one SMS,
67 per part; a character outside the BMP takes two code units, never split between parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

Encoding = Literal["gsm7", "ucs2"]


@dataclass(frozen=True)
class Segments:
    """``parts`` SMS of ``encoding``; ``length`` in septets (GSM-7) or UTF-16 units (UCS-2);
    ``left`` is how many more units fit in the last part."""

    encoding: Encoding
    length: int
    parts: int
    per_part: int
    left: int


def segments(text: str) -> Segments:
    """The encoding and the parts ``text`` needs (an empty text still costs one SMS)."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        units = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return _split("gsm7", units, single=160, multi=153)
    units = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return _split("ucs2", units, single=70, multi=67)


def _split(encoding: Encoding, units: list[int], *, single: int, multi: int) -> Segments:
    length = sum(units)
    if length <= single:
        return Segments(encoding, length, 1, single, single - length)
    parts, used = 1, 0
    for unit in units:  # a two-unit character is never split between parts
        if used + unit > multi:
            parts, used = parts + 1, 0
        used += unit
    return Segments(encoding, length, parts, multi, multi - used)
