"""``dialer leads import`` on a real SQLite file: mapping, rejected-rows file, nothing valid dropped."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from dialer.cli import run

HEADER = "Номер заявки;Телефон;Телефон 2;ФИО;Сумма;Адрес\n"
ROWS = [
    "A-1;8 (912) 345-67-89;+7 495 123-45-67;Иванов Иван;50000;Москва, Тверская 1",
    "A-2;12345;;Петров Пётр;30000;Казань",
    "A-3;+79123456780;;Сидорова Анна;10000;",
    ";+79123456781;;Без номера;1;",
    "A-4;+79123456782;;Лишние;1;x;y;z",
    "A-1;+79123456789;;Повтор в файле;1;",
]
MAPS = [
    "--map",
    "Номер заявки=external_id",
    "--map",
    "Телефон=phone",
    "--map",
    "Телефон 2=phone",
    "--map",
    "ФИО=name",
    "--map",
    "Сумма=data.amount",
    "--map",
    "Адрес=data.address",
]


@pytest.fixture
def config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[database]\npath = "var/dialer.sqlite3"\n', encoding="utf-8")
    assert run(["--config", str(path), "migrate"]) == 0
    assert run(["--config", str(path), "project", "create", "loans"]) == 0
    capsys.readouterr()
    return path


def test_import_keeps_valid_rows_and_lists_rejected_ones_with_reasons(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "applications.csv"
    source.write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    code = run(["--config", str(config), "leads", "import", str(source), "--project", "loans", *MAPS])
    out = capsys.readouterr().out
    assert code == 1
    assert "created 2, updated 0, unchanged 0, rejected 4" in out
    with (tmp_path / "applications.csv.rejected.csv").open(encoding="utf-8") as rejected:
        rows = {row["line"]: row for row in csv.DictReader(rejected)}
    assert set(rows) == {"3", "5", "6", "7"}
    assert "phones[0]" in rows["3"]["reason"] and "too short" in rows["3"]["reason"]
    assert rows["3"]["ФИО"] == "Петров Пётр"
    assert "external_id" in rows["5"]["reason"]
    assert "more values than columns" in rows["6"]["reason"]
    assert "row 0" in rows["7"]["reason"]

    # Fixing the file and importing again: the good rows are unchanged, the fixed one is created.
    fixed = [r.replace(";12345;", ";+79123456783;") for r in ROWS[:3]]
    source.write_text(HEADER + "\n".join(fixed) + "\n", encoding="utf-8")
    assert run(["--config", str(config), "leads", "import", str(source), "--project", "loans", *MAPS]) == 0
    assert "created 1, updated 0, unchanged 2, rejected 0" in capsys.readouterr().out


def test_default_mapping_puts_unknown_columns_into_data(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "plain.csv"
    source.write_text(
        "external_id,phones,name,branch\nB-1,+79123456789|+74951234567,Ann,North\n", encoding="utf-8"
    )
    assert run(["--config", str(config), "leads", "import", str(source), "--project", "loans"]) == 0
    assert "created 1" in capsys.readouterr().out


@pytest.mark.parametrize(
    "case",
    [
        (b"", [], "empty file"),
        ("id;Телефон\n1;+79123456789\n".encode("cp1251"), [], "try --encoding cp1251"),
        (b"a,b\n1,2\n", [], "no column gives external_id"),
        (b"external_id,b\n1,2\n", [], "no column gives a phone"),
        (b"external_id,phone\n1,2\n", ["--map", "nope=name"], "no column 'nope'"),
        (b"external_id,phone\n1,2\n", ["--map", "phone=colour"], "unknown field 'colour'"),
        (b"external_id,phone\n1,2\n", ["--project", "ghost"], "no project 'ghost'"),
    ],
)
def test_unusable_files_and_options_are_explained(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: tuple[bytes, list[str], str]
) -> None:
    content, args, message = case
    source = tmp_path / "bad.csv"
    source.write_bytes(content)
    project = [] if "--project" in args else ["--project", "loans"]
    assert run(["--config", str(config), "leads", "import", str(source), *project, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
