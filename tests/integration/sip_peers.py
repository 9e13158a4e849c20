"""SIPp as the far end of calls, started on a free loopback port and stopped by the tests."""

from __future__ import annotations

import contextlib
import errno
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.integration.servers import free_port, require_program

SCENARIOS = Path(__file__).parent / "sipp"


@dataclass
class Sipp:
    port: int
    process: subprocess.Popen[bytes]
    workdir: Path

    def wait(self, timeout: float = 30.0) -> int:
        """SIPp's exit code once it handled its calls: 0 when every call followed the scenario."""
        return self.process.wait(timeout=timeout)

    def errors(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.workdir.glob("*_errors.log"))

    def outcomes(self) -> dict[str, list[str]]:
        """Call-ID -> what the scenario logged for it (``<log message="[call_id] outcome"/>``)."""
        seen: dict[str, list[str]] = {}
        for path in self.workdir.glob("*_logs.log"):
            for line in path.read_text(errors="replace").splitlines():
                call_id, _, outcome = line.strip().rpartition(" ")
                if call_id:
                    seen.setdefault(call_id, []).append(outcome)
        return seen


def _inside(namespace: str | None) -> list[str]:
    """The command prefix that runs a program in ``namespace`` (nothing for the host's own)."""
    return [] if namespace is None else ["ip", "netns", "exec", namespace]


def _bound(port: int, namespace: str | None = None) -> bool:
    if namespace is not None:
        listing = subprocess.run([*_inside(namespace), "ss", "-Hlun", f"sport = :{port}"],
                                 capture_output=True, text=True, check=False)  # fmt: skip
        return bool(listing.stdout.strip())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def _in_use(text: str) -> bool:
    return "address already in use" in text.lower()


@contextlib.contextmanager
def _serving(
    name: str,
    start: Callable[[int], subprocess.Popen[bytes]],
    log: Callable[[], str],
    port: int | None = None,
    namespace: str | None = None,
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """Start a server with ``start(port)`` and wait until it listens on that UDP port (or fail with
    its log); stop it afterwards. Without a fixed ``port`` a free one is chosen, and chosen again when
    the server found one of its ports taken meanwhile (baresip, for one, also binds TCP on the port and
    TLS on the next one, which the kernel may have handed to someone else)."""
    tries = 1 if port is not None else 5
    for attempt in range(1, tries + 1):
        chosen = port if port is not None else free_port(socket.SOCK_DGRAM)
        process = start(chosen)
        try:
            deadline = time.monotonic() + 15
            while not _bound(chosen, namespace):
                if process.poll() is not None or time.monotonic() > deadline:
                    text = log()
                    if process.poll() is not None and attempt < tries and _in_use(text):
                        break
                    raise RuntimeError(f"{name} did not start on port {chosen}:\n{text[-3000:]}")
                time.sleep(0.05)
            else:
                yield process, chosen
                return
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    raise AssertionError("unreachable")


@contextlib.contextmanager
def sipp_uas(
    scenario: str,
    workdir: Path,
    calls: int = 1,
    timeout: int = 60,
    port: int | None = None,
    *,
    extra: Sequence[str] = (),
    namespace: str | None = None,
) -> Iterator[Sipp]:
    """Run SIPp with ``scenario`` (a file in tests/integration/sipp) as a UAS for ``calls`` calls;
    it writes what each call did to ``*_logs.log`` (see :meth:`Sipp.outcomes`). ``namespace``: run
    inside that network namespace, on its own loopback."""
    binary = require_program("sipp", "sip-tester")
    log = workdir / "sipp.out"

    def start(chosen: int) -> subprocess.Popen[bytes]:
        command = [
            *_inside(namespace), binary, "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1",
            "-p", str(chosen), "-m", str(calls), "-nostdin", "-timeout", f"{timeout}s", "-trace_err",
            "-trace_logs", *extra,
        ]  # fmt: skip
        with log.open("wb") as output:
            return subprocess.Popen(command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=output,
                                    stderr=subprocess.STDOUT)  # fmt: skip

    with _serving("SIPp", start, lambda: log.read_text(errors="replace"), port, namespace) as (
        process,
        chosen,
    ):
        yield Sipp(chosen, process, workdir)


def sipp_uac(scenario: str, workdir: Path, target: tuple[str, int], calls: int = 1) -> int:
    """Run SIPp as the caller with ``scenario`` against ``target`` until done; its exit code."""
    binary = require_program("sipp", "sip-tester")
    command = [
        binary, "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1", "-p", str(free_port(socket.SOCK_DGRAM)),
        "-m", str(calls), "-nostdin", "-timeout", "30s", "-trace_err", f"{target[0]}:{target[1]}",
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=workdir, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=False
    )
    return done.returncode


@dataclass
class Kamailio:
    port: int
    process: subprocess.Popen[bytes]
    log: Path


def _modules_dir() -> str:
    for candidate in [
        *sorted(Path("/usr/lib").glob("*/kamailio/modules")),
        Path("/usr/lib/kamailio/modules"),
    ]:
        if (candidate / "tm.so").exists():
            return str(candidate)
    raise RuntimeError("Kamailio modules not found (install the Debian package kamailio)")


@contextlib.contextmanager
def kamailio(
    workdir: Path,
    *,
    users: dict[str, str],
    domain: str = "127.0.0.1",
    far_end: int = 9,
    qop: bool = True,
    max_expires: int = 300,
    host: str = "127.0.0.1",
    from_check: bool = False,
    namespace: str | None = None,
) -> Iterator[Kamailio]:
    """Kamailio on a free port of ``host``: registrar with digest auth for ``users`` (name -> password),
    record-routing proxy that forwards authenticated INVITEs to 127.0.0.1:``far_end``. ``from_check``:
    an INVITE whose From user is not the authenticated account is refused (403), as most carriers do;
    ``namespace``: run inside that network namespace (see :mod:`tests.integration.netns`)."""
    binary = require_program("kamailio", "kamailio")
    dbdir = workdir / "db"
    dbdir.mkdir()
    (dbdir / "version").write_text("table_name(string) table_version(int)\nsubscriber:7\n")
    rows = "".join(
        f"{i}:{name}:{domain}:{password}::::\n" for i, (name, password) in enumerate(users.items(), 1)
    )
    (dbdir / "subscriber").write_text(
        "id(int,auto) username(string) domain(string) password(string) email_address(string,null) "
        "ha1(string,null) ha1b(string,null) rpid(string,null)\n" + rows
    )
    log = workdir / "kamailio.log"

    def start(port: int) -> subprocess.Popen[bytes]:
        config = (Path(__file__).parent / "kamailio.cfg.in").read_text()
        for key, value in {"PORT": port, "MODULES": _modules_dir(), "DBDIR": dbdir, "FAR_END": far_end,
                           "QOP": 1 if qop else 0, "MAX_EXPIRES": max_expires, "HOST": host,
                           "FROM_CHECK": 1 if from_check else 0}.items():  # fmt: skip
            config = config.replace(f"@{key}@", str(value))
        cfg = workdir / "kamailio.cfg"
        cfg.write_text(config)
        with log.open("wb") as log_file:
            return subprocess.Popen(
                [*_inside(namespace), binary, "-f", str(cfg), "-DD", "-E", "-w", str(workdir),
                 "-P", str(workdir / "kamailio.pid"), "-Y", str(workdir)],
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            )  # fmt: skip

    with _serving("Kamailio", start, lambda: log.read_text(errors="replace"), namespace=namespace) as (
        process,
        port,
    ):
        yield Kamailio(port, process, log)
