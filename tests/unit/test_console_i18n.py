"""Every string the console shows has its Russian translation in the committed catalog."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from dialer.web import i18n

ROOT = Path(__file__).resolve().parents[2]


def test_every_console_string_is_translated_into_russian(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    extract = [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg")]
    subprocess.run(
        [*extract, "-k", "_", "-k", "gettext", "-o", str(pot), str(ROOT)], check=True, capture_output=True
    )
    with pot.open("rb") as source:
        wanted = {str(m.id) for m in read_po(source) if m.id}
    with (ROOT / "dialer/web/locale/ru/LC_MESSAGES/messages.po").open("rb") as source:
        have = {str(m.id): m.string for m in read_po(source) if m.id}
    missing = sorted(m for m in wanted if not have.get(m))
    assert not missing, f"run `python tools/console_ru.py` after adding these to it: {missing}"
    # Templates' _() formats its result with %: a lone % breaks the page at run time.
    assert not [m for m in wanted if "%" in m], "write 'percent' (or %%) in the console's strings"


def test_the_language_follows_the_person_then_the_project_then_the_browser() -> None:
    assert i18n.choose("en", "RU", "ru") == "en"
    assert i18n.choose(None, "RU", "en-US,en") == "ru"
    assert i18n.choose(None, None, "en-GB,en;q=0.9") == "en"
    assert i18n.choose(None, None, "de-DE") == "ru"
    token = i18n.current.set("ru")
    try:
        assert i18n.gettext("Sign in") == "Войти"
        assert i18n.fmt_number(1234567) == "1\xa0234\xa0567"
    finally:
        i18n.current.reset(token)
    assert i18n.gettext("Sign in") == "Войти"  # the default language is Russian
