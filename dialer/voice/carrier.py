"""The built-in simulated carrier: a SIP far end on loopback that calls are placed through exactly as
through a real carrier.

A ``kind = "simulated"`` trunk starts a :class:`SimulatedCarrier` with ``dialer serve``: its own
:class:`~sip.stack.SipStack` on 127.0.0.1 (a free port; the configured one when given and free), an
:class:`~sip.uas.Answerer` deciding each call from the trunk's ``[simulate]`` profile, and, when the
profile asks, a registrar the trunk registers to with digest authentication. The engine's trunk is an
ordinary SIP trunk pointed at it (:meth:`SimulatedCarrier.trunk`), so INVITE, 100/180/183, 200 with
SDP and RTP, BYE either way, CANCEL/487 and the refusals go over real sockets.

What happens to a call: its number's longest matching ``[[simulate.prefixes]]`` rule, else the
profile, gives the shares of answer, busy, no answer, invalid number and congestion (the rest of 1
is answer); an answer is a machine with the ``machine`` share. With ``deterministic = true`` the
number's last digit decides instead (:data:`BY_LAST_DIGIT`), so tests know each call's fate. A person
says a short greeting and waits (and says it again if nobody speaks); a machine plays a long greeting
and a beep. Post-dial delay, ring time and talk time are drawn uniformly from their ranges.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from importlib import resources

import numpy as np
import structlog
from pydantic import SecretStr

from dialer.config import SimulationProfile, TrunkSettings
from sip.media.g711 import ulaw_decode
from sip.message import Request
from sip.registrar import Registrar
from sip.stack import SipStack
from sip.streams.clock import MediaClock
from sip.streams.leg import Pcm
from sip.uas import Answerer, IncomingCall, Plan

log = structlog.get_logger(__name__)
BY_LAST_DIGIT = {
    "0": "human", "1": "human", "2": "human", "3": "human", "4": "machine",
    "5": "busy", "6": "no_answer", "7": "invalid", "8": "congestion", "9": "human",
}  # fmt: skip
STATUS = {"busy": 486, "no_answer": 480, "invalid": 404, "congestion": 503}
NO_ANSWER_RING = (
    120.0  # seconds a "no answer" call rings before 480: the dialer's ring timeout cancels it first
)
ACCOUNT = "dialer"  # the account the trunk registers with, when the profile asks for registration


@dataclass(frozen=True)
class Voices:
    """The audio the carrier's people and machines play (shipped with the package)."""

    people: list[Pcm]
    machines: list[Pcm]

    operators: list[Pcm]

    @classmethod
    def load(cls) -> Voices:
        """The files of ``dialer/voice/audio`` (8 kHz mu-law, made by ``tools/demo_audio.sh``)."""
        found: dict[str, list[Pcm]] = {"person": [], "machine": [], "operator": []}
        folder = resources.files("dialer.voice") / "audio"
        for item in sorted(folder.iterdir(), key=lambda i: i.name):
            kind = item.name.split("-", 1)[0]
            if item.name.endswith(".ul") and kind in found:
                found[kind].append(ulaw_decode(np.frombuffer(item.read_bytes(), dtype=np.uint8)))
        return cls(found["person"], found["machine"], found["operator"])


class SimulatedCarrier:
    def __init__(
        self, name: str, settings: TrunkSettings, clock: MediaClock, *, seed: int | None = None
    ) -> None:
        self.name = name
        self.settings = settings
        self.profile: SimulationProfile = settings.simulate
        self.clock = clock
        self.rng = random.Random(seed)
        self.voices = Voices.load()
        self.stack = SipStack()
        self.answerer = Answerer(self.stack, clock, self.decide, user="carrier")
        self.decided: dict[str, str] = {}  # Call-ID -> what the carrier decided (human, busy, ...)
        self.registrar: Registrar | None = None

    async def start(self) -> None:
        """Listen on 127.0.0.1: the configured port when free, else any (logged)."""
        wanted = self.settings.port if self.settings.host else 0
        try:
            await self.stack.open("127.0.0.1", wanted)
        except OSError:
            await self.stack.open("127.0.0.1", 0)
            log.info("simulated carrier's port taken; using another", trunk=self.name, wanted=wanted,
                     port=self.stack.local[1])  # fmt: skip
        self.answerer.install()
        if self.profile.registers:
            self.registrar = Registrar(
                self.stack, realm="simulated", password_of={ACCOUNT: self.password}.get
            )
            self.registrar.install()
        log.info("simulated carrier listening", trunk=self.name, port=self.stack.local[1],
                 deterministic=self.profile.deterministic)  # fmt: skip

    @property
    def password(self) -> str:
        return f"sim-{self.name}-secret"

    def trunk(self) -> TrunkSettings:
        """The SIP trunk that reaches this carrier (the engine opens it like any other)."""
        registers = self.profile.registers
        account = {"username": ACCOUNT, "password": SecretStr(self.password)} if registers else {}
        where = {"kind": "sip", "host": "127.0.0.1", "port": self.stack.local[1], "registers": registers}
        return self.settings.model_copy(update={**where, **account})

    async def stop(self) -> None:
        await self.answerer.close()
        self.stack.close()

    # -- deciding ---------------------------------------------------------------------------------

    def decide(self, invite: Request) -> Plan:
        number = invite.to.uri.split(":", 1)[-1].split("@", 1)[0].lstrip("+")
        fate = self._fate(number)
        self.decided[invite.call_id] = fate
        profile = self.profile
        delay = self.rng.uniform(*profile.post_dial_delay)
        ring = self.rng.uniform(*profile.ring)
        if fate in ("human", "machine"):
            talk = self.rng.uniform(*profile.talk)  # then the person (or the voicemail) hangs up
            audio = self._audio(fate)
            return Plan(200, delay=delay, ring=ring, early_media=profile.early_media, talk=talk, audio=audio,
                        label=fate)  # fmt: skip
        if fate == "no_answer":
            return Plan(480, delay=delay, ring=NO_ANSWER_RING, early_media=profile.early_media, label=fate)
        return Plan(STATUS[fate], delay=delay, ring=ring if fate == "busy" else 0.0, label=fate)

    def _fate(self, number: str) -> str:
        if self.profile.deterministic:
            return BY_LAST_DIGIT.get(number[-1:], "human")
        shares = self.profile.shares_for(number)
        roll = self.rng.random()
        for fate, share in shares:
            if roll < share:
                return fate
            roll -= share
        return "machine" if self.rng.random() < self.profile.machine else "human"

    def _audio(self, fate: str) -> Pcm:
        """A person: a greeting, a pause, the greeting again (nobody spoke), then silence. A machine:
        its long greeting and the beep."""
        if fate == "machine":
            return self.rng.choice(self.voices.machines)
        greeting = self.rng.choice(self.voices.people)
        pause = np.zeros(int(8000 * 3.0), dtype=np.int16)
        return np.concatenate([greeting, pause, greeting])

    def outcome_of(self, call_id: str) -> IncomingCall | None:
        return self.answerer.finished.get(call_id)
