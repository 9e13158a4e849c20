"""Recording a call: one stereo WAV, left the client, right the operator, 8 kHz 16-bit.

Frames are collected on every tick from both legs (a gap is written as silence, so the channels
stay aligned) and written by a worker thread one second at a time, so the event loop never waits on
the disk. :func:`purge` deletes recordings older than the retention period.
"""

from __future__ import annotations

import asyncio
import time
import wave
from pathlib import Path

import numpy as np

from sip.streams.leg import FRAME, Pcm, RtpLeg

FLUSH_FRAMES = 50


class Recorder:
    """Records ``client`` (left) and ``operator`` (right) into ``path`` until :meth:`close`."""

    def __init__(self, path: Path, client: RtpLeg, operator: RtpLeg) -> None:
        self.path = path
        self.client = client
        self.operator = operator
        self._left: list[Pcm | None] = []
        self._right: list[Pcm | None] = []
        self._chunks: list[bytes] = []
        self._writes: asyncio.Task[None] | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        self._wav = wave.open(str(path), "wb")  # noqa: SIM115 (kept open until close)
        self._wav.setnchannels(2)
        self._wav.setsampwidth(2)
        self._wav.setframerate(8000)
        client.add_listener(self._on_client)
        operator.add_listener(self._on_operator)

    def _on_client(self, pcm: Pcm | None) -> None:
        self._left.append(pcm)
        self._pair()

    def _on_operator(self, pcm: Pcm | None) -> None:
        self._right.append(pcm)
        self._pair()

    def _pair(self) -> None:
        # Both legs deliver one frame per tick, in whatever order the clock visits them.
        silence = np.zeros(FRAME, dtype=np.int16)
        while self._left and self._right:
            left, right = self._left.pop(0), self._right.pop(0)
            stereo = np.column_stack([silence if left is None else left, silence if right is None else right])
            self._chunks.append(stereo.astype("<i2").tobytes())
        if len(self._chunks) >= FLUSH_FRAMES:
            self._flush()

    def _flush(self) -> None:
        data, self._chunks = b"".join(self._chunks), []
        previous = self._writes

        async def write() -> None:
            if previous is not None:
                await previous
            await asyncio.to_thread(self._wav.writeframes, data)

        self._writes = asyncio.get_running_loop().create_task(write())

    async def close(self) -> None:
        self.client.remove_listener(self._on_client)
        self.operator.remove_listener(self._on_operator)
        if self._chunks:
            self._flush()
        if self._writes is not None:
            await self._writes
        await asyncio.to_thread(self._wav.close)


def purge(directory: Path, *, keep_days: float, now: float | None = None) -> int:
    """Delete ``*.wav`` under ``directory`` older than ``keep_days``; how many were deleted."""
    limit = (now if now is not None else time.time()) - keep_days * 86400
    removed = 0
    for path in directory.rglob("*.wav"):
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
