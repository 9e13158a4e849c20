"""``dialer messages``: templates refused with every problem, a template sent to a lead, the list,
the stop list, and ``test CHANNEL`` against the SMSC stand-in, on a real SQLite file."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from dialer.cli import run
from dialer.demo.smsc_sink import SmscSink
from tests.integration.servers import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def sink() -> Iterator[tuple[SmscSink, str]]:
    """The SMSC stand-in on its own loop in a thread (the CLI runs its own loop in this one)."""
    fake, port = SmscSink(), free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner = web.AppRunner(fake.app())

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    yield fake, f"http://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.fixture
def config(tmp_path: Path, sink, capsys: pytest.CaptureFixture[str]) -> Path:
    _, url = sink
    path = tmp_path / "config.toml"
    path.write_text(
        '[database]\npath = "dialer.sqlite3"\n'
        f'[channels.sms]\nkind = "smsc"\nlogin = "demo"\npassword = "demo"\nhosts = ["{url}"]\n',
        encoding="utf-8",
    )
    c = ["--config", str(path)]
    assert run([*c, "migrate"]) == 0
    assert run([*c, "project", "create", "loans"]) == 0
    leads = tmp_path / "leads.csv"
    leads.write_text("external_id,name,phone\nA-1,Иван Петров,+79123456789\n", encoding="utf-8")
    assert run([*c, "leads", "import", str(leads), "--project", "loans", "--map", "phone=phones"]) == 0
    capsys.readouterr()
    return path


def test_a_template_is_checked_then_sent_listed_and_stopped(config: Path, capsys) -> None:
    c = ["--config", str(config), "messages"]
    assert (
        run([*c, "template", "set", "loans", "hi", "--medium", "sms", "--body", "{{ lead.nmae }} {{ x }}"])
        == 2
    )
    err = capsys.readouterr().err
    assert "lead has no 'nmae'" in err and "unknown variable 'x'" in err

    assert (
        run([*c, "template", "set", "loans", "hi", "--medium", "sms", "--body", "{{ lead.name }}, ждём вас"])
        == 0
    )
    assert "template hi created (ucs2, 25 characters, 1 SMS)" in capsys.readouterr().out

    assert run([*c, "send", "loans", "A-1", "hi", "--key", "k1"]) == 0
    assert "message 1 queued: sms to +79123456789 via sms, queued" in capsys.readouterr().out
    assert run([*c, "send", "loans", "A-1", "hi", "--key", "k1"]) == 0
    assert "already queued under this key" in capsys.readouterr().out
    assert run([*c, "send", "loans", "A-404", "hi"]) == 2
    assert "no lead 'A-404'" in capsys.readouterr().err

    assert run([*c, "list", "loans"]) == 0
    assert "+79123456789" in capsys.readouterr().out
    assert run(["--config", str(config), "project", "update", "loans", "--sms-counts-as-contact"]) == 0
    assert "updated: sms_counts_as_contact" in capsys.readouterr().out

    assert run([*c, "stop", "+79123456789", "--medium", "sms", "--project", "loans", "--reason", "STOP"]) == 0
    assert "stopped 1, already stopped 0" in capsys.readouterr().out
    assert run([*c, "send", "loans", "A-1", "hi"]) == 2
    assert "stop list" in capsys.readouterr().err


def test_a_channel_test_sends_one_real_message_and_prints_the_answer(config: Path, sink, capsys) -> None:
    fake, _ = sink
    c = ["--config", str(config), "messages", "test"]
    assert run([*c, "sms", "--to", "+79123456789", "--text", "проверка"]) == 0
    out = capsys.readouterr().out
    assert "sms: sent" in out and "cost: 2.50" in out and "parts: 1" in out
    assert [m.text for m in fake.received.values()] == ["проверка"]

    fake.password = "changed"
    assert run([*c, "sms", "--to", "+79123456789"]) == 1
    assert "SMSC error 2" in capsys.readouterr().out
    assert run([*c, "nope", "--to", "+79123456789"]) == 2
    assert "no channel 'nope'; configured: sms" in capsys.readouterr().err
