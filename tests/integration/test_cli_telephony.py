"""`dialer call` and `dialer trunk check` as a user runs them, against SIPp and Kamailio on loopback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.integration.sip_peers import kamailio, sipp_uas


def dialer(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dialer", "--config", str(config), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_call_prints_its_events_and_succeeds(tmp_path: Path, write_config) -> None:
    with sipp_uas("answer_remote_bye.xml", tmp_path) as sipp:
        config = write_config(f'[trunks.far]\nhost = "127.0.0.1"\nport = {sipp.port}\nregister = false\n')
        result = dialer(config, "call", "+79123456789", "--hold", "5")
        assert result.returncode == 0, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        assert "INVITE +79123456789 via far" in lines[0]
        assert [line.split()[1] for line in lines[1:]] == ["ringing", "answered", "ended"]
        assert "(remote)" in lines[-1]  # the far end hung up within our 5 s hold
        assert sipp.wait() == 0


def test_busy_call_exits_1_with_the_reason(tmp_path: Path, write_config) -> None:
    with sipp_uas("busy.xml", tmp_path) as sipp:
        config = write_config(f'[trunks.far]\nhost = "127.0.0.1"\nport = {sipp.port}\nregister = false\n')
        result = dialer(config, "call", "+79000000000")
        assert result.returncode == 1
        assert "failed: 486 (busy)" in result.stdout


def test_unknown_trunk_and_blocked_number_are_clear_errors(write_config) -> None:
    config = write_config(
        '[trunks.main]\nhost = "127.0.0.1"\nregister = false\nblocked_prefixes = ["+7809"]\n'
    )
    unknown = dialer(config, "call", "+79123456789", "--trunk", "nope")
    assert unknown.returncode == 2 and "no trunk named 'nope'; configured: main" in unknown.stderr
    blocked = dialer(config, "call", "+78091234567")
    assert blocked.returncode == 2 and "main: prefix +7809 is blocked" in blocked.stderr
    assert "Traceback" not in unknown.stderr + blocked.stderr


def test_trunk_check_reports_each_trunk_and_fails_on_a_wrong_password(tmp_path: Path, write_config) -> None:
    with kamailio(tmp_path, users={"100200": "s3cret-pass"}) as carrier:
        trunk = f'host = "127.0.0.1"\nport = {carrier.port}\nusername = "100200"\n'
        trunks = (
            f'[trunks.good]\n{trunk}password = "s3cret-pass"\n'
            f'[trunks.bad]\n{trunk}password = "nope"\n'
            '[trunks.simulated]\nkind = "simulated"\n'
        )
        result = dialer(write_config(trunks), "trunk", "check")
    assert result.returncode == 1
    good, bad, simulated = result.stdout.splitlines()
    assert good.startswith("good") and "registered, expires 300 s, round trip" in good
    assert bad.startswith("bad") and "FAILED: 401 Unauthorized" in bad and "wrong username or password" in bad
    assert "nope" not in result.stdout  # the password is never printed
    assert simulated.startswith("simulated") and simulated.endswith("skipped")


def test_call_bridged_to_an_operator_phone_plays_and_records(tmp_path: Path, write_config) -> None:
    """`dialer call NUMBER --bridge URI --play --record`: baresip as the operator, SIPp as the client."""
    import wave

    import numpy as np

    from tests.integration.softphones import baresip
    from tests.integration.test_media_loopback import dominant, tone
    from tests.integration.test_media_sipp import write_ulaw_wav
    from tests.integration.test_operator_phone import OPERATOR_VOICE, microphone

    write_ulaw_wav(tmp_path / "tone.wav", tone(1250, 6.0))  # what SIPp, the client, says
    greeting = tmp_path / "greeting.wav"
    with wave.open(str(greeting), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(tone(500, 0.6).astype("<i2").tobytes())
    phone_dir = tmp_path / "phone"
    mic = microphone(tmp_path / "mic.wav")
    with baresip(phone_dir, registrar=None, user="100", password="", microphone=mic) as phone, \
            sipp_uas("answer_stream_audio.xml", tmp_path) as sipp:  # fmt: skip
        config = write_config(f'[trunks.far]\nhost = "127.0.0.1"\nport = {sipp.port}\nregister = false\n')
        record = tmp_path / "call.wav"
        result = dialer(config, "call", "+79123456789", "--bridge", f"sip:100@127.0.0.1:{phone.port}",
                        "--play", str(greeting), "--record", str(record), "--hold", "2")  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert sipp.wait() == 0, sipp.errors()
    out = result.stdout
    assert out.index("operator") < out.index("client") and "client answered" in out
    with wave.open(str(record)) as wav:
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    tail = stereo[-8000:]
    assert abs(dominant(tail[:, 0]) - 1250) < 15  # left: the client
    assert abs(dominant(tail[:, 1]) - OPERATOR_VOICE) < 15  # right: the operator
    assert len(stereo) >= 2.3 * 8000  # the greeting (0.6 s) and the bridged 2 s
