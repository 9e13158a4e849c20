"""The configuration: the sample loads, every kind of mistake is named precisely, secrets stay hidden."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from dialer.config import load_settings
from dialer.errors import ConfigError
from tests.conftest import REPO

SIP_TRUNK = """
[trunks.main]
host = "sip.example.net"
username = "100200"
password = "s3cret-pass"
"""


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return [str(p) for p in caught.value.problems]


def test_sample_config_loads_with_embedded_defaults() -> None:
    settings = load_settings(REPO / "config.toml")
    assert settings.database.is_sqlite
    assert settings.database.path == REPO / "var" / "dialer.sqlite3"
    assert settings.trunks["simulated"].kind == "simulated"
    assert settings.trunks["simulated"].tariffs[0].increments == (1, 1)


def test_relative_database_path_is_relative_to_the_config_file(write_config, tmp_path: Path) -> None:
    settings = load_settings(write_config('[database]\npath = "data/x.sqlite3"\n'))
    assert settings.database.path == tmp_path / "data" / "x.sqlite3"
    assert settings.database.sqlalchemy_url == f"sqlite+aiosqlite:///{tmp_path}/data/x.sqlite3"


def test_unknown_key_names_the_key_and_what_is_allowed(write_config) -> None:
    found = problems(write_config('[server]\nhost = "127.0.0.1"\nprot = 8080\n'))
    assert len(found) == 1
    assert "server.prot: unknown key; allowed here: host, instance, port" in found[0]


def test_unknown_section_lists_top_level_sections(write_config) -> None:
    (found,) = problems(write_config("[sever]\nport = 1\n"))
    assert (
        "sever: unknown key; allowed here: channels, database, logging, recordings, server, sip, trunks"
        in found
    )


def test_wrong_type_names_key_and_value(write_config) -> None:
    (found,) = problems(write_config('[server]\nport = "eighty"\n'))
    assert found.startswith(f"{write_config('', 'other.toml').parent}/config.toml: server.port: ")
    assert "integer" in found and "'eighty'" in found


def test_out_of_range_and_bad_choice_are_reported_together(write_config) -> None:
    found = problems(write_config('[server]\nport = 70000\n[logging]\nformat = "xml"\n'))
    assert len(found) == 2
    assert any("server.port" in p and "65535" in p for p in found)
    assert any("logging.format" in p and "'console'" in p and "'json'" in p for p in found)


def test_missing_trunk_password_is_named_with_its_environment_variable(write_config) -> None:
    (found,) = problems(write_config('[trunks.main]\nhost = "sip.example.net"\nusername = "100200"\n'))
    assert "trunks.main.password: required when register = true" in found
    assert "DIALER_TRUNKS__MAIN__PASSWORD" in found


def test_trunk_without_registration_needs_no_password(write_config) -> None:
    settings = load_settings(write_config('[trunks.ip]\nhost = "10.0.0.1"\nregister = false\n'))
    assert settings.trunks["ip"].password is None


def test_sip_trunk_needs_a_host(write_config) -> None:
    (found,) = problems(write_config("[trunks.main]\nregister = false\n"))
    assert 'trunks.main.host: required for kind = "sip"' in found


def test_bad_trunk_name_and_tariff(write_config) -> None:
    text = SIP_TRUNK + '[trunks.Main2]\nkind = "simulated"\n[[trunks.main.tariffs]]\nprice_per_minute = -1\n'
    found = problems(write_config(text))
    assert any(p.split(": ")[1] == "trunks.Main2" and "lower-case" in p for p in found)
    assert any("trunks.main.tariffs.0.price_per_minute" in p for p in found)


def test_wrong_password_value_is_never_echoed(write_config) -> None:
    text = '[trunks.main]\nhost = "h"\nusername = "u"\npassword = 12345678\n'
    (found,) = problems(write_config(text))
    assert "trunks.main.password" in found
    assert "12345678" not in found


def test_toml_syntax_error_gives_line(write_config) -> None:
    (found,) = problems(write_config("[server]\nport = \n"))
    assert "(syntax)" in found and "line 2" in found


def test_missing_file(tmp_path: Path) -> None:
    (found,) = problems(tmp_path / "nope.toml")
    assert "not found" in found


def test_environment_overrides_nested_keys(write_config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALER_SERVER__PORT", "9123")
    monkeypatch.setenv("DIALER_TRUNKS__MAIN__PASSWORD", "from-env")
    path = write_config('[server]\nport = 8080\n[trunks.main]\nhost = "h"\nusername = "u"\n')
    settings = load_settings(path)
    assert settings.server.port == 9123
    password = settings.trunks["main"].password
    assert password is not None and password.get_secret_value() == "from-env"


def test_error_from_environment_names_the_variable(write_config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALER_SERVER__PORT", "not-a-port")
    (found,) = problems(write_config("[server]\nport = 8080\n"))
    assert found.startswith("environment DIALER_SERVER__PORT: server.port:")


def test_masked_dump_hides_every_secret(write_config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALER_DATABASE__URL", "postgresql://dialer:db-pass-42@127.0.0.1:5432/dialer")
    settings = load_settings(write_config(SIP_TRUNK))
    dumped = json.dumps(settings.masked())
    assert "s3cret-pass" not in dumped and "db-pass-42" not in dumped
    assert settings.masked()["trunks"]["main"]["password"] == "**********"
    assert settings.masked()["database"]["url"] == "postgresql+asyncpg://dialer:***@127.0.0.1:5432/dialer"
    assert "db-pass-42" not in settings.database.display_url
    assert "db-pass-42" not in repr(settings)


def test_postgres_url_gets_the_asyncio_driver(write_config) -> None:
    settings = load_settings(write_config('[database]\nurl = "postgres://u@127.0.0.1/db"\n'))
    assert settings.database.sqlalchemy_url == "postgresql+asyncpg://u@127.0.0.1/db"
    assert not settings.database.is_sqlite


def test_unsupported_database_is_refused(write_config) -> None:
    (found,) = problems(write_config('[database]\nurl = "mysql://u@127.0.0.1/db"\n'))
    assert "database.url" in found and "allowed: postgresql, sqlite" in found


def test_tariff_parses_money_exactly(write_config) -> None:
    text = (
        SIP_TRUNK + '[[trunks.main.tariffs]]\nprefix = "+79"\nprice_per_minute = "1.20"\nincrement = "30/6"\n'
    )
    tariff = load_settings(write_config(text)).trunks["main"].tariffs[0]
    assert tariff.price_per_minute == Decimal("1.20")
    assert tariff.increments == (30, 6)


def test_config_may_be_given_after_the_command(tmp_path) -> None:
    """`dialer call NUMBER --config FILE` works as people type it (the option belongs to dialer)."""
    from dialer.cli import config_first, run

    assert config_first(["call", "+79123456789", "--config", "prod.toml", "--hold", "3"]) == [
        "--config", "prod.toml", "call", "+79123456789", "--hold", "3",
    ]  # fmt: skip
    assert config_first(["leads", "import", "f.csv", "--config=x.toml"]) == [
        "--config=x.toml",
        "leads",
        "import",
        "f.csv",
    ]
    assert config_first(["call", "--", "--config"]) == ["call", "--", "--config"]
    config = tmp_path / "other.toml"
    config.write_text("[server]\nport = 8123\n")
    assert run(["config", "check", "--config", str(config)]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nprot = 1\n")
    assert run(["config", "check", "--config", str(bad)]) == 2  # the file after the command is the one read
