"""A carrier's network for tests: a network namespace joined to ours by a veth pair, so that neither
side's address is 127.x (what every loopback test hides: a dialer that names 0.0.0.0 or a wrong
interface in Via, Contact or SDP cannot be reached back). Needs root, as CI runs; skipped otherwise."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Namespace:
    name: str
    ours: str  # our address on the veth pair
    theirs: str  # the carrier's address, inside the namespace


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@contextlib.contextmanager
def carrier_network() -> Iterator[Namespace]:
    """A namespace ``dlr<pid>`` at 10.<a>.<b>.2, our side at 10.<a>.<b>.1 (/30), removed afterwards."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2 (CI runs as root)")
    pid = os.getpid()
    name, outer, inner = f"dlr{pid}", f"dlro{pid % 100000}", f"dlri{pid % 100000}"
    subnet = f"10.{200 + pid % 50}.{(pid // 50) % 250}"
    ns = Namespace(name, f"{subnet}.1", f"{subnet}.2")
    subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    subprocess.run(["ip", "link", "del", outer], capture_output=True, check=False)
    try:
        _ip("netns", "add", name)
        _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
        _ip("link", "set", inner, "netns", name)
        _ip("addr", "add", f"{ns.ours}/30", "dev", outer)
        _ip("link", "set", outer, "up")
        _ip("netns", "exec", name, "ip", "addr", "add", f"{ns.theirs}/30", "dev", inner)
        _ip("netns", "exec", name, "ip", "link", "set", inner, "up")
        _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield ns
    finally:
        subprocess.run(["ip", "link", "del", outer], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
