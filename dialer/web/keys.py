"""Typed keys for what the application stores."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.config import Settings
from dialer.engine.service import EngineService
from dialer.throttle import Throttle
from dialer.web.metrics import HttpMetrics

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
METRICS = web.AppKey("metrics", HttpMetrics)
SERVICE = web.AppKey("engine_service", EngineService)
THROTTLE = web.AppKey("throttle", Throttle)  # failed password checks, shared by the API and the registrar
