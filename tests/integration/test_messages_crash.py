"""kill -9 of ``dialer serve`` while an SMS is with the gateway, then a restart: the message is not
lost and not sent twice (the restarted sender asks SMSC for the status of our id first)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import aiohttp
import pytest

from dialer.accounts.projects import create_project
from dialer.accounts.tokens import create_token
from dialer.config import DatabaseSettings
from dialer.demo.smsc_sink import SmscSink
from dialer.leads import store as leads
from dialer.storage import create_engine, upgrade, writing
from sms_email import store
from sms_email.schema import TemplateBody
from tests.integration.servers import free_port

pytestmark = pytest.mark.integration


async def _serve(config: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialer", "--config", str(config), "serve",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=dict(os.environ),
    )  # fmt: skip


async def _until(check, seconds: float) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"not within {seconds} s")


async def test_kill_9_between_sending_and_the_answer_loses_nothing_and_sends_once(
    tmp_path: Path, aiohttp_server
) -> None:
    sink = SmscSink(deliver_after=0.0)
    sink.plan.append(("accept-then-hang", 120))
    gateway = str((await aiohttp_server(sink.app())).make_url("")).rstrip("/")
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[server]\nport = {port}\n[database]\npath = "db.sqlite3"\n[sip]\nenabled = false\n'
        f'[channels.sms]\nkind = "smsc"\nlogin = "demo"\npassword = "demo"\nhosts = ["{gateway}"]\n'
        "timeout = 1\n"
    )
    engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    await upgrade(engine)
    async with writing(engine) as conn:
        project = await create_project(conn, "loans", window="any-hour")
        token = await create_token(conn, project.id, "test")
        await leads.upsert_many(conn, project, [{"external_id": "A-1", "phones": ["+79123456789"]}])
        await store.save_template(conn, project.id, "hello", TemplateBody(medium="sms", body="Здравствуйте!"))
    await engine.dispose()
    base = f"http://127.0.0.1:{port}/api/v1/projects/loans"
    headers = {"Authorization": f"Bearer {token}"}

    first = await _serve(config)
    try:
        async with aiohttp.ClientSession(headers=headers) as http:

            async def healthy() -> bool:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                        return r.status == 200
                except aiohttp.ClientError:
                    return False

            await _until(healthy, 30)
            async with http.post(f"{base}/leads/A-1/messages", json={"template": "hello"}) as r:
                assert r.status == 201, await r.text()
                message_id = (await r.json())["id"]

            async def with_gateway() -> bool:
                return str(message_id) in sink.received

            await _until(with_gateway, 20)
            first.kill()  # SIGKILL: no cleanup, the gateway's answer never arrives
            await first.wait()

            second = await _serve(config)
            try:
                await _until(healthy, 30)

                async def settled() -> bool:
                    async with http.get(f"{base}/messages/{message_id}") as r:
                        return (await r.json())["status"] in ("sent", "delivered")

                await _until(settled, 60)
                async with http.get(f"{base}/messages/{message_id}") as r:
                    message = await r.json()
            finally:
                second.terminate()
                _, err = await second.communicate()
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
    assert sink.sends_of(str(message_id)) == 1
    assert any(r["_method"] == "status" and r["id"] == str(message_id) for r in sink.requests)
    assert message["tries"] == 2 and message["status"] in ("sent", "delivered")
    assert b"Traceback" not in err
