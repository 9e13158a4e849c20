"""Answering-machine detection from the first seconds of a call's audio (numpy, no model).

Theory of operation
-------------------
A person answers with a short greeting ("Hello?") and waits; a machine plays a long greeting, often
ended by a beep. The audio (8 kHz, 16-bit) is cut into 20 ms frames; a frame is voice when its level
is both above -55 dBFS and 9 dB above the line's noise floor (the quietest tenth of the frames), with
100 ms of hangover so that the gaps inside a word do not split it. From the voice frames come the
classic measures (as in Asterisk's app_amd): initial silence, the first greeting's length, silence after
the last word, the number of words (a word holds at least 100 ms of loud frames: a click is not
one); a beep is a frame run where one frequency holds most of the energy.

What separates people from machines is that a person stops and waits for an answer, while a machine
keeps talking or beeps. So the words are grouped into *utterances*: words separated by less than
``after_greeting_silence`` (0.8 s; a machine's sentences are about 0.3-0.6 s apart, a person who has
said "Алло, здравствуйте, слушаю вас" falls silent for longer). Decision, in order: a beep (or the
network's three-tone signal) -> machine; initial silence over 2.3 s -> machine; a first utterance
longer than ``greeting`` (3 s: a natural "Алло, здравствуйте, слушаю вас" takes about 2 s; a voicemail
or an announcement goes on for 4 s and more) or holding more than ``max_words`` words -> machine; a
first utterance followed by 0.8 s of silence -> human; otherwise unsure (the engine treats unsure as
human: hanging up on a person is worse). ``confidence`` says how far the deciding measure was past its
threshold. (Until 2026-12 a single *word* of 1.5 s or four words made a machine, which hung up on
people saying "Алло, здравствуйте, слушаю вас" and let long announcements through as people.)

On a live call :func:`detect` runs on the audio heard so far every 200 ms, and the first definite
verdict (or the end of ``max_seconds``) decides: a person who says "Hello?" and waits is connected
after about 0.8 s of their silence, not after a fixed window.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

RATE = 8000
FRAME = 160
HANGOVER_FRAMES = 5
MIN_WORD_FRAMES = 5  # 100 ms of voice makes a word
WORD_GAP_FRAMES = 10  # 200 ms of silence separates words


class AmdResult(StrEnum):
    HUMAN = "human"
    MACHINE = "machine"
    UNSURE = "unsure"


@dataclass(frozen=True)
class AmdSettings:
    initial_silence: float = 2.3  # Asterisk's 2.5 s; people who pick up late speak by ~1.5 s
    greeting: float = 2.9
    after_greeting_silence: float = 0.8
    max_words: int = 8
    min_level_dbfs: float = -55.0
    above_floor_db: float = 9.0
    beep_min: float = 0.15
    beep_purity: float = 0.8
    max_seconds: float = 4.0  # listen at most this long; still unsure: a person


@dataclass(frozen=True)
class AmdVerdict:
    result: AmdResult
    confidence: float
    reason: str
    initial_silence: float
    greeting: float
    words: int
    beep: bool


def _levels(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.float64]:
    frames = pcm[: len(pcm) // FRAME * FRAME].astype(np.float64).reshape(-1, FRAME)
    rms = np.sqrt((frames**2).mean(axis=1)) / 32768.0
    return np.asarray(20 * np.log10(np.maximum(rms, 1e-9)), dtype=np.float64)


def _loud_frames(pcm: npt.NDArray[np.int16], settings: AmdSettings) -> npt.NDArray[np.bool_]:
    """Per 20 ms frame: loud enough to be voice (no hangover)."""
    levels = _levels(pcm)
    if len(levels) == 0:
        return np.zeros(0, dtype=bool)
    floor = float(np.percentile(levels, 10))
    return np.asarray((levels > settings.min_level_dbfs) & (levels > floor + settings.above_floor_db))


def _hangover(raw: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    voiced = raw.copy()
    for shift in range(1, HANGOVER_FRAMES + 1):
        voiced[shift:] |= raw[:-shift]
    return voiced


def voice_frames(pcm: npt.NDArray[np.int16], settings: AmdSettings = AmdSettings()) -> npt.NDArray[np.bool_]:
    """Per 20 ms frame: is it voice (energy detector with an adaptive floor and hangover)."""
    return _hangover(_loud_frames(pcm, settings))


def _segments(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[start, end) runs of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def _words(raw: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Runs of voice (with hangover, gaps under 200 ms bridged) holding at least 100 ms of loud frames:
    a click or a pop on the line is not a word."""
    merged: list[tuple[int, int]] = []
    for start, end in _segments(_hangover(raw)):
        if merged and start - merged[-1][1] < WORD_GAP_FRAMES:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return [(s, e) for s, e in merged if int(raw[s:e].sum()) >= MIN_WORD_FRAMES]


def _last_loud(raw: npt.NDArray[np.bool_], word: tuple[int, int]) -> int:
    """The frame after the last loud frame of ``word`` (whose end includes the hangover)."""
    loud = np.flatnonzero(raw[word[0] : word[1]])
    return word[0] + int(loud[-1]) + 1 if loud.size else word[1]


def has_beep(pcm: npt.NDArray[np.int16], settings: AmdSettings = AmdSettings()) -> bool:
    """A tone of 400-2000 Hz holding most of the energy for at least ``beep_min`` seconds."""
    frames = pcm[: len(pcm) // FRAME * FRAME].astype(np.float64).reshape(-1, FRAME)
    if len(frames) == 0:
        return False
    spectra = np.abs(np.fft.rfft(frames * np.hanning(FRAME), axis=1)) ** 2
    freqs = np.fft.rfftfreq(FRAME, 1 / RATE)
    total = spectra.sum(axis=1) + 1e-12
    peak = spectra.argmax(axis=1)
    # Energy within one bin either side of the peak.
    idx = np.arange(len(frames))
    near = sum(spectra[idx, np.clip(peak + d, 0, spectra.shape[1] - 1)] for d in (-1, 0, 1))
    loud = _levels(pcm) > settings.min_level_dbfs + 10
    tonal = (near / total > settings.beep_purity) & (freqs[peak] >= 400) & (freqs[peak] <= 2000) & loud
    needed = int(np.ceil(settings.beep_min * RATE / FRAME))
    return any(end - start >= needed for start, end in _segments(tonal))


def detect(pcm: npt.NDArray[np.int16], settings: AmdSettings = AmdSettings()) -> AmdVerdict:
    """Human, machine or unsure for the tapped start of a call (8 kHz mono)."""
    frame_s = FRAME / RATE
    raw = _loud_frames(pcm, settings)
    all_words = _words(raw)
    beep = has_beep(pcm, settings)
    length = len(raw) * frame_s
    gap = round(settings.after_greeting_silence / frame_s)
    words = all_words[:1]  # the first utterance: words until the first pause a person would leave
    for word in all_words[1:]:
        if word[0] - words[-1][1] >= gap:
            break
        words.append(word)
    initial = (words[0][0] if words else len(raw)) * frame_s
    greeting = (words[-1][1] - words[0][0]) * frame_s if words else 0.0
    # silence since the utterance's last loud frame (not its hangover: a person's pause counts in full)
    after = (len(raw) - _last_loud(raw, words[-1])) * frame_s if words else 0.0

    def verdict(result: AmdResult, confidence: float, reason: str) -> AmdVerdict:
        return AmdVerdict(result, round(min(max(confidence, 0.0), 1.0), 2), reason, initial, greeting,
                          len(words), beep)  # fmt: skip

    if beep:
        return verdict(AmdResult.MACHINE, 0.95, "a beep")
    if initial >= settings.initial_silence:
        return verdict(AmdResult.MACHINE, 0.5 + (initial - settings.initial_silence) / length,
                       f"{initial:.1f} s of silence before any voice")  # fmt: skip
    if greeting > settings.greeting:
        return verdict(AmdResult.MACHINE, 0.6 + (greeting - settings.greeting) / settings.greeting,
                       f"a greeting of {greeting:.1f} s without a pause")  # fmt: skip
    if len(words) > settings.max_words:
        return verdict(
            AmdResult.MACHINE, 0.6 + 0.1 * (len(words) - settings.max_words), f"{len(words)} words"
        )
    if words and after >= settings.after_greeting_silence:
        return verdict(AmdResult.HUMAN, 0.6 + (after - settings.after_greeting_silence) / 2,
                       f"{len(words)} word(s) ({greeting:.1f} s), then {after:.1f} s of silence")  # fmt: skip
    return verdict(AmdResult.UNSURE, 0.0, "not enough audio to tell")
