"""JSON as RFC 8259 defines it, and no more: what the API accepts as a request body.

Python's decoder is lenient where a lender's system must hear "no": it accepts ``NaN``,
``Infinity`` and ``-Infinity`` (stored, they are invalid JSON and read back as null), keeps the last
of duplicate keys without a word, and raises ``RecursionError`` (a 500) on a body of a few thousand
nested brackets. :func:`loads` refuses each with a message that says what and where.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32
MAX_KEYS = 1_000


class JsonRefused(ValueError):
    """The body is JSON Python could read but the API does not accept; the message says why."""


def _constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not a JSON number; send a number or null")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(pairs) > MAX_KEYS:
        raise JsonRefused(f"an object has {len(pairs)} keys; at most {MAX_KEYS} are accepted")
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            keys = ", ".join(dict.fromkeys(k for k, _ in pairs))
            raise JsonRefused(f"duplicate key {key!r} in the object with keys {keys}")
        out[key] = value
    return out


def depth(value: Any) -> int:
    """Levels of arrays and objects (a scalar is 0)."""
    deepest, level = 0, [(value, 1)]
    while level:
        item, d = level.pop()
        if isinstance(item, dict):
            deepest = max(deepest, d)
            level.extend((v, d + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, d)
            level.extend((v, d + 1) for v in item)
    return deepest


def loads(text: str | bytes) -> Any:
    """Decode ``text``; :class:`JsonRefused` for non-standard constants, duplicate keys, more than
    :data:`MAX_KEYS` keys in an object or more than :data:`MAX_DEPTH` levels of nesting;
    ``json.JSONDecodeError`` (a ``ValueError``) for text that is not JSON at all."""
    try:
        value = json.loads(text, parse_constant=_constant, object_pairs_hook=_object)
    except RecursionError:
        raise JsonRefused(f"nested deeper than {MAX_DEPTH} levels of arrays and objects") from None
    if depth(value) > MAX_DEPTH:
        raise JsonRefused(f"nested deeper than {MAX_DEPTH} levels of arrays and objects")
    return value
