"""`dialer demo` as a person starts it: within a minute the demo call centre has calls of every
outcome, operators talking to clients, recordings with both voices, costs, a legal abandon rate on its
live view, and Ctrl-C stops it cleanly; `dialer demo reset` removes what it made."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import time
import wave
from pathlib import Path

import aiohttp
import numpy as np
from sqlalchemy import func, select

from dialer.config import DatabaseSettings
from dialer.storage import create_engine, reading
from dialer.storage.tables import ATTEMPT, LEAD, MESSAGE, OPERATOR, PROJECT
from tests.integration.console_client import sign_in
from tests.integration.servers import free_port
from tests.integration.test_engine_acceptance import DIALER, cli


def config(tmp: Path, http: int, sip: int) -> Path:
    path = tmp / "config.toml"
    path.write_text(f"""
[server]
port = {http}
[database]
path = "{tmp / "dialer.sqlite3"}"
[logging]
format = "json"
[sip]
port = {sip}
[recordings]
directory = "{tmp / "recordings"}"
[trunks.simulated]
kind = "simulated"
max_channels = 40
max_cps = 20
[trunks.simulated.simulate]
deterministic = true      # the demo's numbers end in every digit: every outcome comes up
post_dial_delay = [0.1, 0.5]
ring = [1.0, 3.0]
talk = [15.0, 30.0]
[[trunks.simulated.tariffs]]
prefix = "7"
price_per_minute = 1.20
increment = "1/1"
""")
    return path


def loud(channel: np.ndarray) -> float:
    """Seconds of audio louder than a whisper in one channel of a recording."""
    frames = channel[: len(channel) // 160 * 160].reshape(-1, 160).astype(float)
    return float((np.sqrt((frames**2).mean(axis=1)) > 300).sum() * 0.02)


async def start_demo(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path, int, Path]:
    """`dialer demo` on a migrated database under ``tmp_path``: the process, its config, its HTTP port
    and its log."""
    http, sip = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_DGRAM)
    path = config(tmp_path, http, sip)
    await asyncio.to_thread(cli, path, "migrate")
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        demo = subprocess.Popen([*DIALER, "--config", str(path), "demo", "--leads", "300"],  # noqa: ASYNC220
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    return demo, path, http, log


async def test_the_demo_dials_connects_records_bills_and_stops_cleanly(tmp_path: Path) -> None:
    demo, path, http, log = await start_demo(tmp_path)
    engine = create_engine(DatabaseSettings(path=tmp_path / "dialer.sqlite3"))
    try:
        deadline = time.monotonic() + 60
        outcomes: set[str] = set()
        while time.monotonic() < deadline:
            assert demo.poll() is None, log.read_text()[-3000:]
            await asyncio.sleep(2.0)
            async with reading(engine) as conn:
                outcomes = set((await conn.execute(select(ATTEMPT.c.outcome).distinct())).scalars())
            if {"human", "machine", "busy", "no_answer", "failed"} <= outcomes:
                break
        assert {"human", "machine", "busy", "no_answer", "failed"} <= outcomes, outcomes
        text = log.read_text()
        token = re.search(r"project token \(shown once\): (dlr_\S+)", text)
        assert token is not None, text[-2000:]
        person = re.search(r"login operator, password (\S+)", text)  # the person's account, shown once
        assert person is not None
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
            base = f"http://127.0.0.1:{http}"
            live_url = f"{base}/api/v1/projects/zaimy-demo/campaigns/predictive/live"
            async with client.get(live_url, headers={"Authorization": f"Bearer {token[1]}"}) as response:
                assert response.status == 200
                live = await response.json()
            async with client.get(f"{base}/") as response:
                assert "/sign-in" in str(response.url)  # the console asks who you are first
            admin = re.search(r"sign in as admin, password (\S+) \(shown once\)", text)
            assert admin is not None, text[-2000:]
            page = await sign_in(client, base, "admin", admin[1])
            async with client.get(f"{base}/trunks") as response:
                trunks = await response.text()
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
            operator_page = await sign_in(other, base, "operator", person[1])
        assert "Займы — демо" in operator_page  # the demo's operator account signs in to the console too
        async with aiohttp.ClientSession() as client, client.get(f"{base}/metrics") as response:
            metrics = await response.text()
        assert live["dialing"] and live["connected"] > 0 and live["abandon_rate"] <= 0.03, live
        assert sum(o["state"] != "offline" for o in live["operators"]) == 10, live["operators"]
        assert "Займы — демо" in page and "simulated" in trunks
        assert 'dialer_calls_total{campaign="1",outcome="human"}' in metrics
        media: set[str] = set()  # the operators' answers sent SMS and email to the local sinks
        while time.monotonic() < deadline + 60 and media != {"sms", "email"}:
            await asyncio.sleep(2.0)
            async with reading(engine) as conn:
                sent = MESSAGE.c.status.in_(["sent", "delivered"])
                media = set((await conn.execute(select(MESSAGE.c.medium).where(sent).distinct())).scalars())
        assert media == {"sms", "email"}, media
        async with aiohttp.ClientSession() as client:
            async with client.get(f"{base}/demo/sms/") as response:
                assert response.status == 200 and "перезвоним вам по заявке" in await response.text()
            async with client.get(f"{base}/demo/mail/") as response:
                assert response.status == 200 and "что осталось заполнить" in await response.text()
        demo.send_signal(signal.SIGINT)  # Ctrl-C
        assert demo.wait(timeout=90) == 0, log.read_text()[-3000:]
        assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
        async with reading(engine) as conn:
            talked = (await conn.execute(select(ATTEMPT).where(ATTEMPT.c.operator.is_not(None)))).all()
            open_calls = (
                await conn.execute(select(func.count()).where(ATTEMPT.c.ended_at.is_(None)))
            ).scalar()
            billed = (await conn.execute(select(func.sum(ATTEMPT.c.cost)))).scalar()
        assert talked and open_calls == 0 and billed and billed > 0
        recorded = [a.recording for a in talked if a.recording]
        assert recorded
        both = 0
        for name in recorded:
            with wave.open(name) as wav:
                stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
            both += loud(stereo[:, 0]) > 0.3 and loud(stereo[:, 1]) > 0.3  # the client and the operator
        assert both > 0, recorded
        assert "demo removed" in await asyncio.to_thread(cli, path, "demo", "reset")
        async with reading(engine) as conn:
            assert (await conn.execute(select(func.count()).select_from(PROJECT))).scalar() == 0
            assert (await conn.execute(select(func.count()).select_from(LEAD))).scalar() == 0
            assert (await conn.execute(select(func.count()).select_from(OPERATOR))).scalar() == 0
    finally:
        if demo.poll() is None:
            demo.kill()
        await engine.dispose()
