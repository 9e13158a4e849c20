"""G.711 mu-law and A-law (ITU-T G.711) in numpy: 16-bit linear PCM <-> 8-bit codes.

Encoding follows the ITU reference (Sun's ``g711.c``, as in CPython's ``audioop``): mu-law works on
the 14 high bits, biased by 0x21 and clipped at 8159; A-law on the 13 high bits; both pick the segment
from a search of 8 segment ends over the whole array at once. Decoding uses 256-entry
tables. Arrays in, arrays out; no per-sample Python.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Pcm = npt.NDArray[np.int16]
Codes = npt.NDArray[np.uint8]

_MU_BIAS = 0x84  # on the 16-bit scale (0x21 on the 14-bit one)
_MU_CLIP = 8159
_MU_SEG_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)
_A_SEG_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32)


def _segment(magnitude: npt.NDArray[np.int32], ends: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """Index of the first segment end >= magnitude (8 when above all)."""
    return np.searchsorted(ends, magnitude, side="left").astype(np.int32)


def ulaw_encode(pcm: Pcm) -> Codes:
    """16-bit PCM -> mu-law codes."""
    x = np.asarray(pcm, dtype=np.int32) >> 2
    mask = np.where(x < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(x), _MU_CLIP) + (_MU_BIAS >> 2)
    seg = _segment(magnitude, _MU_SEG_END)
    code = (seg << 4) | ((magnitude >> (seg + 1)) & 0x0F)
    code = np.where(seg >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def alaw_encode(pcm: Pcm) -> Codes:
    """16-bit PCM -> A-law codes."""
    x = np.asarray(pcm, dtype=np.int32) >> 3
    negative = x < 0
    mask = np.where(negative, 0x55, 0xD5)
    magnitude = np.where(negative, -x - 1, x)
    seg = _segment(magnitude, _A_SEG_END)
    shift = np.where(seg < 2, 1, seg)
    code = (seg << 4) | ((magnitude >> shift) & 0x0F)
    code = np.where(seg >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def _ulaw_decode_table() -> Pcm:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + _MU_BIAS) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, _MU_BIAS - t, t - _MU_BIAS).astype(np.int16)


def _alaw_decode_table() -> Pcm:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.where(seg == 0, t + 8, np.where(seg == 1, t + 0x108, (t + 0x108) << np.maximum(seg - 1, 0)))
    return np.where(a & 0x80, t, -t).astype(np.int16)


ULAW_TO_PCM: Pcm = _ulaw_decode_table()
ALAW_TO_PCM: Pcm = _alaw_decode_table()


def ulaw_decode(codes: Codes | bytes) -> Pcm:
    """mu-law codes -> 16-bit PCM."""
    return ULAW_TO_PCM[np.frombuffer(codes, dtype=np.uint8) if isinstance(codes, bytes) else codes]


def alaw_decode(codes: Codes | bytes) -> Pcm:
    """A-law codes -> 16-bit PCM."""
    return ALAW_TO_PCM[np.frombuffer(codes, dtype=np.uint8) if isinstance(codes, bytes) else codes]


ULAW_TO_ALAW: Codes = alaw_encode(ULAW_TO_PCM)
ALAW_TO_ULAW: Codes = ulaw_encode(ALAW_TO_PCM)


def transcode(payload: bytes, table: Codes) -> bytes:
    """Re-encode a G.711 payload through a 256-entry table (``ULAW_TO_ALAW`` or ``ALAW_TO_ULAW``)."""
    return table[np.frombuffer(payload, dtype=np.uint8)].tobytes()
