"""Messaging benchmark: messages per second through the outbox, and the time from queueing to the
gateway's request.

    python bench/messages.py                          # the defaults below
    python bench/messages.py --sms 2000 --email 1000 --latency 300

The gateways run in a child process on 127.0.0.1 (the SMSC stand-in of ``dialer.demo.smsc_sink``
over HTTP, and aiosmtpd over SMTP), so the figures include HTTP and SMTP on loopback; the sender
runs here on a SQLite file, as in ``dialer serve``:

1. throughput: ``--sms`` SMS and ``--email`` emails queued first, then one ``MessageSender`` drains
   them (batch 50, 20 in flight); messages/s until the last is sent;
2. latency: ``--latency`` SMS queued one by one at 20 per second while the sender runs; the time from
   the queueing transaction's commit to the gateway receiving the request, p50/p99: with the sender
   woken by the queueing process (the API and the workplace do this), and without (a message queued
   by another process waits for the 1 s idle tick).

The machine has 2 cores: the gateways, the sender and SQLite share them.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import json
import shlex
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import aiohttp
import numpy as np
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmtpd.smtp import SMTP

from dialer.accounts.projects import create_project
from dialer.config import DatabaseSettings
from dialer.config_channels import SmscSettings, SmtpSettings
from dialer.demo.smsc_sink import SmscSink
from dialer.leads import store as leads
from dialer.storage import create_engine, reading, upgrade, writing
from dialer.storage.tables import MESSAGE
from sms_email import store
from sms_email.channels import open_gateways
from sms_email.schema import MessageIn, TemplateBody
from sms_email.sender import MessageSender
from tests.integration.servers import free_port


class Arrivals:
    """aiosmtpd handler: when each Message-ID arrived (monotonic seconds)."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.at[str(parsed["Message-ID"])] = time.monotonic()
        return "250 OK"


async def serve_gateways(http_port: int, smtp_port: int) -> None:
    sink = SmscSink(balance=Decimal(10**9), deliver_after=10**9)
    arrivals = Arrivals()
    app = sink.app()

    async def times(request: web.Request) -> web.Response:
        return web.json_response({"sms": {k: v.at for k, v in sink.received.items()}, "email": arrivals.at})

    app.router.add_get("/times.json", times)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", http_port).start()
    loop = asyncio.get_running_loop()
    await loop.create_server(lambda: SMTP(arrivals, hostname="bench"), "127.0.0.1", smtp_port)
    print("ready", flush=True)
    await asyncio.Event().wait()


async def setup(tmp: Path, count: int) -> tuple:
    engine = create_engine(DatabaseSettings(path=tmp / "bench.sqlite3"))
    await upgrade(engine)
    async with writing(engine) as conn:
        project = await create_project(conn, "bench", window="any-hour")
        rows = [
            {"external_id": f"L{i}", "name": f"Client {i}", "phones": [f"+7912{i:07d}"],
             "data": {"email": f"c{i}@example.net", "application": f"A-{i}"}}
            for i in range(count)
        ]  # fmt: skip
        await leads.upsert_many(conn, project, rows)
        sms = TemplateBody(medium="sms", body="{{ lead.name }}, your application {{ lead.data.application }}")
        mail = TemplateBody(medium="email", subject="Application",
                            body="Dear {{ lead.name }}, about {{ lead.data.application }}")  # fmt: skip
        await store.save_template(conn, project.id, "sms", sms)
        await store.save_template(conn, project.id, "mail", mail)
    return engine, project


async def queue(engine, channels, template: str, lead: int, key: str) -> None:
    async with writing(engine) as conn:
        project = await store.project_row(conn, "bench")
        await store.queue_message(
            conn, channels, project, f"L{lead}", MessageIn(template=template, idempotency_key=key)
        )


async def drain(engine, sender: MessageSender, medium: str, count: int) -> float:
    stop = asyncio.Event()
    started = time.perf_counter()
    task = asyncio.create_task(sender.run(stop, idle=0.05))
    while True:
        async with reading(engine) as conn:
            left = (await conn.execute(
                MESSAGE.select().with_only_columns(MESSAGE.c.id)
                .where(MESSAGE.c.medium == medium, MESSAGE.c.sent_at.is_(None)).limit(1)
            )).first()  # fmt: skip
        if left is None:
            break
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    return count / elapsed


async def latency(
    engine, channels, sender: MessageSender, base: str, count: int, *, wake: bool, offset: int
) -> list[float]:
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop, idle=1.0))
    queued: dict[int, float] = {}
    for i in range(count):
        await queue(engine, channels, "sms", offset + i, f"lat-{wake}-{i}")
        queued[offset + i] = time.monotonic()
        if wake:
            sender.wake()
        await asyncio.sleep(0.05)
    await asyncio.sleep(2.0)
    stop.set()
    await task
    async with reading(engine) as conn:
        ids = dict((await conn.execute(
            MESSAGE.select().with_only_columns(MESSAGE.c.idempotency_key, MESSAGE.c.id)
            .where(MESSAGE.c.idempotency_key.like(f"lat-{wake}-%"))
        )).all())  # fmt: skip
    async with aiohttp.ClientSession() as http, http.get(f"{base}/times.json") as r:
        arrived = (await r.json())["sms"]
    return [
        arrived[str(ids[f"lat-{wake}-{i}"])] - queued[offset + i]
        for i in range(count)
        if str(ids[f"lat-{wake}-{i}"]) in arrived
    ]


def pct(samples: list[float]) -> str:
    a = np.asarray(samples) * 1000
    p50, p99 = np.percentile(a, 50), np.percentile(a, 99)
    return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {a.max():.1f} ms (n={len(a)})"


async def main(args: argparse.Namespace) -> None:
    http_port, smtp_port = free_port(), free_port()
    child = subprocess.Popen([sys.executable, __file__, "--gateways", str(http_port), str(smtp_port)],  # noqa: ASYNC220
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        base = f"http://127.0.0.1:{http_port}"
        channels = {
            "sms": SmscSettings(kind="smsc", login="demo", password="demo", hosts=[base],
                                status_every=86_400),
            "mail": SmtpSettings(kind="smtp", host="127.0.0.1", port=smtp_port, security="none",
                                 from_address="bench@example.net"),
        }  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            total = max(args.sms, args.email) + 2 * args.latency
            engine, _ = await setup(Path(tmp), total)
            async with aiohttp.ClientSession() as session:

                def sender() -> MessageSender:
                    return MessageSender(engine, open_gateways(channels, session), channels)

                for i in range(args.sms):
                    await queue(engine, channels, "sms", i, f"sms-{i}")
                sms_rate = await drain(engine, sender(), "sms", args.sms)
                for i in range(args.email):
                    await queue(engine, channels, "mail", i, f"mail-{i}")
                mail_rate = await drain(engine, sender(), "email", args.email)
                first = max(args.sms, args.email)
                woken = await latency(engine, channels, sender(), base, args.latency, wake=True, offset=first)
                polled = await latency(engine, channels, sender(), base, args.latency, wake=False,
                                       offset=first + args.latency)  # fmt: skip
            await engine.dispose()
    finally:
        child.terminate()
        child.wait()
    print(f"command: python {shlex.join(sys.argv)}")
    print(f"throughput, SMS to the SMSC stand-in over HTTP: {sms_rate:.0f} messages/s ({args.sms} messages)")
    print(
        f"throughput, email to aiosmtpd over SMTP:       {mail_rate:.0f} messages/s ({args.email} messages)"
    )
    print(f"queued -> gateway request, sender woken:     {pct(woken)}")
    print(f"queued -> gateway request, another process:  {pct(polled)} (1 s idle tick)")
    print(json.dumps({"sms_per_s": round(sms_rate), "email_per_s": round(mail_rate)}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sms", type=int, default=2000)
    parser.add_argument("--email", type=int, default=1000)
    parser.add_argument("--latency", type=int, default=200)
    parser.add_argument("--gateways", nargs=2, type=int, help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.gateways:
        asyncio.run(serve_gateways(*parsed.gateways))
    else:
        asyncio.run(main(parsed))
