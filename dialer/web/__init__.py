"""The aiohttp application: API, operator workplace, health and metrics."""

from dialer.web.app import create_app

__all__ = ["create_app"]
