"""The browser as the operator's phone: Chromium (Playwright, Debian's chromium, a fake microphone
playing a 700 Hz tone) connects the workplace's browser phone to a real ``dialer serve``; a client
from SIPp (streaming 1250 Hz) is bridged into it: the page hears the client (its analyser finds
1250 Hz), the recording has the client on the left and the browser's microphone on the right (the
client's side hears what the dialer relays from that channel); the echo test plays the operator's
voice back; closing the page pauses the operator within the silence limit."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import wave
from pathlib import Path

import aiohttp
import numpy as np
import pytest
from playwright.async_api import async_playwright, expect
from sqlalchemy import select

from dialer.config import DatabaseSettings
from dialer.storage import create_engine, reading
from dialer.storage.tables import OPERATOR_STATE
from tests.integration.servers import dialer_serve, free_port
from tests.integration.sip_peers import sipp_uas
from tests.integration.test_console_browser import CHROMIUM
from tests.integration.test_engine_acceptance import cli
from tests.integration.test_media_loopback import dominant, tone
from tests.integration.test_media_sipp import write_ulaw_wav

pytestmark = pytest.mark.integration
OPERATOR_VOICE = 700.0
CLIENT_VOICE = 1250.0
SILENCE_LIMIT = 4.0


def microphone(path: Path, seconds: float = 90.0) -> Path:
    """A 48 kHz 16-bit WAV for Chromium's fake microphone."""
    rate = 48000
    t = np.arange(int(seconds * rate)) / rate
    pcm = (9000 * np.sin(2 * np.pi * OPERATOR_VOICE * t)).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    return path


async def test_the_browser_phone_carries_both_voices_and_closing_it_pauses(tmp_path: Path) -> None:
    write_ulaw_wav(tmp_path / "tone.wav", tone(CLIENT_VOICE, 4.0))  # what SIPp streams as the client
    mic = microphone(tmp_path / "mic.wav")
    http, sip = free_port(), free_port(socket.SOCK_DGRAM)
    with sipp_uas("answer_stream_audio.xml", tmp_path, calls=50) as sipp:
        config = tmp_path / "config.toml"
        config.write_text(f"""
[server]
port = {http}
[database]
path = "{tmp_path / "dialer.sqlite3"}"
[sip]
port = {sip}
phone_silence_limit = {SILENCE_LIMIT}
[recordings]
directory = "{tmp_path / "recordings"}"
[trunks.carrier]
host = "127.0.0.1"
port = {sipp.port}
register = false
[[trunks.carrier.tariffs]]
prefix = "7"
price_per_minute = 1.5
""")
        cli(config, "migrate")
        cli(config, "project", "create", "loans", "--name", "Loans", "--window", "any-hour")
        os.environ["DIALER_OPERATOR_PASSWORD"] = "anna-password"
        try:
            cli(config, "operator", "add", "anna", "--project", "loans", "--name", "Anna")
        finally:
            del os.environ["DIALER_OPERATOR_PASSWORD"]
        token = cli(config, "token", "create", "--project", "loans").strip()
        auth = {"Authorization": f"Bearer {token}"}
        async with dialer_serve(config, tmp_path / "serve.log") as base, aiohttp.ClientSession() as api:
            base_api = f"{base}/api/v1/projects/loans"
            async with api.put(f"{base_api}/campaigns/main", headers=auth,
                               json={"mode": "progressive", "wrap_up": 60.0}) as response:  # fmt: skip
                assert response.status == 201, await response.text()
            lead = {"external_id": "A-1", "name": "Client", "phones": ["+79161234567"], "campaign": "main"}
            async with api.post(f"{base_api}/leads", headers=auth, json=lead) as response:
                assert response.status in (200, 201), await response.text()
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=[
                    "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-audio-capture={mic}", "--autoplay-policy=no-user-gesture-required",
                ])  # fmt: skip
                context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
                page = await context.new_page()
                await page.goto(f"{base}/sign-in")
                await page.get_by_label("Login").fill("anna")
                await page.get_by_label("Password").fill("anna-password")
                await page.get_by_role("button", name="Sign in").click()
                await page.wait_for_url(f"{base}/work")
                await page.get_by_role("link", name="Browser phone").click()
                await page.get_by_role("button", name="Connect the browser phone").click()
                await expect(page.locator("#phone-state")).to_have_text("connected", timeout=15_000)
                await page.get_by_role("button", name="Echo test: hear yourself").click()
                heard = page.locator("#phone-heard")
                await expect(heard).to_have_attribute("data-hz", str_near(OPERATOR_VOICE), timeout=10_000)
                await page.get_by_role("button", name="Echo test: hear yourself").click()  # off again
                await page.screenshot(
                    path=str(Path(__file__).parent / "screenshots" / "work-browser-phone.png")
                )
                await page.get_by_role("button", name="Ready").click()
                async with api.post(f"{base_api}/campaigns/main/start", headers=auth) as response:
                    assert response.status == 200
                await expect(page.get_by_role("button", name="Hang up")).to_be_visible(timeout=30_000)
                await expect(heard).to_have_attribute("data-hz", str_near(CLIENT_VOICE), timeout=10_000)
                await asyncio.sleep(2.0)  # two seconds of both voices
                await page.get_by_role("button", name="Hang up").click()
                await asyncio.sleep(1.0)
                closed_at = time.monotonic()
                await context.close()  # the tab (and its phone) is gone
                await browser.close()
            engine = create_engine(DatabaseSettings(path=tmp_path / "dialer.sqlite3"))
            try:
                paused = None
                while time.monotonic() - closed_at < SILENCE_LIMIT + 6 and paused is None:
                    await asyncio.sleep(0.5)
                    async with reading(engine) as conn:
                        spans = select(OPERATOR_STATE).where(OPERATOR_STATE.c.operator == "anna")
                        last = (
                            await conn.execute(spans.order_by(OPERATOR_STATE.c.id.desc()).limit(1))
                        ).first()
                    if last is not None and last.state == "paused":
                        paused = time.monotonic() - closed_at
            finally:
                await engine.dispose()
            assert paused is not None and paused <= SILENCE_LIMIT + 3, paused
            assert last is not None and last.reason == "phone dropped"
    recordings = sorted((tmp_path / "recordings").rglob("*.wav"))
    assert recordings, "the call was recorded"
    with wave.open(str(recordings[0])) as wav:
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert abs(dominant(stereo[:, 0]) - CLIENT_VOICE) < 15  # the client (SIPp)
    assert (
        abs(dominant(stereo[:, 1]) - OPERATOR_VOICE) < 15
    )  # the browser's microphone, relayed to the client
    text = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in text, text[-3000:]


def str_near(hz: float) -> object:
    """A pattern for the page's analyser reading: within about 60 Hz of ``hz`` (FFT bins of ~23 Hz)."""
    import re

    low, high = int(hz - 60), int(hz + 60)
    return re.compile("^(" + "|".join(str(v) for v in range(low, high + 1)) + ")$")
