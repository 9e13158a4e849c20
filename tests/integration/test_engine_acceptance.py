"""The dialer as a call centre runs it, on loopback: `dialer serve` dials a predictive campaign of 300
leads pushed over the API, through Kamailio (the carrier's edge: our trunk registers there with digest
auth) to SIPp (the carrier's subscribers, answering, busy, ringing out or missing), and connects the
answered clients to four baresip operator phones registered to our registrar; operator bots drive
the workplace API. Operator 1 schedules a callback (delivered to her) and another one that she misses
(delivered to someone else after the grace period). Mid-run the dialer is killed with SIGKILL and
started again (the phones register for 15 minutes, once: after the restart they are called where the
dialer remembered them, and the operators' sessions still hold); at the end it is stopped with SIGTERM.

Checked: every SIPp call has exactly one attempt with the matching outcome, and every attempt one
SIPp call; answered clients were bridged within 2 s (recorded: the client's tone left, the operator's
microphone right) or abandoned with the safe-harbor message played; no number was in two calls at
once; no lead was lost; the figures of the run are printed (see the closing notes).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import signal
import socket
import subprocess
import sys
import time
import wave
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from sqlalchemy import select

from dialer.config import DatabaseSettings
from dialer.storage import create_engine, reading
from dialer.storage.models import Attempt, Lead
from tests.integration.servers import free_port
from tests.integration.sip_peers import kamailio, sipp_uas
from tests.integration.softphones import baresip
from tests.integration.test_engine_service import midday_zone
from tests.integration.test_media_loopback import dominant, tone
from tests.integration.test_media_sipp import write_ulaw_wav
from tests.integration.test_operator_phone import OPERATOR_VOICE, microphone

DIALER = [sys.executable, "-m", "dialer"]
OPERATORS = ("anna", "boris", "vera", "gleb")
LEADS = 300
FIRST_RUN = 110.0  # seconds before the kill -9
SECOND_RUN = 70.0  # seconds after the restart
GRACE = 20  # the campaign's callback grace period, seconds
ANSWERED_BY_SIPP = {"human", "abandoned", "machine"}


def write_config(path: Path, *, http: int, sip: int, carrier: int, workdir: Path) -> None:
    path.write_text(
        f"""
[server]
host = "127.0.0.1"
port = {http}
instance = "acceptance"

[database]
path = "{workdir / "dialer.sqlite3"}"

[logging]
level = "info"
format = "json"

[sip]
host = "127.0.0.1"
port = {sip}
safe_harbor = "{workdir / "safe_harbor.wav"}"

[recordings]
directory = "{workdir / "recordings"}"

[trunks.carrier]
host = "127.0.0.1"
port = {carrier}
register = true
username = "dialer"
password = "trunk-secret"
max_channels = 60
max_cps = 20
tariffs = [{{ prefix = "7", price_per_minute = "1.20", increment = "1/1" }}]
"""
    )


def cli(config: Path, *args: str) -> str:
    done = subprocess.run([*DIALER, "--config", str(config), *args], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


class Dialer:
    """`dialer serve` as a subprocess, its output (JSON log lines) appended to one file."""

    def __init__(self, config: Path, log: Path, http: int) -> None:
        self.config, self.log, self.http = config, log, http
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([*DIALER, "--config", str(self.config), "serve"],  # noqa: ASYNC220
                                            stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                assert self.process.poll() is None, self.log.read_text()[-3000:]
                try:
                    async with http.get(f"http://127.0.0.1:{self.http}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        pytest.fail("dialer serve did not become healthy")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self, timeout: float = 90.0) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def records(self, event: str) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{") and f'"{event}"' in line:
                found.append(json.loads(line))
        return found


@dataclass
class Plan:
    """What operator 1 (anna) is asked to do, and what happened."""

    kept: str | None = None  # lead she scheduled a callback for and then took
    kept_back: bool = False  # the kept callback came back to her
    missed: str | None = None  # lead she scheduled a callback for and then was away
    missed_at: datetime | None = None
    paused: bool = False  # the supervisor paused the campaign (calls in progress must go on)


class OperatorBot:
    """An operator at the workplace: logs in, goes ready, ends each call after a few seconds."""

    def __init__(self, login: str, base: str, plan: Plan, rng: random.Random) -> None:
        self.login, self.base, self.plan, self.rng = login, base, plan, rng
        self.headers: dict[str, str] = {}
        self.away_until = 0.0
        self.sessions = 0  # how many times she logged in
        self.ended_after_pause = 0  # calls she ended with a disposition once the campaign was paused
        self.refused_after_pause: list[str] = []  # calls on her screen she could not end then

    async def _session(self, http: aiohttp.ClientSession) -> None:
        url = f"{self.base}/api/v1/operators/{self.login}"
        async with http.post(f"{url}/session", json={"password": f"{self.login}-secret-1"}) as response:
            assert response.status == 201, await response.text()
            self.headers = {"Authorization": f"Bearer {(await response.json())['token']}"}
            self.sessions += 1

    async def _ready(self, http: aiohttp.ClientSession) -> bool:
        url = f"{self.base}/api/v1/operators/{self.login}/state"
        async with http.put(url, json={"state": "ready"}, headers=self.headers) as response:
            if response.status == 401:
                self.headers = {}
            return response.status == 200

    async def run(self, stop: asyncio.Event) -> None:
        url = f"{self.base}/api/v1/operators/{self.login}"
        seen: set[str] = set()
        callbacks = 0
        async with aiohttp.ClientSession() as http:
            while not stop.is_set():
                try:
                    if not self.headers:
                        await self._session(http)
                    if time.monotonic() < self.away_until:
                        await asyncio.sleep(0.5)
                        continue
                    async with http.get(f"{url}/current", headers=self.headers) as response:
                        if response.status == 401:  # the session is gone (it should survive a restart)
                            self.headers = {}
                            continue
                        current = await response.json()
                    if current["call_id"] is None:
                        if current["state"] in ("offline", "paused"):  # a restart, a dropped phone, a pause
                            await self._ready(http)
                        await asyncio.sleep(0.3)
                        continue
                    if current["call_id"] in seen:
                        await asyncio.sleep(0.3)
                        continue
                    seen.add(current["call_id"])
                    await asyncio.sleep(self.rng.uniform(1.5, 4.0))  # talking
                    body: dict[str, Any] = {"outcome": "completed", "notes": "documents collected"}
                    lead = current["lead"]["external_id"]
                    if lead == self.plan.kept:
                        self.plan.kept_back = True
                    # anna: a callback on her second call; once it came back to her, another that she misses
                    elif self.login == "anna" and (
                        (callbacks == 0 and len(seen) >= 2) or (callbacks == 1 and self.plan.kept_back)
                    ):
                        at = datetime.now(UTC) + timedelta(seconds=15)
                        body = {
                            "outcome": "callback",
                            "notes": "call me later",
                            "callback_at": at.isoformat(),
                        }
                        callbacks += 1
                        if callbacks == 1:
                            self.plan.kept = lead
                        else:
                            self.plan.missed, self.plan.missed_at = lead, at
                    paused = self.plan.paused
                    async with http.post(f"{url}/disposition", json=body, headers=self.headers) as response:
                        assert response.status in (200, 401), await response.text()
                        ended = response.status == 200 and (await response.json())["ended"]
                    if paused and ended:
                        self.ended_after_pause += 1
                    elif paused:
                        self.refused_after_pause.append(current["call_id"])
                    if self.login == "anna" and callbacks == 2 and self.plan.missed_at is not None:
                        pause = {"state": "paused", "reason": "meeting"}
                        async with http.put(f"{url}/state", json=pause, headers=self.headers):
                            pass
                        self.away_until = time.monotonic() + 15 + GRACE + 10  # misses her callback
                        self.plan.missed_at = None  # pause once
                except (aiohttp.ClientError, ConnectionError):
                    await asyncio.sleep(0.5)  # the dialer is down (killed): wait for it


@pytest.mark.timeout(900)
async def test_a_campaign_of_300_leads_survives_kill_9_and_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(2026)
    sipp_dir, kam_dir, work = tmp_path / "sipp", tmp_path / "kamailio", tmp_path / "dialer"
    for directory in (sipp_dir, kam_dir, work):
        directory.mkdir()
    write_ulaw_wav(sipp_dir / "tone.wav", tone(1250, 30.0))
    with wave.open(str(work / "safe_harbor.wav"), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(tone(400, 1.5).astype("<i2").tobytes())
    mic = microphone(tmp_path / "mic.wav", seconds=600)
    http, sip = free_port(), free_port(socket.SOCK_DGRAM)
    base = f"http://127.0.0.1:{http}"
    config = work / "config.toml"
    zone = midday_zone()
    phones = [f"+7912{rng.randrange(10**7):07d}" for _ in range(LEADS)]
    plan = Plan()
    with ExitStack() as stack:
        sipp = stack.enter_context(sipp_uas("carrier_clients.xml", sipp_dir, calls=100_000, timeout=900))
        carrier = stack.enter_context(kamailio(kam_dir, users={"dialer": "trunk-secret"}, far_end=sipp.port))
        write_config(config, http=http, sip=sip, carrier=carrier.port, workdir=work)
        cli(config, "migrate")
        cli(config, "project", "create", "loans", "--window", "daily-9-21", "--time-zone", zone)
        token = cli(config, "token", "create", "--project", "loans").strip()
        for login in OPERATORS:
            cli(config, "operator", "add", login, "--project", "loans", "--password", f"{login}-secret-1")
        for login in OPERATORS:
            stack.enter_context(baresip(tmp_path / login, registrar=("127.0.0.1", sip), user=login,
                                password=f"{login}-secret-1", microphone=mic, regint=900))  # fmt: skip
        dialer = Dialer(config, work / "dialer.log", http)
        await dialer.start()
        api = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(base_url=base, headers=api) as client:
            campaign = {
                "mode": "predictive", "ring_timeout": 15.0, "wrap_up": 2.0, "callback_grace": GRACE,
                "max_attempts": 3, "retry_delays": {"busy": 40, "no_answer": 40, "failed": 40},
            }  # fmt: skip
            async with client.put("/api/v1/projects/loans/campaigns/main", json=campaign) as response:
                assert response.status in (200, 201), await response.text()
            leads = [
                {"external_id": f"APP-{i:04d}", "phones": [phone], "name": f"Client {i}", "campaign": "main",
                 "time_zone": zone, "data": {"application": f"A-{i}", "amount": 1000 * (i % 50 + 1)}}
                for i, phone in enumerate(phones)
            ]  # fmt: skip
            async with client.post("/api/v1/projects/loans/leads/bulk", json={"leads": leads}) as response:
                assert response.status == 200 and (await response.json())["created"] == LEADS
            stop_bots = asyncio.Event()
            bots = [OperatorBot(login, base, plan, random.Random(n)) for n, login in enumerate(OPERATORS)]
            bot_tasks = [asyncio.create_task(bot.run(stop_bots)) for bot in bots]
            async with client.post("/api/v1/projects/loans/campaigns/main/start") as response:
                assert response.status == 200
            started = time.monotonic()
            await asyncio.sleep(FIRST_RUN / 2)
            async with client.get("/api/v1/projects/loans/campaigns/main/live") as response:
                live = await response.json()  # what a supervisor watches
            assert live["dialing"] and live["status"] == "running" and live["launched"] > 20, live
            assert "predictive" in live["last_decision"] and live["dial_level"] is not None, live
            assert live["window_answers"] >= live["connected"] > 0 and 0 <= live["abandon_rate"] < 1, live
            assert sorted(o["login"] for o in live["operators"]) == sorted(OPERATORS), live
            await asyncio.sleep(FIRST_RUN / 2)
            dialer.kill()  # mid-shift, calls in every state
            killed_at = datetime.now(UTC)
            await dialer.start()  # the campaign is still running: it goes on by itself
            await asyncio.sleep(5.0)
            async with client.get("/api/v1/projects/loans/campaigns/main/live") as response:
                after = await response.json()  # the abandon window survived the restart
            assert after["window_answers"] >= live["window_answers"], (live, after)
            assert after["window_abandons"] >= live["window_abandons"], (live, after)
            await asyncio.sleep(SECOND_RUN - 5.0)
            plan.paused = True
            async with client.post("/api/v1/projects/loans/campaigns/main/pause") as response:
                assert response.status == 200
            await asyncio.sleep(3.0)  # the engine hears of it within its 2 s sync
            async with client.get("/api/v1/projects/loans/campaigns/main/live") as response:
                pausing = await response.json()
            assert pausing["status"] == "paused" and not pausing["dialing"], pausing
            await asyncio.sleep(22.0)  # the calls in progress end (the clients hang up within 20 s)
            async with client.get("/metrics") as response:
                metrics = await response.text()  # counted from the engine's event bus since the restart
            assert 'dialer_calls_total{campaign="1",outcome="human"}' in metrics
            assert 'dialer_calls_connected_total{campaign="1"}' in metrics and "dialer_operators{" in metrics
            stop_bots.set()
            await asyncio.gather(*bot_tasks)
            assert [bot.sessions for bot in bots] == [1] * len(bots)  # nobody logged in again after the kill
            # paused while they talked: every operator could still end the call on their screen
            assert [bot.refused_after_pause for bot in bots] == [[]] * len(bots)
            assert sum(bot.ended_after_pause for bot in bots) > 0, "nobody was talking when it paused"
            ran = time.monotonic() - started
        assert dialer.terminate() == 0  # SIGTERM: a clean stop
        await asyncio.sleep(max(0.0, 62.0 - (datetime.now(UTC) - killed_at).total_seconds()))  # orphans end
    sipp_calls = sipp.outcomes()
    engine = create_engine(DatabaseSettings(path=work / "dialer.sqlite3"))
    try:
        async with reading(engine) as conn:
            attempts = (await conn.execute(select(Attempt.__table__).order_by(Attempt.__table__.c.id))).all()
            stored = (await conn.execute(select(Lead.__table__))).all()
    finally:
        await engine.dispose()

    # Every SIPp call has exactly one attempt with the matching outcome, and the other way round.
    assert all(len(outcomes) == 1 for outcomes in sipp_calls.values()), sipp_calls
    by_call = {a.call_id: a for a in attempts}
    assert len(by_call) == len(attempts) >= 60  # the run dialled in earnest (about 100 on a 2-core machine)
    assert set(by_call) == set(sipp_calls)
    expected = {"answered": ANSWERED_BY_SIPP, "busy": {"busy"}, "no_answer": {"no_answer"},
                "failed": {"failed"}, "orphaned": {"interrupted"}}  # fmt: skip
    for call_id, (outcome,) in sipp_calls.items():
        assert by_call[call_id].outcome in expected[outcome], (call_id, outcome, by_call[call_id])
    interrupted = [a for a in attempts if a.outcome == "interrupted"]
    assert interrupted, "the kill -9 came while calls were in progress"
    assert all(a.started_at <= killed_at for a in interrupted)
    assert all(a.ended_at is not None for a in attempts)  # nothing left open after SIGTERM

    # Answered clients were bridged within 2 s or abandoned with the message played.
    humans = [a for a in attempts if a.outcome == "human"]
    abandoned = [a for a in attempts if a.outcome == "abandoned"]
    assert len(humans) >= 25
    for attempt in humans:
        assert attempt.operator in OPERATORS and not attempt.abandoned
        assert attempt.wait_to_operator is not None and attempt.wait_to_operator <= 2.0
        assert (attempt.connected_at - attempt.answered_at).total_seconds() <= 2.5
        assert attempt.trunk == "carrier" and attempt.cost is not None and attempt.cost > 0
    played = {r["call_id"]: r for r in dialer.records("safe-harbor message played")}
    for attempt in abandoned:
        assert attempt.abandoned and attempt.operator is None
        assert played[attempt.call_id]["complete"] or attempt.ended_at - attempt.answered_at < timedelta(
            seconds=1.5
        )  # the whole message, unless the client hung up first
    sample = [a for a in humans if a.recording][-5:]
    assert len(sample) == 5
    for attempt in sample:
        with wave.open(attempt.recording) as wav:
            stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
        assert abs(dominant(stereo[:, 0]) - 1250) < 10  # the client's voice (SIPp's stream)
        assert abs(dominant(stereo[:, 1]) - OPERATOR_VOICE) < 10  # the operator's (baresip's microphone)

    # No number was in two calls at once; no lead was lost.
    for phone in set(phones):
        spans = sorted((a.started_at, a.ended_at) for a in attempts if a.phone == phone)
        for (_, ended), (started, _) in itertools.pairwise(spans):
            assert ended <= started, phone
    assert len(stored) == LEADS
    attempts_per_lead = Counter(a.lead_id for a in attempts)
    for lead in stored:
        assert lead.attempts == attempts_per_lead[lead.id]
        assert lead.lease_owner is None  # SIGTERM gave every lease back
        assert lead.status in ("new", "retry", "done", "failed", "callback"), lead.status
        if lead.status == "done":
            assert any(a.outcome == "human" for a in attempts if a.lead_id == lead.id)

    # Sticky callbacks: the kept one came back to anna; the missed one to another operator after the grace.
    lead_ids = {lead.external_id: lead.id for lead in stored}
    assert plan.kept is not None and plan.missed is not None
    kept = [a for a in attempts if a.lead_id == lead_ids[plan.kept] and a.outcome == "human"]
    assert [a.operator for a in kept] == ["anna", "anna"], kept
    missed = [a for a in attempts if a.lead_id == lead_ids[plan.missed] and a.outcome == "human"]
    assert missed[0].operator == "anna" and len(missed) == 2 and missed[1].operator != "anna", missed
    assert (missed[1].started_at - missed[0].ended_at).total_seconds() >= 15 + GRACE - 3

    # The figures of the run.
    answered = [a for a in attempts if a.answered_at is not None]
    talk = sum(((a.ended_at - a.connected_at).total_seconds() for a in humans), 0.0)
    live = len(humans) + len(abandoned)
    print(
        f"\nacceptance run: {ran:.0f} s, {len(attempts)} attempts, {len(answered)} answered, {len(humans)} "
        f"connected, {len(abandoned)} abandoned = {len(abandoned) / max(1, live):.1%} "
        f"of live answers, mean wait to operator "
        f"{np.mean([a.wait_to_operator for a in humans]):.2f} s, interrupted by kill -9: {len(interrupted)}, "
        f"operator occupancy (talk / run time): {talk / (len(OPERATORS) * ran):.1%}, "
        f"outcomes {dict(Counter(a.outcome for a in attempts))}"
    )
