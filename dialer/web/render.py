"""The server-rendered pages' templates (``dialer/web/templates``), one Jinja environment for all,
with the gettext of :mod:`dialer.web.i18n` and its formatting filters installed."""

from __future__ import annotations

import jinja2

from dialer.web import i18n

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("dialer.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    extensions=["jinja2.ext.i18n"],
)
TEMPLATES.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
TEMPLATES.filters.update(
    when=i18n.fmt_datetime, number=i18n.fmt_number, money=i18n.fmt_money, percent=i18n.fmt_percent
)
