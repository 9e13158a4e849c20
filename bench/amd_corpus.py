# ruff: noqa: RUF001  (Russian speech: Cyrillic letters are the point)
"""The answering-machine corpus: people and machines answering a call, made with espeak-ng and sox.

    python bench/amd_corpus.py --out var/amd_corpus        # about 600 clips, 8 kHz mono WAV, ~40 s

Every clip is what the dialer hears from the moment the far end answers: 8 kHz, 16-bit mono, 7 s.
People say a greeting ("Да?" to "Алло, здравствуйте, слушаю вас") and wait, some say it again after a
while; machines play a voicemail greeting (with or without a beep, long or short), a network
announcement (with or without the three-tone signal), a company's IVR greeting, music, or stay silent
before their greeting. Each is varied: Russian and English voices, speaking speeds, levels (-6 to
-30 dBFS peak), line noise, late pick-ups. The file name carries the truth and the category
(``human-natural-0042.wav``, ``machine-network-0007.wav``); ``index.csv`` lists every clip with how it
was made. The same seed makes the same corpus.
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

RATE = 8000
LENGTH = 7.0

HUMAN_TEXTS = {
    "short": {
        "ru": ["Да?", "Алло.", "Алло?", "Слушаю.", "Да, слушаю.", "Говорите."],
        "en": ["Hello?", "Yes?", "Hi.", "Yeah?"],
    },
    "natural": {
        "ru": [
            "Алло, здравствуйте, слушаю вас.",
            "Да, алло, кто это?",
            "Алло, да, говорите.",
            "Здравствуйте, слушаю.",
            "Алло, добрый день.",
        ],
        "en": ["Hello, who is this?", "Hi, this is Anna.", "Hello, yes, speaking.", "Good afternoon."],
    },
}
REPEATED = {"ru": ("Алло?", "Алло, говорите!"), "en": ("Hello?", "Hello? Anyone there?")}
MACHINE_TEXTS = {
    "voicemail": {
        "ru": [
            "Здравствуйте, вы позвонили Ивану Петрову. Сейчас я не могу ответить. Оставьте, пожалуйста, "
            "сообщение после звукового сигнала, и я вам перезвоню.",
            "Добрый день. Вы позвонили на номер Марии. Я перезвоню вам, как только смогу. "
            "Говорите после сигнала.",
        ],
        "en": [
            "Hi, you've reached John Smith. I can't take your call right now. Please leave your name and "
            "number after the tone and I'll get back to you.",
            "Hello, this is Sarah. Sorry I missed you, leave a message and I will call you back.",
        ],
    },
    "short_vm": {
        "ru": ["Оставьте сообщение после сигнала.", "Абонент не может ответить. Оставьте сообщение."],
        "en": ["Please leave a message after the tone.", "Leave a message."],
    },
    "network": {
        "ru": [
            "Абонент недоступен или находится вне зоны действия сети. Пожалуйста, перезвоните позднее.",
            "Аппарат абонента выключен или находится вне зоны действия сети.",
            "Неправильно набран номер. Проверьте номер и перезвоните.",
        ],
        "en": [
            "The number you have dialed is not available. Please try again later.",
            "The subscriber you are calling is switched off or out of coverage.",
        ],
    },
    "ivr": {
        "ru": [
            "Здравствуйте! Вы позвонили в компанию Ромашка. Для связи с отделом продаж нажмите один, "
            "для связи с оператором оставайтесь на линии.",
            "Добро пожаловать в банк. Все операторы заняты. Ваш звонок очень важен для нас.",
        ],
        "en": [
            "Thank you for calling Acme Corporation. For sales press one, for support press two, or stay "
            "on the line.",
            "Welcome. All our agents are busy. Your call is important to us, please hold.",
        ],
    },
}
VOICES = {"ru": ["ru", "ru+f3", "ru+m3", "ru+f2", "ru+m7"], "en": ["en-us", "en-gb+f3", "en+m7", "en-us+f2"]}


@dataclass
class Clip:
    name: str
    truth: str  # human | machine
    category: str
    language: str
    voice: str
    speed: int
    level_db: float
    noise: str
    start: float  # seconds of silence before anything is heard
    text: str


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


def speak(text: str, voice: str, speed: int, out: Path) -> None:
    raw = out.with_suffix(".raw.wav")
    run("espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text)
    run("sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out))
    raw.unlink()


def silence(seconds: float, out: Path) -> None:
    run("sox", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(out), "trim", "0", f"{seconds:.3f}")


def tone(out: Path, *parts: tuple[float, float]) -> None:
    """A sequence of (frequency Hz, seconds) sine tones (a beep, the network's three tones)."""
    pieces = []
    for i, (freq, seconds) in enumerate(parts):
        piece = out.with_suffix(f".{i}.wav")
        run("sox", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(piece), "synth", f"{seconds}", "sine",
            f"{freq}", "vol", "0.5")  # fmt: skip
        pieces.append(str(piece))
    run("sox", *pieces, str(out))
    for piece in pieces:
        Path(piece).unlink()


def music(seconds: float, rng: random.Random, out: Path) -> None:
    notes = [220.0, 246.9, 261.6, 293.7, 329.6, 349.2, 392.0, 440.0]
    parts = []
    for i in range(int(seconds / 0.4)):
        piece = out.with_suffix(f".{i}.wav")
        chord = [rng.choice(notes) * k for k in (1, 1.25, 1.5)]
        run("sox", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(piece), "synth", "0.4",
            *[item for f in chord for item in ("sine", f"{f:.1f}")], "remix", "-", "vol", "0.3")  # fmt: skip
        parts.append(str(piece))
    run("sox", *parts, str(out))
    for part in parts:
        Path(part).unlink()


def finish(pieces: list[Path], clip: Clip, out: Path, rng: random.Random) -> None:
    """Join the pieces after ``clip.start`` s of silence, set the level, pad to LENGTH, add line noise."""
    work = out.with_suffix(".joined.wav")
    lead = out.with_suffix(".lead.wav")
    silence(max(clip.start, 0.02), lead)
    run("sox", str(lead), *map(str, pieces), str(work), "norm", f"{clip.level_db}")
    run(
        "sox",
        str(work),
        str(out.with_suffix(".padded.wav")),
        "pad",
        "0",
        f"{LENGTH}",
        "trim",
        "0",
        f"{LENGTH}",
    )
    padded = out.with_suffix(".padded.wav")
    if clip.noise == "none":
        padded.rename(out)
    else:
        kind, level = clip.noise.split("@")
        noise = out.with_suffix(".noise.wav")
        run("sox", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(noise), "synth", f"{LENGTH}", kind,
            "norm", level)  # fmt: skip
        run("sox", "-m", str(padded), str(noise), str(out))
        noise.unlink()
        padded.unlink()
    for path in (work, lead, *pieces):
        path.unlink(missing_ok=True)


def make_clip(clip: Clip, out: Path, rng: random.Random) -> None:
    tmp = out.parent
    pieces: list[Path] = []
    if clip.category == "repeated":
        first, second = REPEATED[clip.language]
        a, gap, b = tmp / f"{clip.name}.a.wav", tmp / f"{clip.name}.gap.wav", tmp / f"{clip.name}.b.wav"
        speak(first, clip.voice, clip.speed, a)
        silence(rng.uniform(2.0, 3.0), gap)
        speak(second, clip.voice, clip.speed, b)
        pieces = [a, gap, b]
    elif clip.category == "music":
        m = tmp / f"{clip.name}.m.wav"
        music(LENGTH, rng, m)
        pieces = [m]
    else:
        said = tmp / f"{clip.name}.s.wav"
        speak(clip.text, clip.voice, clip.speed, said)
        pieces = [said]
        if clip.category == "network" and rng.random() < 0.5:  # the three-tone special information tone
            sit = tmp / f"{clip.name}.sit.wav"
            tone(sit, (950.0, 0.33), (1400.0, 0.33), (1800.0, 0.33))
            pieces.insert(0, sit)
    if clip.category in ("voicemail", "short_vm", "silent_start") and clip.name.endswith("b"):
        beep = tmp / f"{clip.name}.beep.wav"
        tone(beep, (rng.choice([800.0, 1000.0, 1400.0]), rng.uniform(0.3, 0.8)))
        pieces.append(beep)
    finish(pieces, clip, out, rng)


def plan(rng: random.Random, humans: int, machines: int) -> list[Clip]:
    clips: list[Clip] = []
    human_kinds = ["short", "natural", "natural", "repeated"]
    machine_kinds = ["voicemail", "voicemail", "short_vm", "network", "ivr", "music", "silent_start"]
    for i in range(humans + machines):
        truth = "human" if i < humans else "machine"
        language = "ru" if rng.random() < 0.65 else "en"
        voice = rng.choice(VOICES[language])
        speed = rng.choice([130, 150, 170, 190, 210])
        level = rng.choice([-6.0, -12.0, -18.0, -24.0, -30.0])  # peak level of the voice (dBFS)
        noise = rng.choice(["none", "none", "whitenoise@-58", "brownnoise@-50", "pinknoise@-54"])
        if truth == "human":
            kind = rng.choice(human_kinds)
            text = "" if kind == "repeated" else rng.choice(HUMAN_TEXTS[kind][language])
            start = rng.choice([0.0, 0.0, 0.2, 0.5, 1.0, 1.5])  # late pick-ups
        else:
            kind = rng.choice(machine_kinds)
            if kind == "silent_start":
                text, start = rng.choice(MACHINE_TEXTS["voicemail"][language]), rng.uniform(2.6, 3.5)
            elif kind == "music":
                text, start = "", 0.0
            else:
                text, start = rng.choice(MACHINE_TEXTS[kind][language]), rng.choice([0.0, 0.2, 0.5])
        suffix = "b" if kind in ("voicemail", "short_vm", "silent_start") and rng.random() < 0.6 else ""
        name = f"{truth}-{kind}-{i:04d}{suffix}"
        clips.append(Clip(name, truth, kind, language, voice, speed, level, noise, start, text))
    return clips


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="var/amd_corpus")
    parser.add_argument("--humans", type=int, default=400)
    parser.add_argument("--machines", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    for program in ("espeak-ng", "sox"):
        if shutil.which(program) is None:
            sys.exit(f"{program} is missing: apt-get install espeak-ng sox")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    clips = plan(rng, args.humans, args.machines)
    with tempfile.TemporaryDirectory() as tmp:
        for n, clip in enumerate(clips, 1):
            target = out / f"{clip.name}.wav"
            if not target.exists():
                staged = Path(tmp) / f"{clip.name}.wav"
                make_clip(clip, staged, random.Random(f"{args.seed}-{clip.name}"))
                shutil.move(str(staged), target)
            if n % 100 == 0:
                print(f"{n}/{len(clips)} clips", flush=True)
    with (out / "index.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        header = ["file", "truth", "category", "language", "voice", "speed", "level_db", "noise", "start"]
        writer.writerow([*header, "text"])
        for c in clips:
            writer.writerow([f"{c.name}.wav", c.truth, c.category, c.language, c.voice, c.speed, c.level_db,
                             c.noise, c.start, c.text])  # fmt: skip
    print(f"{len(clips)} clips in {out}")


if __name__ == "__main__":
    main()
