"""The CLI turns user mistakes into exit code 2 and one line per problem, never a traceback."""

from __future__ import annotations

import json

import pytest

from dialer.cli import run


def test_broken_config_exits_2_naming_each_key(write_config, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config('[server]\nprot = 1\nport = "x"\n[trunks.main]\nhost = "h"\nusername = "u"\n')
    assert run(["--config", str(path), "config", "check"]) == 2
    err = capsys.readouterr().err
    assert "server.prot: unknown key" in err
    assert "server.port:" in err
    assert "trunks.main.password: required" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", [["serve"], ["migrate"], ["config", "check"]])
def test_every_command_validates_config_first(
    command: list[str], write_config, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config("[logging]\nlevel = 'loud'\n")
    assert run(["--config", str(path), *command]) == 2
    err = capsys.readouterr().err
    assert "logging.level" in err and "Traceback" not in err


def test_config_check_prints_effective_config_masked(
    write_config, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DIALER_TRUNKS__MAIN__PASSWORD", "hunter2-secret")
    path = write_config('[trunks.main]\nhost = "sip.example.net"\nusername = "u"\n')
    assert run(["--config", str(path), "config", "check"]) == 0
    out = capsys.readouterr().out
    assert "hunter2-secret" not in out
    first, _, body = out.partition("\n")
    assert first == f"{path}: OK"
    assert json.loads(body)["trunks"]["main"]["password"] == "**********"


def test_config_path_from_environment(
    write_config, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config("[server]\nport = 9999\n")
    monkeypatch.setenv("DIALER_CONFIG", str(path))
    assert run(["config", "check"]) == 0
    assert '"port": 9999' in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["dail"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_recordings_purge_keeps_recent_ones(
    write_config, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import time

    path = write_config('[recordings]\ndirectory = "rec"\nretention_days = 30\n')
    (tmp_path / "rec" / "2026").mkdir(parents=True)
    old, new = tmp_path / "rec" / "2026" / "old.wav", tmp_path / "rec" / "new.wav"
    old.write_bytes(b"RIFF")
    new.write_bytes(b"RIFF")
    month_ago = time.time() - 31 * 86400
    os.utime(old, (month_ago, month_ago))
    assert run(["--config", str(path), "recordings", "purge"]) == 0
    assert "deleted 1 recording(s) older than 30 days" in capsys.readouterr().out
    assert new.exists() and not old.exists()
    bad = write_config("[recordings]\nretention_days = 0\n", name="bad.toml")
    assert run(["--config", str(bad), "recordings", "purge"]) == 2
    assert "recordings.retention_days" in capsys.readouterr().err
