"""Copying the first seconds of what a leg hears into numpy (for answering-machine detection)."""

from __future__ import annotations

import asyncio

import numpy as np

from sip.streams.leg import FRAME, Pcm, RtpLeg


class Tap:
    """Collects ``seconds`` of ``leg``'s incoming audio (gaps as silence), then stops copying."""

    def __init__(self, leg: RtpLeg, seconds: float) -> None:
        self.leg = leg
        self._frames: list[Pcm] = []
        self._wanted = max(1, round(seconds * 8000 / FRAME))
        self.audio: asyncio.Future[Pcm] = asyncio.get_running_loop().create_future()
        leg.add_listener(self._on_frame)

    def _on_frame(self, pcm: Pcm | None) -> None:
        self._frames.append(pcm if pcm is not None else np.zeros(FRAME, dtype=np.int16))
        if len(self._frames) >= self._wanted:
            self.stop()

    def collected(self) -> Pcm:
        """The audio copied so far (for deciding before the tap is full)."""
        return np.concatenate(self._frames) if self._frames else np.zeros(0, dtype=np.int16)

    def stop(self) -> None:
        """Stop copying; ``audio`` resolves with what was collected."""
        self.leg.remove_listener(self._on_frame)
        if not self.audio.done():
            empty = np.zeros(0, dtype=np.int16)
            self.audio.set_result(np.concatenate(self._frames) if self._frames else empty)
