"""Workplace benchmark: 50 operators' pages on one ``dialer serve`` while the engine dials for them.

    python bench/workplace.py                      # 50 operators, 90 s of dialling
    python bench/workplace.py --operators 10 --seconds 60

Runs a real ``dialer serve`` on 127.0.0.1 with the simulated carrier (clients answer after 0.3-1 s
and talk 8-20 s) and a progressive campaign with plenty of leads. In this process: one virtual SIP
softphone per operator (registered with the dialer, as a person's softphone would be), and one
signed-in console session per operator reading ``/work/events`` as the page does; each operator goes
ready with the page's form, and records the outcome of each call with the page's form 3-6 s after
its card arrived. Prints, over the calls connected: the card's delay from the engine's bridge event
to the card's arrival in the operator's stream (p50/p99; the page's render adds a few ms, measured by
the browser test), and the server process's CPU (user + system) per second of the run and per stream
event sent, beside how many events and calls there were.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialer.demo.operators import VirtualPhone
from dialer.voice.carrier import Voices
from sip.streams.clock import MediaClock
from tests.integration.console_client import csrf_of
from tests.integration.servers import free_port, until_healthy

DIALER = [sys.executable, "-m", "dialer"]
CALL = re.compile(r'data-call="([^"]+)"')


def cli(config: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([*DIALER, "--config", str(config), *args], capture_output=True, text=True,
                          check=False, env={**os.environ, **(env or {})})  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"dialer {' '.join(args)}: {done.stderr}")
    return done.stdout


def prepare(root: Path, operators: int, leads: int) -> tuple[Path, int, int, str]:
    http, sip = free_port(), free_port(socket.SOCK_DGRAM)
    config = root / "config.toml"
    config.write_text(f"""
[server]
port = {http}
[logging]
level = "warning"
[database]
path = "bench.sqlite3"
[sip]
port = {sip}
[trunks.simulated]
kind = "simulated"
max_channels = {operators * 2}
max_cps = 50
[trunks.simulated.simulate]
busy = 0.0
no_answer = 0.0
invalid = 0.0
congestion = 0.0
machine = 0.0
post_dial_delay = [0.1, 0.3]
ring = [0.3, 1.0]
talk = [8.0, 20.0]
""")
    cli(config, "migrate")
    cli(config, "project", "create", "bench", "--window", "any-hour")
    for n in range(operators):
        cli(config, "operator", "add", f"op{n:02d}", "--project", "bench",
            env={"DIALER_OPERATOR_PASSWORD": f"op{n:02d}-password"})  # fmt: skip
    token = cli(config, "token", "create", "--project", "bench").strip()
    rows = "external_id,phone,name\n" + "".join(f"B-{i},+7912{i:07d},Client {i}\n" for i in range(leads))
    (root / "leads.csv").write_text(rows)
    return config, http, sip, token


async def api(base: str, token: str, method: str, path: str, **kwargs: object) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http, http.request(
        method, f"{base}/api/v1/projects/bench{path}", headers=headers, **kwargs
    ) as response:  # fmt: skip
        if response.status >= 300:
            raise SystemExit(f"{method} {path}: {response.status} {await response.text()}")


async def follow(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], stop: asyncio.Event,
    on_data: Callable[[dict[str, Any]], None],
) -> None:  # fmt: skip
    """Read a Server-Sent Events stream, handing each event's JSON to ``on_data``, until ``stop``."""
    async with http.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=None)) as stream:
        async for raw in stream.content:
            if stop.is_set():
                return
            line = raw.decode()
            if line.startswith("data: "):
                on_data(json.loads(line[6:]))


async def operator(
    base: str, login: str, stop: asyncio.Event, delays: list[float], events: list[int]
) -> None:
    """One operator's page: the stream read as the page reads it; ready; each call's outcome."""
    rng = random.Random(login)
    pending: set[asyncio.Task[None]] = set()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{base}/sign-in") as page:
            token = csrf_of(await page.text())
        form = {"login": login, "password": f"{login}-password", "csrf": token}
        async with http.post(f"{base}/sign-in", data=form) as page:
            token = csrf_of(await page.text())
        accept = {"Accept": "application/json"}
        async with http.post(
            f"{base}/work/state", data={"csrf": token, "state": "ready"}, headers=accept
        ) as r:
            await r.read()

        async def dispose(call_id: str) -> None:
            await asyncio.sleep(rng.uniform(3.0, 6.0))
            data = {"csrf": token, "call_id": call_id, "disposition": "application_completed"}
            async with http.post(f"{base}/work/outcome", data=data, headers=accept) as r:
                await r.read()

        def on_data(data: dict[str, Any]) -> None:
            events.append(1)
            if data.get("bridged_at"):
                delays.append(time.time() * 1000 - data["bridged_at"])
            found = CALL.search(data.get("call_html") or "")
            if found:
                task = asyncio.create_task(dispose(found[1]))
                pending.add(task)
                task.add_done_callback(pending.discard)

        try:
            await follow(http, f"{base}/work/events", {}, stop, on_data)
        finally:
            for task in pending:
                task.cancel()


async def api_operator(
    base: str, login: str, stop: asyncio.Event, delays: list[float], events: list[int]
) -> None:
    """The same operator on the operator API (``/api/v1/operators/...``) instead of the page: what
    the engine and the telephony cost without the workplace's rendering."""
    rng = random.Random(login)
    ops = f"{base}/api/v1/operators/{login}"
    pending: set[asyncio.Task[None]] = set()
    seen: set[str] = set()
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{ops}/session", json={"password": f"{login}-password"}) as r:
            auth = {"Authorization": f"Bearer {(await r.json())['token']}"}
        async with http.put(f"{ops}/state", json={"state": "ready"}, headers=auth) as r:
            await r.read()

        async def dispose(call_id: str) -> None:
            await asyncio.sleep(rng.uniform(3.0, 6.0))
            async with http.post(f"{ops}/disposition", json={"outcome": "completed", "call_id": call_id},
                                 headers=auth) as r:  # fmt: skip
                await r.read()

        def on_data(data: dict[str, Any]) -> None:
            events.append(1)
            call_id = data.get("call_id")
            if call_id and call_id not in seen:
                seen.add(call_id)
                task = asyncio.create_task(dispose(call_id))
                pending.add(task)
                task.add_done_callback(pending.discard)

        try:
            await follow(http, f"{ops}/events", auth, stop, on_data)
        finally:
            for task in pending:
                task.cancel()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main(operators: int, seconds: float, leads: int, *, pages: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config, http, sip, token = prepare(root, operators, leads)
        log = (root / "serve.log").open("wb")
        server = subprocess.Popen([*DIALER, "--config", str(config), "serve"], cwd=root,  # noqa: ASYNC220
                                  stdout=subprocess.DEVNULL, stderr=log)  # fmt: skip
        base = f"http://127.0.0.1:{http}"
        clock, voices = MediaClock(), Voices.load()
        phones = [VirtualPhone(f"op{n:02d}", f"op{n:02d}-password", ("127.0.0.1", sip), clock, voices)
                  for n in range(operators)]  # fmt: skip
        try:
            await until_healthy(base)
            await asyncio.gather(*(phone.start() for phone in phones))
            await api(base, token, "PUT", "/campaigns/main", json={"mode": "progressive", "wrap_up": 2.0})
            leads_file = str(root / "leads.csv")
            await asyncio.to_thread(cli, config, "leads", "import", leads_file, "--project", "bench",
                                    "--campaign", "main")  # fmt: skip
            stop = asyncio.Event()
            delays: list[float] = []
            events: list[int] = []
            who = operator if pages else api_operator
            tasks = [
                asyncio.create_task(who(base, f"op{n:02d}", stop, delays, events)) for n in range(operators)
            ]
            await asyncio.sleep(3.0)  # everyone signed in, ready, streaming
            await api(base, token, "POST", "/campaigns/main/start")
            cpu0, wall0, events0 = cpu_seconds(server.pid), time.monotonic(), len(events)
            await asyncio.sleep(seconds)
            cpu = cpu_seconds(server.pid) - cpu0
            wall = time.monotonic() - wall0
            sent = len(events) - events0
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await asyncio.gather(*(phone.stop() for phone in phones), return_exceptions=True)
            server.send_signal(signal.SIGINT)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
    report(operators, seconds, wall, delays, sent, cpu, pages=pages)


def report(  # noqa: PLR0917
    operators: int, seconds: float, wall: float, delays: list[float], sent: int, cpu: float, *, pages: bool
) -> None:
    argv = ["python", "bench/workplace.py", "--operators", str(operators), "--seconds", str(seconds)]
    print(f"$ {shlex.join(argv + (['--api'] if not pages else []))}")
    how = "workplace pages (/work/events)" if pages else "operator-API clients (no pages)"
    print(f"{operators} operators' {how} on one dialer serve, {wall:.0f} s of dialling (simulated carrier)")
    if delays:
        p50, p99 = np.percentile(delays, [50, 99])
        print(f"cards: {len(delays)}; delay bridge -> card in the stream: p50 {p50:.1f} ms, "
              f"p99 {p99:.1f} ms, max {max(delays):.1f} ms")  # fmt: skip
    print(f"stream events sent: {sent} ({sent / wall:.1f}/s)")
    print(f"server CPU (engine, SIP, media, web): {cpu:.1f} s in {wall:.0f} s = {100 * cpu / wall:.0f} % "
          "of one core; the workplace's share is this minus the same run with --api")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--operators", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--api", action="store_true", help="operators on the operator API, no pages")
    args = parser.parse_args()
    asyncio.run(main(args.operators, args.seconds, args.leads, pages=not args.api))
