"""baresip as an operator's softphone: registers to our registrar, answers automatically, sends a
known WAV file as its microphone and writes what it hears to a WAV (its sndfile module)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.integration.servers import require_program
from tests.integration.sip_peers import _serving

MODULES = Path("/usr/lib/baresip/modules")


@dataclass
class Softphone:
    user: str
    port: int
    workdir: Path
    process: subprocess.Popen[bytes]

    def heard(self) -> np.ndarray:
        """What the phone decoded from the network during its calls, 8 kHz mono."""
        import wave

        dumps = sorted((self.workdir / "snd").glob("*-dec.wav"))
        if not dumps:
            return np.zeros(0, dtype=np.int16)
        with wave.open(str(dumps[-1])) as wav:
            return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")

    def log(self) -> str:
        return (self.workdir / "baresip.log").read_text(errors="replace")


@contextlib.contextmanager
def baresip(
    workdir: Path,
    *,
    registrar: tuple[str, int] | None,
    user: str,
    password: str,
    microphone: Path,
    regint: int = 60,
) -> Iterator[Softphone]:
    """Run baresip registered as ``user`` at ``registrar`` (None: not registered, called directly at
    ``sip:USER@127.0.0.1:PORT``), registering again every ``regint`` seconds; it answers every call
    at once."""
    binary = require_program("baresip", "baresip-core")
    (workdir / "snd").mkdir(parents=True, exist_ok=True)
    if registrar is None:
        account = f"<sip:{user}@127.0.0.1;transport=udp>;answermode=auto;regint=0"
    else:
        host, registrar_port = registrar
        aor = f"<sip:{user}@{host}:{registrar_port};transport=udp>"
        account = f"{aor};auth_pass={password};answermode=auto;regint={regint}"
    (workdir / "accounts").write_text(account + "\n")
    log = workdir / "baresip.log"

    def start(port: int) -> subprocess.Popen[bytes]:
        (workdir / "config").write_text(
            "\n".join(
                [
                    "poll_method epoll",
                    f"sip_listen 127.0.0.1:{port}",
                    f"audio_source aufile,{microphone}",
                    f"audio_alert aufile,{microphone}",
                    "audio_player aubridge,nil",  # a player that plays nowhere; sndfile keeps the audio
                    f"module_path {MODULES}",
                    "module g711.so",
                    "module aufile.so",
                    "module aubridge.so",
                    "module sndfile.so",
                    "module_app account.so",
                    f"snd_path {workdir / 'snd'}",
                    "",
                ]
            )
        )
        with log.open("wb") as output:
            return subprocess.Popen([binary, "-f", str(workdir)], cwd=workdir, stdin=subprocess.DEVNULL,
                                    stdout=output, stderr=subprocess.STDOUT)  # fmt: skip

    with _serving("baresip", start, lambda: log.read_text(errors="replace")) as (process, port):
        yield Softphone(user, port, workdir, process)
