"""The aiohttp application: the JSON API (``api``) today, the operators' workplace and the
supervisors' pages next, health and metrics. The app is built by :func:`dialer.runtime.create_app`."""

from dialer.web.app import web_app

__all__ = ["web_app"]
