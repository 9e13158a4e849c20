"""Browser phone benchmark: the dialer's CPU per browser leg, and the delay it adds before the browser.

    python bench/browser_phone.py                  # 10 and 50 browser operators, 30 s each
    python bench/browser_phone.py --legs 20 --seconds 60

A child process runs the dialer's side exactly as ``dialer serve`` does for each operator: one
shared media clock, and per browser an aiortc peer connection answered by
``dialer.voice.browser_phone.answer`` whose leg is fed a client's voice (a 1250 Hz tone, as a bridge
from a SIP client would) every 20 ms. This process plays the browsers: one aiortc peer connection
each, sending a 700 Hz microphone (Opus, as Chromium does) and receiving the line. Prints the child's
CPU (user + system, % of one core) per leg at each size, and the time each 20 ms frame waited in the
dialer between the clock's tick and the browser track's encoder taking it (p50/p99).
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RATE = 48000
FRAME = 960  # 20 ms at 48 kHz


def _tone(freq: float, rate: int, samples: int, start: int) -> np.ndarray:
    t = (np.arange(samples) + start) / rate
    return (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


# -- the dialer's side (child process) ------------------------------------------------------------


def serve(port: int) -> None:
    from dialer.voice import browser_phone
    from sip.streams.clock import MediaClock
    from sip.streams.leg import PCMU

    waits: list[float] = []

    class TimedTrack(browser_phone.ClockTrack):
        """The product's track, timing each frame from the clock's push to the encoder's recv."""

        def put(self, pcm: Any) -> None:
            super().put(pcm)
            self._stamps = getattr(self, "_stamps", [])
            self._stamps.append(time.perf_counter())
            del self._stamps[: max(0, len(self._stamps) - browser_phone.QUEUED)]

        async def recv(self) -> Any:
            frame = await super().recv()
            stamps = getattr(self, "_stamps", [])
            if stamps:
                waits.append(time.perf_counter() - stamps.pop(0))
            return frame

    browser_phone.ClockTrack = TimedTrack  # type: ignore[misc]
    legs: list[Any] = []

    async def offer(request: web.Request) -> web.Response:
        clock = request.app["clock"]
        sdp = (await request.json())["sdp"]
        leg, answer = await browser_phone.answer(clock, sdp, [])
        counter = [0]

        def client_voice() -> bytes:  # what a bridged SIP client would say
            counter[0] += 1
            return PCMU.encode(_tone(1250, 8000, 160, counter[0] * 160))

        leg.source = client_voice
        legs.append(leg)
        return web.json_response({"sdp": answer, "type": "answer"})

    async def stats(request: web.Request) -> web.Response:
        got = sorted(waits)
        waits.clear()
        pick = (lambda q: got[min(len(got) - 1, int(q * len(got)))] * 1000) if got else (lambda q: None)
        heard = sum(1 for leg in legs if leg.last_received)
        return web.json_response({"legs": len(legs), "hearing": heard, "wait_p50_ms": pick(0.5),
                                  "wait_p99_ms": pick(0.99)})  # fmt: skip

    async def start(app: web.Application) -> None:
        app["clock"] = MediaClock()

    app = web.Application()
    app.on_startup.append(start)
    app.router.add_post("/offer", offer)
    app.router.add_get("/stats", stats)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


# -- the browsers (this process) ---------------------------------------------------------------------


async def browsers(port: int, count: int, seconds: float, child: int) -> dict[str, Any]:
    import av
    from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

    class Microphone(MediaStreamTrack):
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.sent = 0
            self.started: float | None = None

        async def recv(self) -> av.AudioFrame:
            self.started = self.started or time.perf_counter()
            due = self.started + self.sent * 0.020
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            frame = av.AudioFrame.from_ndarray(_tone(700, RATE, FRAME, self.sent * FRAME).reshape(1, -1),
                                               format="s16", layout="mono")  # fmt: skip
            frame.sample_rate, frame.pts, frame.time_base = (
                RATE,
                self.sent * FRAME,
                fractions.Fraction(1, RATE),
            )
            self.sent += 1
            return frame

    peers = []
    received = [0]

    async def drain(track: MediaStreamTrack) -> None:
        while True:
            try:
                await track.recv()
            except Exception:
                return
            received[0] += 1

    async with aiohttp.ClientSession() as http:
        for _ in range(count):
            pc = RTCPeerConnection()
            pc.addTrack(Microphone())
            pc.on("track", lambda track: asyncio.ensure_future(drain(track)))
            await pc.setLocalDescription(await pc.createOffer())
            async with http.post(
                f"http://127.0.0.1:{port}/offer", json={"sdp": pc.localDescription.sdp}
            ) as r:
                answer = await r.json()
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
            peers.append(pc)
        await asyncio.sleep(3.0)  # connected, media flowing
        async with http.get(f"http://127.0.0.1:{port}/stats"):
            pass  # forget the start-up waits
        cpu0, wall0, frames0 = _cpu(child), time.perf_counter(), received[0]
        await asyncio.sleep(seconds)
        cpu1, wall1, frames1 = _cpu(child), time.perf_counter(), received[0]
        async with http.get(f"http://127.0.0.1:{port}/stats") as r:
            stats = await r.json()
    for pc in peers:
        await pc.close()
    share = (cpu1 - cpu0) / (wall1 - wall0) * 100
    stats |= {"cpu_percent": share, "cpu_per_leg": share / count,
              "frames_per_s": (frames1 - frames0) / (wall1 - wall0) / count}  # fmt: skip
    return stats


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--legs", type=int, nargs="*", default=[10, 50])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    print("$ python bench/browser_phone.py " + shlex.join(sys.argv[1:]))
    from tests.integration.servers import free_port

    for count in args.legs:
        port = free_port()
        child = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
        try:
            asyncio.run(_wait(port))
            result = asyncio.run(browsers(port, count, args.seconds, child.pid))
        finally:
            child.terminate()
            child.wait(10)
        print(f"{count:3d} browser legs: dialer CPU {result['cpu_percent']:5.1f} % of a core "
              f"({result['cpu_per_leg']:.2f} % per leg); frames to each browser "
              f"{result['frames_per_s']:.1f}/s; legs hearing their browser "
              f"{result['hearing']}/{result['legs']}; "
              f"wait in the dialer before the encoder p50 {result['wait_p50_ms']:.1f} ms, "
              f"p99 {result['wait_p99_ms']:.1f} ms")  # fmt: skip
        print(json.dumps(result))


async def _wait(port: int) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            try:
                async with http.get(f"http://127.0.0.1:{port}/stats"):
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)


if __name__ == "__main__":
    main()
