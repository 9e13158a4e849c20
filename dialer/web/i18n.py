"""Languages of the pages: English as written in the templates, Russian from a Babel catalog.

The catalog (``dialer/web/locale/ru/LC_MESSAGES/messages.po``) is read when the module loads and
compiled in memory, so no generated ``.mo`` file lives in the repository. The language of a request
is in a context variable set by the console's middleware: the person's choice, else Russian for a
person of a Russian project, else the browser's ``Accept-Language``. Templates call ``_()`` and
``ngettext()``; dates, numbers and money go through :func:`fmt_datetime`, :func:`fmt_number` and
:func:`fmt_money` in the project's zone and the reader's locale.
"""

from __future__ import annotations

import contextvars
import io
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = ("ru", "en")
DEFAULT = "ru"
_LOCALE_DIR = Path(__file__).parent / "locale"
current: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=DEFAULT)


def _load(language: str) -> NullTranslations:
    path = _LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


CATALOGS: dict[str, NullTranslations] = {language: _load(language) for language in LANGUAGES}


def gettext(message: str) -> str:
    return CATALOGS.get(current.get(), CATALOGS["en"]).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return CATALOGS.get(current.get(), CATALOGS["en"]).ungettext(singular, plural, n)


def choose(person_locale: str | None, region: str | None, accept_language: str | None) -> str:
    """The language of a page: the person's, else Russian for RU projects, else the browser's."""
    if person_locale in LANGUAGES:
        return str(person_locale)
    if region == "RU":
        return "ru"
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return DEFAULT


def fmt_datetime(value: datetime | None, zone: str = "Europe/Moscow") -> str:
    if value is None:
        return "—"
    return dates.format_datetime(
        value.astimezone(ZoneInfo(zone)), "short", locale=Locale.parse(current.get())
    )


def fmt_number(value: float | int | Decimal | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return numbers.format_decimal(value, format=pattern, locale=current.get())


def fmt_money(value: Decimal | float | None, currency: str = "RUB") -> str:
    if value is None:
        return "—"
    return numbers.format_currency(value, currency, locale=current.get())


def fmt_percent(value: float | None) -> str:
    if value is None:
        return "—"
    return numbers.format_percent(value, format="#,##0.0%", locale=current.get())
