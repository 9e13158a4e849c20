"""The application factory and its resources.

Resources that need starting and stopping live in ``cleanup_ctx`` generators, so a failure while
starting (for example an unmigrated database) stops the server before it listens, with the error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import structlog
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from dialer import __version__
from dialer.config import Settings
from dialer.engine.service import EngineService
from dialer.errors import DialerError
from dialer.storage import create_engine, ensure_migrated
from dialer.throttle import Throttle
from dialer.web import api
from dialer.web.api.problems import problems
from dialer.web.keys import ENGINE, METRICS, SERVICE, SETTINGS, THROTTLE
from dialer.web.metrics import EngineMetrics, HttpMetrics
from dialer.webhooks import WebhookSender

log = structlog.get_logger(__name__)


def create_app(settings: Settings) -> web.Application:
    """Build the application for ``settings``; nothing is opened until it starts."""
    metrics = HttpMetrics()
    app = web.Application(middlewares=[metrics.middleware(), problems])
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[THROTTLE] = Throttle()
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_webhooks)
    app.cleanup_ctx.append(_dialing)
    app.router.add_get("/healthz", healthz, name="healthz")
    app.router.add_get("/metrics", metrics_page, name="metrics")
    api.setup(app)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    db = app[SETTINGS].database
    engine = create_engine(db)
    try:
        await ensure_migrated(engine, db.display_url)
        app[ENGINE] = engine
        log.info("database ready", database=db.display_url)
        yield
    finally:
        await engine.dispose()


async def _webhooks(app: web.Application) -> AsyncIterator[None]:
    """Deliver the webhook outbox in the background while the server runs."""
    stop = asyncio.Event()
    async with aiohttp.ClientSession() as session:
        task = asyncio.create_task(WebhookSender(app[ENGINE], session).run(stop), name="webhooks")
        try:
            yield
        finally:
            stop.set()
            await task


async def _dialing(app: web.Application) -> AsyncIterator[None]:
    """The engine (operators' phones, trunks, campaign loops), unless ``[sip] enabled = false``."""
    if not app[SETTINGS].sip.enabled:
        yield
        return
    service = EngineService(app[SETTINGS], app[ENGINE], app[THROTTLE])
    try:
        await service.start()
    except OSError as exc:
        sip = app[SETTINGS].sip
        raise DialerError(
            f"cannot listen for operators' phones on {sip.host}:{sip.port}: {exc.strerror or exc}"
        ) from None
    app[SERVICE] = service
    counting = asyncio.create_task(
        EngineMetrics(app[METRICS].registry).run(service.bus, service.board), name="engine-metrics"
    )
    try:
        yield
    finally:
        counting.cancel()
        await service.stop()


async def healthz(request: web.Request) -> web.Response:
    """200 when the process serves and its database answers, 503 with the reason otherwise."""
    try:
        async with request.app[ENGINE].connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        log.warning("health check failed", error=type(exc).__name__)
        return web.json_response(
            {"status": "unavailable", "database": f"error: {type(exc).__name__}"}, status=503
        )
    return web.json_response({"status": "ok", "database": "ok", "version": __version__})


async def metrics_page(request: web.Request) -> web.Response:
    """Prometheus exposition of the app's registry."""
    return request.app[METRICS].render()
