"""Playing a WAV file into a leg at real-time pace (the safe-harbor message, prompts).

The file is read and converted once: to mono, to 8 kHz (linear interpolation), to the leg's codec,
cut in 20 ms frames. :class:`Player` then gives one frame per tick as the leg's source and resolves
``done`` after the last one, restoring what the leg sent before.
"""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np

from sip.streams.leg import FRAME, Codec, Pcm, RtpLeg

RATE = 8000


class AudioFileError(ValueError):
    """The file is not a WAV this player can read (the message says why)."""


def load_wav(path: Path | str) -> Pcm:
    """A WAV file as 8 kHz mono 16-bit PCM (8/16/24/32-bit integer PCM, any rate, any channels)."""
    try:
        with wave.open(str(path), "rb") as wav:
            width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AudioFileError(f"{path}: not a PCM WAV file ({exc})") from None
    except OSError as exc:
        raise AudioFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if width == 1:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128) * 256
    elif width in (2, 4):
        samples = np.frombuffer(raw, dtype=f"<i{width}").astype(np.float64) / (1 << (8 * width - 16))
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        samples = ((b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8).astype(np.float64) / 256
    else:
        raise AudioFileError(f"{path}: {8 * width}-bit samples are not supported")
    mono = samples.reshape(-1, channels).mean(axis=1)
    if rate != RATE and len(mono):
        n_out = round(len(mono) * RATE / rate)
        mono = np.interp(np.arange(n_out) * rate / RATE, np.arange(len(mono)), mono)
    out: Pcm = np.clip(np.round(mono), -32768, 32767).astype(np.int16)
    return out


def frames(pcm: Pcm, codec: Codec) -> list[bytes]:
    """``pcm`` encoded in 20 ms frames (the last one padded with silence)."""
    padded = np.concatenate([pcm, np.zeros((-len(pcm)) % FRAME, dtype=np.int16)])
    encoded = codec.encode(padded)
    return [encoded[i : i + FRAME] for i in range(0, len(encoded), FRAME)]


class Player:
    """Plays ``pcm`` into ``leg`` once; ``done`` resolves when the last frame has been sent."""

    def __init__(self, leg: RtpLeg, pcm: Pcm) -> None:
        self.leg = leg
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._frames = frames(pcm, leg.codec)
        self._index = 0
        self._previous = leg.source
        leg.source = self._next

    @property
    def duration(self) -> float:
        return len(self._frames) * FRAME / RATE

    def _next(self) -> bytes | None:
        if self._index >= len(self._frames):
            self.stop()
            return self._previous() if self._previous is not None else None
        frame = self._frames[self._index]
        self._index += 1
        return frame

    def stop(self) -> None:
        if self.leg.source == self._next:
            self.leg.source = self._previous
        if not self.done.done():
            self.done.set_result(None)
