"""A public SIP port hears scanners all day: 3,000 malformed datagrams from two sources are survived,
summed up in a few log lines (a sample per source, then a count per minute), and the next valid
request is still answered."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from sip.stack import NoiseLog, SipStack

GARBAGE = [
    b"\x00\xff" * 40,
    b"INVITE\r\n\r\n",
    b"SIP/2.0 999\r\n",
    b"OPTIONS sip:x SIP/2.0\r\nVia: ???\r\n\r\n",
]


async def test_a_flood_of_garbage_is_counted_not_logged_line_by_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stack = SipStack()
    await stack.open("127.0.0.1", 0)
    answered: list[str] = []
    stack.request_handler = lambda request, address: answered.append(request.method)
    senders = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    try:
        with caplog.at_level(logging.WARNING, logger="sip.stack"):
            for i in range(3000):
                senders[i % 2].sendto(GARBAGE[i % len(GARBAGE)], stack.local)
                if i % 200 == 0:
                    await asyncio.sleep(0.01)
            for _ in range(500):  # the datagrams are on the socket; the loop reads them
                if stack.malformed >= 3000:
                    break
                await asyncio.sleep(0.01)
            stack.noise.flush()
        valid = (
            "OPTIONS sip:dialer@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-ok;rport\r\n"
            "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: ok-1\r\nCSeq: 1 OPTIONS\r\n"
            "Max-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        senders[0].sendto(valid.encode(), stack.local)
        for _ in range(100):
            if answered:
                break
            await asyncio.sleep(0.01)
    finally:
        for sender in senders:
            sender.close()
        stack.close()
    assert answered == ["OPTIONS"]
    lines = [r.getMessage() for r in caplog.records if r.name == "sip.stack"]
    assert len(lines) <= 4, lines  # one sample per source, one count
    assert sum("dropped malformed SIP from 127.0.0.1" in line for line in lines) == 1
    assert any("2999 more malformed" in line for line in lines), lines


def test_the_noise_log_samples_each_source_once_a_minute_and_bounds_its_memory(
    caplog: pytest.LogCaptureFixture,
) -> None:
    noise = NoiseLog(period=60.0, sources=3)
    with caplog.at_level(logging.WARNING, logger="sip.stack"):
        for i in range(1000):
            noise.record(f"198.51.100.{i % 10}", "not SIP", now=i * 0.05)  # 50 s
        noise.record("198.51.100.1", "not SIP", now=61.0)  # a new minute: the last one is summed up
    lines = [r.getMessage() for r in caplog.records]
    sampled = sum("dropped malformed SIP from" in line for line in lines)
    assert sampled == 4  # three sources sampled, then one in the new minute
    assert any("dropped 997 more malformed" in line for line in lines), lines
