"""Answering-machine detection measured on the project's corpus, exactly as the engine runs it.

    python bench/amd.py                          # makes var/amd_corpus first when missing
    python bench/amd.py --corpus DIR --show 20   # another corpus; list up to 20 mistakes

Each clip goes through a G.711 round trip (mu-law, as the trunk delivers it), then the detector looks
at the audio heard so far at the answer and every 200 ms after (``AMD_EVERY`` of the engine) until it
is sure or ``max_seconds`` pass; unsure counts as a person, as in the engine. Printed: people kept
(the share not hung up on: a person judged a machine hears a dead line), machines caught, the time
to a verdict (median and 90th percentile, from the answer), and every mistake by category.
"""

from __future__ import annotations

import argparse
import csv
import shlex
import subprocess
import sys
import time
import wave
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialer.engine.amd import AmdResult, AmdSettings, detect
from dialer.voice.telephony import AMD_EVERY
from sip.media.g711 import ulaw_decode, ulaw_encode

RATE = 8000


def read(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        if w.getframerate() != RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise SystemExit(f"{path}: need 8 kHz mono 16-bit")
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return ulaw_decode(ulaw_encode(pcm))  # what arrives over the trunk


def live(pcm: np.ndarray, settings: AmdSettings) -> tuple[AmdResult, float, str]:
    """The first definite verdict as the engine reaches it, and when (seconds after the answer)."""
    at = 0.0
    while True:
        heard = pcm[: round(min(at, settings.max_seconds) * RATE)]
        verdict = detect(heard, settings)
        if verdict.result is not AmdResult.UNSURE:
            return verdict.result, at, verdict.reason
        if at >= settings.max_seconds:
            return AmdResult.UNSURE, at, verdict.reason
        at = round(at + AMD_EVERY, 6)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", default="var/amd_corpus")
    parser.add_argument("--show", type=int, default=40, help="mistakes listed")
    args = parser.parse_args()
    print("command:", shlex.join([Path(sys.executable).name, *sys.argv]))
    corpus = Path(args.corpus)
    if not (corpus / "index.csv").exists():
        subprocess.run([sys.executable, str(Path(__file__).with_name("amd_corpus.py")), "--out", str(corpus)],
                       check=True)  # fmt: skip
    rows = list(csv.DictReader((corpus / "index.csv").open()))
    settings = AmdSettings()
    started = time.process_time()
    results = []
    for row in rows:
        result, at, reason = live(read(corpus / row["file"]), settings)
        said_machine = result is AmdResult.MACHINE
        results.append((row, said_machine, at, reason))
    cpu = time.process_time() - started
    humans = [r for r in results if r[0]["truth"] == "human"]
    machines = [r for r in results if r[0]["truth"] == "machine"]
    kept = sum(not said for _, said, _, _ in humans)
    caught = sum(said for _, said, _, _ in machines)
    times = np.array([at for _, _, at, _ in results])
    human_times = np.array([at for _, _, at, _ in humans])
    machine_times = np.array([at for _, _, at, _ in machines])
    print(f"\n{len(results)} clips ({len(humans)} people, {len(machines)} machines), G.711 round trip, "
          f"verdict checked every {AMD_EVERY:g} s up to {settings.max_seconds:g} s")  # fmt: skip
    print(f"  people kept:     {kept}/{len(humans)} = {kept / max(len(humans), 1):.1%}")
    print(f"  machines caught: {caught}/{len(machines)} = {caught / max(len(machines), 1):.1%}")
    print(f"  time to a verdict: median {np.median(times):.2f} s, p90 {np.percentile(times, 90):.2f} s "
          f"(people {np.median(human_times):.2f} s, machines {np.median(machine_times):.2f} s)")  # fmt: skip
    print(f"  detector CPU: {cpu / max(len(results), 1) * 1000:.1f} ms per call (all its looks)")
    by_category = Counter((row["truth"], row["category"]) for row, _, _, _ in results)
    wrong = Counter(
        (row["truth"], row["category"]) for row, said, _, _ in results if said != (row["truth"] == "machine")
    )
    print("\n  category                      clips  wrong")
    for key in sorted(by_category):
        print(f"  {key[0] + '/' + key[1]:<28} {by_category[key]:6d} {wrong.get(key, 0):6d}")
    mistakes = [r for r in results if r[1] != (r[0]["truth"] == "machine")]
    if mistakes:
        print(f"\n  mistakes ({min(len(mistakes), args.show)} of {len(mistakes)}):")
        for row, said, at, reason in mistakes[: args.show]:
            judged = "machine" if said else "person"
            print(f"  {row['file']:<34} judged a {judged} at {at:.1f} s ({reason}); {row['voice']} "
                  f"{row['speed']} wpm {row['level_db']} dB {row['noise']}: {row['text'][:60]}")  # fmt: skip


if __name__ == "__main__":
    main()
