"""The server-rendered pages' templates (``dialer/web/templates``), one Jinja environment for all."""

from __future__ import annotations

import jinja2

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("dialer.web", "templates"), autoescape=True, undefined=jinja2.StrictUndefined
)
